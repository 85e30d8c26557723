"""From an offset curve to a verdict, with every threshold read from configs/verdict.yaml."""
from __future__ import annotations

import math

import numpy as np

from avsync.config import VerdictConfig


def within_tolerance(av_offset_ms: float, cfg: VerdictConfig) -> bool:
    """ITU-R BT.1359 style window: audio early by at most X ms, late by at most Y ms."""
    return -cfg.audio_late_tolerance_ms <= av_offset_ms <= cfg.audio_early_tolerance_ms


def _per_scorer(table: dict[str, float], scorer_name: str) -> float:
    """The scorer's own value, else the table's ``default``, else 0."""
    return float(table.get(scorer_name, table.get("default", 0.0)))


def min_confidence(cfg: VerdictConfig, scorer_name: str) -> float:
    return _per_scorer(cfg.min_confidence, scorer_name)


def offset_margin(cfg: VerdictConfig, scorer_name: str) -> float:
    return _per_scorer(cfg.offset_margin, scorer_name)


def tolerance_gap(curve: np.ndarray, offsets_ms: np.ndarray, cfg: VerdictConfig) -> float | None:
    """How much worse the best offset inside the tolerance fits than the best offset overall
    (0 when the best is inside; None when no offset inside the tolerance was compared)."""
    curve = np.asarray(curve, float)
    inside = np.array([within_tolerance(float(o), cfg) for o in offsets_ms]) & np.isfinite(curve)
    if not inside.any():
        return None
    return float(curve[inside].min() - np.nanmin(curve))


def sync_verdict(av_offset_ms: float, confidence: float, cfg: VerdictConfig, scorer_name: str,
                 gap: float | None = None) -> str:
    """``mismatch`` below the scorer's threshold; ``in_sync`` inside the tolerance. Outside it, a weak
    best match (p_sync below ``offset_min_p_sync``) is a mismatch; a confident one is ``in_sync`` when
    the best offset inside the tolerance fits within the scorer's calibrated ``offset_margin`` of it
    (``gap``, from :func:`tolerance_gap`), else ``out_of_sync``."""
    if confidence < min_confidence(cfg, scorer_name):
        return "mismatch"
    if within_tolerance(av_offset_ms, cfg):
        return "in_sync"
    p = p_sync(confidence, cfg, scorer_name)
    if p is not None and p < cfg.offset_min_p_sync:
        return "mismatch"
    return "in_sync" if gap is not None and gap <= offset_margin(cfg, scorer_name) else "out_of_sync"


def p_sync(confidence: float | None, cfg: VerdictConfig, scorer_name: str) -> float | None:
    """Calibrated probability that the audio belongs to the face (logistic fit by ``avsync calibrate``)."""
    params = cfg.p_sync.get(scorer_name)
    if confidence is None or not params:
        return None
    z = params["slope"] * confidence + params["intercept"]
    return float(1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0))))
