"""The training config (``configs/train/*.yaml``): every hyper-parameter of a run."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from avsync.config import YamlConfig
from avsync.models.syncnet_lite import ModelConfig
from avsync.train.augment import AugmentConfig
from avsync.train.weighting import SourceWeighting


@dataclass
class TrainConfig(YamlConfig):
    cache_dir: str = "cache"  # relative paths are taken from the working directory
    train_split: str = "train"
    dev_split: str = "dev"
    categories: list[str] = field(default_factory=lambda: ["real", "generated"])
    dev_categories: list[str] = field(default_factory=lambda: ["real", "generated"])
    epochs: int = 20
    batch_size: int = 64  # global: split across processes
    lr: float = 2e-3
    weight_decay: float = 1e-2
    warmup_epochs: float = 1.0
    grad_clip: float = 5.0
    seed: int = 1234
    threads: int = 0  # torch threads per process; 0 = CPU cores / processes
    num_workers: int = 0  # DataLoader workers per process
    window_stride: int = 3  # each epoch visits one window in every this many (random phase)
    min_speech_fraction: float = 0.5  # of the aligned 0.2 s audio window
    min_mouth_motion: float = 0.0  # training tracks whose mouth moves less (Clip.mouth_motion) are left out
    max_offset_frames: int = 15  # candidates at -15..15 frames: the multi-way objective
    other_clip_negatives: str = "aligned"  # aligned | all | none: see loop.multiway_loss
    label_sigma_frames: float = 0.0  # > 0: the target spread over neighbouring offsets (loop.multiway_loss)
    dev_every: int = 1
    # Train-split repositories held out of training and scored each epoch as `val_*` metrics: a
    # selection set that is neither trained on nor reported (the dev split is reported).
    val_sources: list[str] = field(default_factory=list)
    select_metric: str = "dev_acc_ctx15"  # which dev_* or val_* metric picks best.safetensors
    # > 0: the checkpoints, and the metrics, are an exponential moving average of the weights
    # (BatchNorm statistics included) with this decay per step; 0: the weights as trained.
    ema_decay: float = 0.0
    augment: bool = True
    model: ModelConfig = field(default_factory=ModelConfig)
    aug: AugmentConfig = field(default_factory=AugmentConfig)
    sources: SourceWeighting = field(default_factory=SourceWeighting)  # per-source share of each epoch

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> "TrainConfig":
        values = dict(values or {})
        model = ModelConfig.from_dict(values.pop("model", None))
        aug = AugmentConfig.from_dict(values.pop("aug", None))
        sources = SourceWeighting.from_dict(values.pop("sources", None))
        cfg = super().from_dict(values)
        cfg.model, cfg.aug, cfg.sources = model, aug, sources
        return cfg

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        """A config file; ``base: other.yaml`` (beside it) supplies every key it does not set,
        so an ablation states only what it changes."""
        return cls.from_dict(_read_with_base(Path(path), set()))

    @property
    def n_offsets(self) -> int:
        return 2 * self.max_offset_frames + 1


def _read_with_base(path: Path, seen: set[Path]) -> dict[str, Any]:
    if path.resolve() in seen:
        raise ValueError(f"{path}: `base` loops back to itself")
    seen.add(path.resolve())
    with open(path) as fh:
        values = yaml.safe_load(fh) or {}
    if not isinstance(values, dict):
        raise ValueError(f"{path}: not a mapping of settings")
    base = values.pop("base", None)
    if base is None:
        return values
    if not (path.parent / base).is_file():
        raise ValueError(f"{path}: no base config {path.parent / base}")
    return _merge(_read_with_base(path.parent / base, seen), values)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``; nested sections (model, aug, sources) merge key by key."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
