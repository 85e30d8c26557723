"""The sync report: the one result type that check, audit, eval and lse all share."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from avsync.exit_codes import VERDICT_EXIT_CODES

SCHEMA = "avsync.report/1"

VERDICTS = ("in_sync", "out_of_sync", "mismatch", "no_face", "no_speech", "inconclusive", "error")
EXIT_CODES = VERDICT_EXIT_CODES


@dataclass
class TrackReport:
    track_id: int
    frame_start: int
    frame_end: int
    verdict: str
    av_offset_ms: float | None = None
    av_offset_frames: int | None = None
    confidence: float | None = None
    min_dist: float | None = None
    p_sync: float | None = None
    av_offset_ci_ms: list[float] | None = None  # [lo, hi]: the offset's interval (verdict rule)
    verdict_reason: str | None = None  # why mismatch / inconclusive, e.g. offset_uncertain
    offset_ambiguity: float | None = None  # share of bootstrap resamples whose best offset lies elsewhere
    face_box_median: list[float] | None = None
    offset_curve: list[float | None] | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    drift_ms_per_min: float | None = None
    drift_ci_ms_per_min: list[float] | None = None  # [lo, hi], 95%


@dataclass
class SyncReport:
    file: str
    verdict: str
    fps: float = 0.0
    duration_s: float = 0.0
    av_offset_ms: float | None = None
    av_offset_frames: int | None = None
    av_offset_ms_subframe: float | None = None
    confidence: float | None = None
    min_dist: float | None = None
    p_sync: float | None = None
    av_offset_ci_ms: list[float] | None = None
    verdict_reason: str | None = None
    offset_ambiguity: float | None = None
    calibrated: bool | None = None  # False: the scorer has no calibration for these weights
    offset_bias_ms: float | None = None  # subtracted from the raw reading (from the calibration)
    search_ms: list[float] | None = None  # offsets searched, [min, max] in ms, bias-corrected like av_offset_ms
    tolerance: dict[str, Any] | None = None  # {"preset", "audio_early_ms", "audio_late_ms"} the verdict used
    tracks: list[TrackReport] = field(default_factory=list)
    speaking_track: int | None = None
    scorer: dict[str, str] = field(default_factory=dict)
    error: dict[str, str] | None = None
    audio: str | None = None
    offsets_frames: list[int] | None = None
    offset_curve: list[float | None] | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    drift_ms_per_min: float | None = None
    drift_ci_ms_per_min: list[float] | None = None
    speech_fraction: float | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    mouth_strip_png_b64: str | None = None  # a few aligned mouth crops of the speaking track, for reports
    version: str = ""
    # How much of the input decoded (reliability): the audio stream used, packets skipped, a cut-off video.
    audio_stream: int | None = None
    audio_channel: int | None = None  # the channel analysed where the mono downmix held no speech (opposite phase)
    audio_decode_errors: int = 0
    decode_errors: int = 0
    truncated: bool = False
    field_order: str | None = None  # "tff" / "bff": interlaced fields taken apart, each frame timed between its two

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def to_dict(self) -> dict[str, Any]:
        out = {"schema": SCHEMA}
        out.update(dataclasses.asdict(self))
        return out

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "SyncReport":
        values = {k: v for k, v in values.items() if k != "schema"}
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in names}
        track_names = {f.name for f in dataclasses.fields(TrackReport)}
        values["tracks"] = [TrackReport(**{k: v for k, v in t.items() if k in track_names})
                            for t in values.get("tracks", [])]
        return cls(**values)

    @classmethod
    def failure(cls, file: str, code: str, message: str, **extra) -> "SyncReport":
        return cls(file=file, verdict="error", error={"code": code, "message": message}, **extra)
