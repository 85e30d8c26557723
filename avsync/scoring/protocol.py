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


def average_curve(dists: np.ndarray, include: np.ndarray | None = None,
                  min_coverage: float = 0.0) -> tuple[np.ndarray, int]:
    """Mean over windows for each offset, skipping masked (NaN) pairs and excluded windows; an
    offset compared on fewer than ``min_coverage`` of the windows is NaN."""
    sums, counts, n = _totals(dists, include)
    return _covered_mean(sums, counts, n, min_coverage), n


def _totals(dists: np.ndarray, include: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, int]:
    """Per offset: the sum of the compared distances, how many windows were compared, and the windows."""
    if include is not None:
        dists = dists[include]
    return np.nansum(dists, axis=0), np.sum(~np.isnan(dists), axis=0), len(dists)


def _covered_mean(sums, counts, windows, min_coverage: float, enough_windows: float = np.inf) -> np.ndarray:
    """``sums / counts`` where an offset was compared on at least ``min_coverage`` of ``windows`` (or
    on ``enough_windows``, when that is fewer); NaN elsewhere."""
    enough = (counts > 0) & (counts >= np.minimum(min_coverage * windows, enough_windows))
    return np.where(enough, sums / np.maximum(counts, 1), np.nan)


def search_offset(dists: np.ndarray, offsets: np.ndarray, include: np.ndarray | None = None,
                  min_coverage: float = 0.0, offset_coverage: float = 0.0,
                  enough_windows: float = np.inf) -> OffsetCurve | None:
    """The curve, its best offset and the confidence (median minus minimum of the curve).

    With ``offset_coverage`` above ``min_coverage`` the best offset is sought only among the
    offsets compared on at least that share of the windows or on ``enough_windows``, when there
    are any: a mean over fewer windows is noisier, and the minimum over offsets picks noise (far
    offsets of a short clip). The confidence still reads the whole curve."""
    sums, counts, n = _totals(dists, include)
    curve = _covered_mean(sums, counts, n, min_coverage)
    if n == 0 or np.all(np.isnan(curve)):
        return None
    candidates = curve
    if offset_coverage > min_coverage:
        covered = _covered_mean(sums, counts, n, offset_coverage, enough_windows)
        candidates = covered if np.isfinite(covered).any() else curve
    best = int(np.nanargmin(candidates))
    min_dist = float(curve[best])
    confidence = float(np.nanmedian(curve) - np.nanmin(curve))
    return OffsetCurve(offsets, curve, int(offsets[best]), _refine(candidates, offsets, best), min_dist, confidence, n)


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
                 window_s: float, hop_s: float, min_windows: int = 3) -> list[dict]:
    """Per-window offset and confidence over time (the report's ``timeline``)."""
    if not len(times_s):
        return []
    rows = []
    start = float(times_s[0])
    while start < float(times_s[-1]) or not rows:
        sel = (times_s >= start) & (times_s < start + window_s)
        speech = float(include[sel].mean()) if sel.any() else 0.0
        found = search_offset(dists[sel], offsets, include[sel]) if (sel & include).sum() >= min_windows else None
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


def bootstrap_offsets(dists: np.ndarray, offsets: np.ndarray, include: np.ndarray, times_s: np.ndarray,
                      block_s: float, resamples: int, seed: int, min_coverage: float = 0.0,
                      enough_windows: float = np.inf) -> np.ndarray:
    """Sub-frame best k of ``resamples`` block-bootstrap replicates of the curve: the included
    windows are cut into blocks of ``block_s`` seconds (neighbouring windows overlap, so they are
    resampled together) and blocks are drawn with replacement. NaN where a replicate has no curve;
    empty when fewer than two blocks exist (nothing to resample)."""
    d, t = dists[include], times_s[include]
    if not len(d):
        return np.zeros(0)
    block = np.floor((t - t[0]) / block_s).astype(int)
    ids, block = np.unique(block, return_inverse=True)
    if len(ids) < 2:
        return np.zeros(0)
    ok = ~np.isnan(d)
    sums = np.zeros((len(ids), d.shape[1]))
    counts = np.zeros((len(ids), d.shape[1]))
    np.add.at(sums, block, np.where(ok, d, 0.0))
    np.add.at(counts, block, ok)
    rows = np.bincount(block).astype(float)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(ids), np.full(len(ids), 1.0 / len(ids)), size=resamples).astype(float)
    total, seen, n = draws @ sums, draws @ counts, draws @ rows
    curves = _covered_mean(total, seen, n[:, None], min_coverage, enough_windows)
    out = np.full(resamples, np.nan)
    for r, curve in enumerate(curves):
        if np.isfinite(curve).any():
            out[r] = _refine(curve, offsets, int(np.nanargmin(curve)))
    return out
