"""Temporal localisation from the timeline: out-of-sync / mismatched segments and linear drift."""
from __future__ import annotations

import numpy as np

from avsync.config import VerdictConfig
from avsync.scoring.sidecar import Calibration
from avsync.verdict import min_confidence, within_tolerance


def window_state(row: dict, cfg: VerdictConfig, calibration: Calibration | None, min_speech: float = 0.5) -> str | None:
    """'mismatch', 'out_of_sync' or None (in sync / no speech) for one timeline window."""
    if row.get("confidence") is None or row.get("speech", 0) < min_speech:
        return None
    if row["confidence"] < min_confidence(calibration):
        return "mismatch"
    return None if within_tolerance(row["av_offset_ms"], cfg) else "out_of_sync"


def sync_segments(timeline: list[dict], cfg: VerdictConfig, calibration: Calibration | None,
                  min_speech: float = 0.5) -> list[dict]:
    """Merge consecutive flagged windows of the same kind into time ranges.

    The score is the mean confidence gap below threshold (mismatch) or the mean confidence
    (out_of_sync), so stronger evidence ranks first in segment AP.
    """
    segments: list[dict] = []
    threshold = min_confidence(calibration)
    for row in timeline:
        kind = window_state(row, cfg, calibration, min_speech)
        if kind is None:
            continue
        strength = (threshold - row["confidence"]) if kind == "mismatch" else row["confidence"]
        last = segments[-1] if segments else None
        if last and last["kind"] == kind and row["start_s"] <= last["end_s"]:
            last["end_s"] = row["end_s"]
            last["_scores"].append(strength)
        else:
            segments.append({"start_s": row["start_s"], "end_s": row["end_s"], "kind": kind, "_scores": [strength]})
    for seg in segments:
        seg["score"] = round(float(np.mean(seg.pop("_scores"))), 4)
    return segments


DRIFT_MIN_POINTS = 4  # fewer timeline windows than this give no line
DRIFT_MIN_SPAN_S = 2.0  # nor do windows spanning less time than this: a slope needs a baseline
DRIFT_MIN_SPEECH = 0.5  # a window with less speech than this has no reliable offset


def drift_ms_per_min(timeline: list[dict], min_points: int = DRIFT_MIN_POINTS) -> float | None:
    """Slope of a robust line through confident per-window offsets, in ms per minute."""
    points = [(r["start_s"], r["av_offset_ms"]) for r in timeline
              if r.get("av_offset_ms") is not None and r.get("speech", 0) >= DRIFT_MIN_SPEECH
              and (r.get("confidence") or 0) > 0]
    if len(points) < min_points:
        return None
    t, y = np.array(points, dtype=float).T
    if np.ptp(t) < DRIFT_MIN_SPAN_S:
        return None
    # Theil-Sen slope: the median of all pairwise slopes (as scipy.stats.theilslopes, whose import
    # alone costs a short check about a second)
    dt, dy = t[:, None] - t[None, :], y[:, None] - y[None, :]
    slope = np.median(dy[dt > 0] / dt[dt > 0])
    return round(float(slope * 60.0), 2)
