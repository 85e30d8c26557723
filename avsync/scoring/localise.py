"""Temporal localisation from the timeline: out-of-sync / mismatched segments and linear drift."""
from __future__ import annotations

import warnings

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


MIN_FIT_SPREADS = 1.0  # a clip's typical fit must stand this many robust spreads above zero


def _centred_sum(values: np.ndarray, half: int) -> np.ndarray:
    """Sum over the ``2 * half + 1`` values centred on each one, as long as ``values``
    (``np.convolve(mode="same")`` returns the kernel's length when the clip is shorter)."""
    return np.convolve(values, np.ones(2 * half + 1), mode="full")[half:half + len(values)]


def foreign_audio_segments(dists: np.ndarray, offsets: np.ndarray, times_s: np.ndarray, include: np.ndarray,
                           best_k: float, window_s: float, max_ratio: float, min_length_s: float,
                           window_length_s: float = 0.0, min_fit_spreads: float = MIN_FIT_SPREADS) -> list[dict]:
    """Stretches where the clip's own offset stops fitting: another voice over part of the clip.

    Per speech window the *gain* is how much closer the audio at the clip's best offset is than
    at a typical offset (the median over every searched offset). Averaged over ``window_s``
    around each window, it is compared with the clip's median gain: a run where it falls below
    ``max_ratio`` of that for at least ``min_length_s`` is a segment (kind ``mismatch``), scored
    by its mean shortfall (1 = no fit at all). Judging each window at the clip's offset, not at
    its own best one, keeps the noise of short searches out.
    """
    if not len(times_s) or dists.shape[1] < 3:
        return []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: windows without speech
        col = int(np.argmin(np.abs(offsets - best_k)))
        gain = np.where(include, np.nanmedian(dists, axis=1) - dists[:, col], np.nan)
        ok = np.isfinite(gain)
        step = float(np.median(np.diff(times_s))) if len(times_s) > 1 else window_s
        half = max(1, int(round(window_s / max(step, 1e-6) / 2)))
        sums = _centred_sum(np.where(ok, gain, 0.0), half)
        counts = _centred_sum(ok.astype(float), half)
        smooth = np.where(counts >= half, sums / np.maximum(counts, 1), np.nan)
        base = float(np.nanmedian(smooth)) if np.isfinite(smooth).any() else np.nan
        spread = 1.4826 * float(np.nanmedian(np.abs(smooth - base))) if np.isfinite(base) else np.nan
    if not (base > 0 and base > min_fit_spreads * spread):
        return []  # the clip's offset fits nowhere (or no better than noise): the clip's verdict says so
    ratio = smooth / base
    low = np.isfinite(ratio) & (ratio < max_ratio)
    segments = []
    i = 0
    while i < len(low):
        if not low[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(low) and low[j + 1]:
            j += 1
        start, end = float(times_s[i]), float(times_s[j]) + window_length_s
        if end - start >= min_length_s:
            segments.append({"start_s": round(start, 3), "end_s": round(end, 3), "kind": "mismatch",
                             "score": round(float(np.mean(1.0 - ratio[i:j + 1])), 4)})
        i = j + 1
    return segments


DRIFT_MIN_POINTS = 4  # fewer timeline windows than this give no line
DRIFT_MIN_SPAN_S = 2.0  # nor do windows spanning less time than this: a slope needs a baseline
DRIFT_MIN_SPEECH = 0.5  # a window with less speech than this has no reliable offset
DRIFT_Z = 1.96  # the drift's interval is a 95% one


def drift_ms_per_min(timeline: list[dict], frame_ms: float = 0.0, hop_per_window: float = 1.0,
                     min_points: int = DRIFT_MIN_POINTS) -> tuple[float, list[float]] | None:
    """Slope of a robust line through confident per-window offsets, and its 95% interval, in ms
    per minute. A short clip's slope is mostly the noise of its 1 s offsets; the interval says so.
    The offsets are whole frames of ``frame_ms``: a drift of less than a frame over the clip cannot
    show, so the interval is widened by that much. ``hop_per_window`` is the timeline's hop over
    its window length (below 1 where the windows overlap)."""
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
    slopes = np.sort(dy[dt > 0] / dt[dt > 0])
    # Sen's (1968) interval: ranks (N -+ z sigma) / 2 of the sorted slopes, sigma^2 = n(n-1)(2n+5)/18
    # (scipy's ranks; without its correction for tied offsets, which would only narrow it).
    # Neighbouring timeline windows overlap and share their offsets' errors, so sigma is taken for
    # the number of windows that do not overlap and scaled to the ranks of all pairs.
    n = len(t) * min(1.0, hop_per_window)
    pairs = n * (n - 1) / 2
    share = min(1.0, DRIFT_Z * np.sqrt(n * (n - 1) * (2 * n + 5) / 18) / pairs) if pairs > 0 else 1.0
    lo = max(int(np.round(len(slopes) * (1 - share) / 2)) - 1, 0)
    hi = min(int(np.round(len(slopes) * (1 + share) / 2)), len(slopes) - 1)
    unseen = frame_ms / np.ptp(t)
    return (round(float(np.median(slopes) * 60.0), 2),
            [round(float((slopes[lo] - unseen) * 60.0), 1), round(float((slopes[hi] + unseen) * 60.0), 1)])
