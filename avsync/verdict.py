"""From an offset curve to a verdict, with every threshold read from configs/verdict.yaml."""
from __future__ import annotations

import math

from avsync.config import VerdictConfig


def within_tolerance(av_offset_ms: float, cfg: VerdictConfig) -> bool:
    """ITU-R BT.1359 style window: audio early by at most X ms, late by at most Y ms."""
    return -cfg.audio_late_tolerance_ms <= av_offset_ms <= cfg.audio_early_tolerance_ms


def min_confidence(cfg: VerdictConfig, scorer_name: str) -> float:
    if scorer_name in cfg.min_confidence:
        return float(cfg.min_confidence[scorer_name])
    return float(cfg.min_confidence.get("default", 0.0))


def sync_verdict(av_offset_ms: float, confidence: float, cfg: VerdictConfig, scorer_name: str) -> str:
    """``mismatch`` below the scorer's threshold; ``out_of_sync`` needs a confident match, so a weak
    best match far from zero (p_sync below ``offset_min_p_sync``) is a mismatch too."""
    if confidence < min_confidence(cfg, scorer_name):
        return "mismatch"
    if within_tolerance(av_offset_ms, cfg):
        return "in_sync"
    p = p_sync(confidence, cfg, scorer_name)
    return "mismatch" if p is not None and p < cfg.offset_min_p_sync else "out_of_sync"


def p_sync(confidence: float | None, cfg: VerdictConfig, scorer_name: str) -> float | None:
    """Calibrated probability that the audio belongs to the face (logistic fit by ``avsync calibrate``)."""
    params = cfg.p_sync.get(scorer_name)
    if confidence is None or not params:
        return None
    z = params["slope"] * confidence + params["intercept"]
    return float(1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0))))
