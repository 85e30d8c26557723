"""From an offset estimate to a verdict: policy from configs/verdict.yaml, calibration from the
scorer's sidecar (:mod:`avsync.scoring.sidecar`).

The rule (docs/pipeline.md, "The verdict rule"), in this order:

1. confidence below the calibrated ``min_confidence``: ``mismatch`` (no offset matches);
2. the offset outside the tolerance with ``p_sync`` below ``offset_min_p_sync``: ``mismatch``
   (a weak best match far away is another voice, not a shifted one);
3. more than ``ci_max_ambiguity`` of the bootstrap resamples finding their best offset elsewhere
   (another minimum): ``mismatch`` (``ambiguous_weak_match``) when ``p_sync`` is below
   ``ambiguous_max_p_sync`` (no single offset fits and the best fit is weak: another voice),
   else ``inconclusive`` (``ambiguous_offset``);
4. the whole interval outside the tolerance: ``out_of_sync``, however wide it is;
5. an interval wider than ``ci_max_width_ms``: ``inconclusive`` (``offset_uncertain``);
6. the offset itself inside the tolerance: ``in_sync``;
7. otherwise (the offset outside, its interval reaching into the tolerance): ``inconclusive``
   (``offset_near_tolerance``). So an estimate outside the tolerance is never ``in_sync``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from avsync.config import VerdictConfig
from avsync.scoring.sidecar import Calibration


@dataclass
class OffsetEstimate:
    """What the offset search measured on one track, before any calibration."""

    offset_ms: float  # sub-frame best offset (positive = audio early), not bias-corrected
    spread_lo_ms: float  # the block bootstrap's interval reaches this far below offset_ms
    spread_hi_ms: float  # ... and this far above it
    confidence: float
    min_dist: float
    ambiguity: float = 0.0  # share of bootstrap resamples whose best offset lies elsewhere


@dataclass
class Decision:
    verdict: str
    reason: str | None
    offset_ms: float  # bias-corrected
    ci_ms: list[float] | None  # [lo, hi], bias-corrected, model error included; None: not measurable
    p_sync: float | None


def within_tolerance(av_offset_ms: float, cfg: VerdictConfig) -> bool:
    """Broadcast tolerance window: audio early by at most X ms, late by at most Y ms."""
    return -cfg.audio_late_tolerance_ms <= av_offset_ms <= cfg.audio_early_tolerance_ms


def min_confidence(calibration: Calibration | None) -> float:
    """The calibrated mismatch threshold; 0 (nothing called mismatch) for an uncalibrated scorer."""
    return calibration.min_confidence if calibration else 0.0


def p_sync(confidence: float | None, calibration: Calibration | None, ambiguity: float = 0.0) -> float | None:
    """Calibrated probability that the audio belongs to the face (logistic fit by ``avsync calibrate``
    on confidence and offset ambiguity; a calibration written before ambiguity was a feature has no
    ``ambiguity_slope`` and reads confidence alone)."""
    params = calibration.p_sync if calibration else None
    if confidence is None or not params:
        return None
    z = params["slope"] * confidence + params.get("ambiguity_slope", 0.0) * ambiguity + params["intercept"]
    return float(1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0))))


def offset_interval(est: OffsetEstimate, calibration: Calibration | None) -> tuple[float, float, float]:
    """(offset, lo, hi) in ms, bias-corrected; the clip's bootstrap spread and the model's offset
    error (independent sources) add in quadrature."""
    bias = calibration.offset_bias_ms if calibration else 0.0
    error = calibration.offset_error_ms if calibration else 0.0
    offset = est.offset_ms - bias
    lo = offset - math.hypot(est.spread_lo_ms, error)
    hi = offset + math.hypot(est.spread_hi_ms, error)
    return offset, lo, hi


def decide(est: OffsetEstimate, calibration: Calibration | None, cfg: VerdictConfig) -> Decision:
    offset, lo, hi = offset_interval(est, calibration)
    p = p_sync(est.confidence, calibration, est.ambiguity)
    ci = [round(lo, 1), round(hi, 1)] if math.isfinite(lo) and math.isfinite(hi) else None

    def out(verdict: str, reason: str | None = None) -> Decision:
        return Decision(verdict, reason, round(offset, 1), ci, p)

    if est.confidence < min_confidence(calibration):
        return out("mismatch", "low_confidence")
    inside = within_tolerance(offset, cfg)
    if not inside and p is not None and p < cfg.offset_min_p_sync:
        return out("mismatch", "weak_match_outside_tolerance")
    if est.ambiguity > cfg.ci_max_ambiguity:
        if p is not None and p < cfg.ambiguous_max_p_sync:
            return out("mismatch", "ambiguous_weak_match")
        return out("inconclusive", "ambiguous_offset")
    if lo > cfg.audio_early_tolerance_ms or hi < -cfg.audio_late_tolerance_ms:
        return out("out_of_sync")  # however wide: all of it is outside
    if hi - lo > cfg.ci_max_width_ms:
        return out("inconclusive", "offset_uncertain")
    if inside:
        return out("in_sync")
    return out("inconclusive", "offset_near_tolerance")
