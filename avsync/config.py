"""Typed configs that round-trip to the YAML files in ``avsync/configs/`` (package data).

Code reads thresholds from here; it never hard-codes them. ``--config-dir`` or
``AVSYNC_CONFIG_DIR`` points at another folder of the same files; a folder that is named
must exist and hold the file asked for (:class:`ConfigError` otherwise).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")

PACKAGE_CONFIG_DIR = Path(__file__).resolve().parent / "configs"
CONFIG_DIR = Path(os.environ.get("AVSYNC_CONFIG_DIR") or PACKAGE_CONFIG_DIR)


class ConfigError(ValueError):
    """A config folder or file that was asked for is missing or malformed."""


def config_file(name: str, config_dir: str | Path | None = None) -> Path:
    """The path of one config file (``verdict.yaml``) in ``config_dir`` or the default folder."""
    root = Path(config_dir) if config_dir else CONFIG_DIR
    if not root.is_dir():
        raise ConfigError(f"config folder not found: {root}")
    path = root / name
    if not path.is_file():
        raise ConfigError(f"config folder {root} has no {name}")
    return path


class YamlConfig:
    """Mixin: ``from_dict`` ignores unknown keys' absence and rejects unknown keys."""

    @classmethod
    def from_dict(cls: type[T], values: dict[str, Any] | None) -> T:
        values = dict(values or {})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown keys {sorted(unknown)}")
        return cls(**values)

    @classmethod
    def from_yaml(cls: type[T], path: str | Path) -> T:
        try:
            with open(path) as fh:
                return cls.from_dict(yaml.safe_load(fh))
        except (OSError, yaml.YAMLError, ValueError, TypeError) as exc:
            raise ConfigError(f"bad config file {path}: {exc}".splitlines()[0]) from exc

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self, path: str | Path) -> None:
        with open(path, "w") as fh:
            yaml.safe_dump(self.to_dict(), fh, sort_keys=False)

    def replace(self: T, **changes) -> T:
        return dataclasses.replace(self, **changes)


@dataclass
class FrontendConfig(YamlConfig):
    detect_every: int = 25
    min_detection_confidence: float = 0.5
    mesh_crop_scale: float = 2.0
    mesh_crop_size: int = 192
    min_face_px: int = 24
    track_iou: float = 0.3
    max_faces: int = 4
    min_track_frames: int = 12
    max_gap_frames: int = 5
    mouth_crop_width: int = 96
    mouth_crop_height: int = 48
    mouth_crop_width_per_eye_dist: float = 1.1
    mouth_crop_shift_y: float = 0.0
    parallel_min_frames: int = 500
    chunk_frames: int = 16
    frame_mmap_threshold_kb: int = 512
    landmark_every: int = 3
    between_key_frames: str = "flow"
    mesh_refine: bool = True
    key_opening_change: float = 0.08
    flow_roi_px: int = 96
    flow_roi_per_eye_dist: float = 1.6
    flow_window_px: int = 15
    flow_pyramid_levels: int = 2
    flow_max_error_px: float = 0.5
    decode_threads: int = 0
    mouth_crop_from_rgb: bool = False

    def __post_init__(self):
        if self.between_key_frames not in ("flow", "interpolate"):
            raise ValueError(f"between_key_frames must be flow or interpolate, not {self.between_key_frames!r}")


@dataclass
class FeatureConfig(YamlConfig):
    sample_rate: int = 16000
    numcep: int = 13
    winlen: float = 0.025
    winstep: float = 0.01
    nfilt: int = 26
    nfft: int = 512
    preemph: float = 0.97
    vad_threshold: float = 0.5
    vad_min_speech_fraction: float = 0.1
    vad_smooth_s: float = 0.2
    vad_piece_s: float = 30.0
    audio_max_error_fraction: float = 0.5


@dataclass
class ProtocolConfig(YamlConfig):
    max_offset_frames: int = 15
    analysis_fps: float = 25.0
    min_windows: int = 10
    timeline_window_s: float = 1.0
    timeline_hop_s: float = 0.5
    check_max_offset_ms: float = 2000.0
    search_guard_frames: int = 2
    min_offset_coverage: float = 0.5
    offset_coverage: float = 0.6
    offset_enough_speech_s: float = 4.0
    min_analysis_fps: float = 15.0
    timeline_min_windows: int = 3
    timeline_min_speech: float = 0.5
    foreign_window_s: float = 1.0
    foreign_max_ratio: float = 0.35
    foreign_min_length_s: float = 1.0
    window_segments: bool = False


@dataclass
class VerdictConfig(YamlConfig):
    tolerance: str = "itu-bt1359"
    tolerance_presets: dict[str, dict[str, float]] = field(default_factory=lambda: {
        "itu-bt1359": {"audio_early_ms": 45.0, "audio_late_ms": 125.0}})
    audio_early_tolerance_ms: float | None = None  # None: the preset's
    audio_late_tolerance_ms: float | None = None
    min_duration_s: float = 1.0
    min_face_fraction: float = 0.3
    offset_min_p_sync: float = 0.25
    ci_level: float = 0.95
    ci_block_s: float = 1.0
    ci_resamples: int = 200
    ci_seed: int = 0
    ci_max_width_ms: float = 250.0
    ci_mode_radius_ms: float = 200.0
    ci_max_ambiguity: float = 0.25
    ambiguous_max_p_sync: float = 0.5

    def __post_init__(self):
        self.use_tolerance(self.tolerance, keep_explicit=True)

    def use_tolerance(self, name: str, keep_explicit: bool = False) -> None:
        """Take the tolerance window of preset ``name``; ``keep_explicit`` keeps values already set."""
        if name not in self.tolerance_presets:
            raise ValueError(f"unknown tolerance preset {name!r}; expected one of: "
                             + ", ".join(sorted(self.tolerance_presets)))
        preset = self.tolerance_presets[name]
        self.tolerance = name
        if not keep_explicit or self.audio_early_tolerance_ms is None:
            self.audio_early_tolerance_ms = float(preset["audio_early_ms"])
        if not keep_explicit or self.audio_late_tolerance_ms is None:
            self.audio_late_tolerance_ms = float(preset["audio_late_ms"])


@dataclass
class Settings:
    frontend: FrontendConfig
    features: FeatureConfig
    protocol: ProtocolConfig
    verdict: VerdictConfig

    @classmethod
    def load(cls, config_dir: str | Path | None = None) -> "Settings":
        return cls(
            frontend=FrontendConfig.from_yaml(config_file("frontend.yaml", config_dir)),
            features=FeatureConfig.from_yaml(config_file("features.yaml", config_dir)),
            protocol=ProtocolConfig.from_yaml(config_file("protocol.yaml", config_dir)),
            verdict=VerdictConfig.from_yaml(config_file("verdict.yaml", config_dir)),
        )
