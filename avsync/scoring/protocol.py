"""SyncNet's offset-search protocol over a (windows x offsets) distance matrix.

Convention: offset k compares video frame t with audio at t + k frames. The best k is where
the sound of frame t really is, so audio delayed by d frames gives k = +d; the reported
``av_offset_frames`` is -k (positive = audio early, as in syncnet_python).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class OffsetCurve:
    offsets: np.ndarray  # candidate k values (frames)
    curve: np.ndarray  # mean distance per k (NaN where no window could be compared)
    best_k: int
    best_k_subframe: float
    min_dist: float
    confidence: float
    n_windows: int

    @property
    def av_offset_frames(self) -> int:
        return -self.best_k

    @property
    def av_offset_subframe(self) -> float:
        return -self.best_k_subframe


def average_curve(dists: np.ndarray, include: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Mean over windows for each offset, skipping masked (NaN) pairs and excluded windows."""
    if include is not None:
        dists = dists[include]
    if dists.size == 0:
        return np.full(dists.shape[1], np.nan), 0
    counts = np.sum(~np.isnan(dists), axis=0)
    sums = np.nansum(dists, axis=0)
    curve = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return curve, int(len(dists))


def search_offset(dists: np.ndarray, offsets: np.ndarray, include: np.ndarray | None = None) -> OffsetCurve | None:
    curve, n = average_curve(dists, include)
    if n == 0 or np.all(np.isnan(curve)):
        return None
    best = int(np.nanargmin(curve))
    min_dist = float(curve[best])
    confidence = float(np.nanmedian(curve) - min_dist)
    return OffsetCurve(offsets, curve, int(offsets[best]), _refine(curve, offsets, best), min_dist, confidence, n)


def _refine(curve: np.ndarray, offsets: np.ndarray, best: int) -> float:
    """Vertex of the parabola through the minimum and its two neighbours."""
    if best == 0 or best == len(curve) - 1:
        return float(offsets[best])
    left, mid, right = curve[best - 1], curve[best], curve[best + 1]
    denom = left - 2 * mid + right
    if not np.isfinite(denom) or denom <= 0:
        return float(offsets[best])
    shift = 0.5 * (left - right) / denom
    return float(offsets[best] + np.clip(shift, -0.5, 0.5))


def local_curves(dists: np.ndarray, offsets: np.ndarray, times_s: np.ndarray, include: np.ndarray,
                 window_s: float, hop_s: float) -> list[dict]:
    """Per-window offset and confidence over time (the report's ``timeline``)."""
    if not len(times_s):
        return []
    rows = []
    start = float(times_s[0])
    while start < float(times_s[-1]) or not rows:
        sel = (times_s >= start) & (times_s < start + window_s)
        speech = float(include[sel].mean()) if sel.any() else 0.0
        found = search_offset(dists[sel], offsets, include[sel]) if (sel & include).sum() >= 3 else None
        rows.append({
            "start_s": round(start, 3),
            "end_s": round(start + window_s, 3),
            "speech": round(speech, 3),
            "av_offset_frames": found.av_offset_frames if found else None,
            "confidence": round(found.confidence, 4) if found else None,
            "min_dist": round(found.min_dist, 4) if found else None,
        })
        start += hop_s
    return rows
