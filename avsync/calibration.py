"""``avsync calibrate``: a scorer's calibration, fitted on labelled clips, cross-fitted over sources.

Genuine = a clip with its own audio; mismatched = a clip with another clip's audio (never one that
carries the same recording). For one scorer (see :class:`avsync.scoring.sidecar.Calibration`):

- ``min_confidence``: the largest threshold that leaves at most ``target_flag_rate`` of the genuine
  clips below it (called ``mismatch``);
- ``p_sync``: a logistic regression of genuine-vs-mismatched on confidence and offset ambiguity
  (scikit-learn), stored as slopes and intercept in raw units: another voice gives a weak minimum
  and, more often than the face's own audio, resamples that find theirs elsewhere;
- ``offset_bias_ms``: the median offset of the genuine clips above the threshold and not
  ambiguous (the model's zero);
- ``offset_error_ms``: the smallest error that, added in quadrature to each clip's own bootstrap
  spread, makes the interval of ``ci_level`` of those genuine clips contain 0, counting only
  readings within ``ci_mode_radius_ms`` of the bias (the others are gross errors, counted apart).

Honest numbers: the clips are grouped by source (the manifest's ``repo`` column) and every group is
scored with a calibration fitted on the other groups only (:func:`cross_fit`); those out-of-fold
verdicts are what ``calibrate`` prints and records. The calibration written beside the weights is
then fitted on every group.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
from pathlib import Path

import numpy as np

from avsync.config import Settings, VerdictConfig
from avsync.sources import Clip
from avsync.evaluation.clipset import AnalysisCache, iter_analyses, partner_audio
from avsync.pipeline import Measurement, measure
from avsync.scoring.base import Scorer, file_digest
from avsync.scoring.sidecar import Calibration
from avsync.verdict import Decision, OffsetEstimate, decide

FLAGGED = ("out_of_sync", "mismatch")


def clip_groups(entries: list[Clip]) -> dict[str, str]:
    """Clip slug -> source group: the manifest's ``repo`` column, else the clip's folder."""
    return {e.slug: e.source or Path(e.video).parent.name for e in entries}


def measurement_row(video: Clip, audio_of: str | None, group: str, m: Measurement) -> dict:
    """What a calibration needs from one scored clip, as JSON-ready values."""
    est = m.best.estimate if m.best is not None and m.verdict is None else None
    return {"id": video.slug, "audio_of": audio_of, "group": group, "category": video.category,
            "verdict": m.verdict, "reason": m.reason,
            "estimate": None if est is None else dataclasses.asdict(est)}


def row_decision(row: dict, calibration: Calibration | None, cfg: VerdictConfig) -> Decision | None:
    """The row's verdict under ``calibration``; None where it was decided before calibration
    (no_face / no_speech / inconclusive: the row's own ``verdict``)."""
    if row["estimate"] is None:
        return None
    return decide(OffsetEstimate(**row["estimate"]), calibration, cfg)


def collect(entries: list[Clip], scorers: list[Scorer], settings: Settings, groups: dict[str, str],
            negatives: int = 3, seed: int = 0, jobs: int | None = None, cache: AnalysisCache | None = None,
            progress: bool = True) -> dict:
    """Per scorer: the genuine clips' and the mismatched pairs' measurements, from one front-end
    pass per clip, through the same scoring as ``check``."""
    audios, partners = partner_audio(entries, settings, negatives, seed)
    out = {s.name: {"genuine": [], "mismatched": []} for s in scorers}
    skipped = []
    for index, entry, analysis, reason in iter_analyses(entries, settings, scorers, jobs, cache, progress,
                                                        desc="calibrate"):
        if analysis is None:
            skipped.append({"id": entry.slug, "reason": reason})
            continue
        group = groups.get(entry.slug, "")
        for scorer in scorers:
            rows = out[scorer.name]
            rows["genuine"].append(measurement_row(entry, None, group, measure(analysis, scorer, settings)))
            for j in partners.get(index, []):
                m = measure(analysis, scorer, settings, audio=audios[j])
                rows["mismatched"].append(measurement_row(entry, entries[j].slug, group, m))
    return {"scores": out, "skipped": skipped}


def choose_threshold(genuine: list[float], target_flag_rate: float) -> float:
    """The largest threshold (4 decimals) that leaves at most ``target_flag_rate`` of the genuine
    confidences below it, half a unit below the first unflagged value so that clip stays unflagged."""
    values = np.sort(np.asarray(genuine, float))
    if not len(values):
        raise ValueError("no genuine clip was scored")
    allowed = int(np.floor(target_flag_rate * len(values) + 1e-9))
    return float(np.floor(values[min(allowed, len(values) - 1)] * 1e4 - 0.5) / 1e4)


def fit_p_sync(genuine: list[OffsetEstimate], mismatched: list[OffsetEstimate]) -> dict[str, float]:
    """Logistic map (confidence, ambiguity) -> P(audio belongs to the face), in raw units. The
    features are standardised for the fit so that the default L2 penalty means the same for every
    scorer's confidence scale; classes are weighted equally whatever their counts."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([[e.confidence, e.ambiguity] for e in [*genuine, *mismatched]], float).reshape(-1, 2)
    y = np.r_[np.ones(len(genuine)), np.zeros(len(mismatched))].astype(int)
    if len(np.unique(y)) < 2:
        raise ValueError("p_sync needs both genuine and mismatched scores")
    mu, sigma = x.mean(axis=0), x.std(axis=0)
    sigma[sigma == 0] = 1.0
    model = LogisticRegression(class_weight="balanced").fit((x - mu) / sigma, y)
    w = model.coef_[0] / sigma
    b = float(model.intercept_[0] - (model.coef_[0] * mu / sigma).sum())
    return {"slope": round(float(w[0]), 6), "ambiguity_slope": round(float(w[1]), 6), "intercept": round(b, 6)}


def fit_offset_error(estimates: list[OffsetEstimate], bias_ms: float, level: float) -> float:
    """The smallest model error m such that the interval [x - hypot(lo, m), x + hypot(hi, m)] of
    at least ``level`` of the genuine clips (x = offset - bias, true offset 0) contains 0."""
    if not estimates:
        return 0.0
    need = []
    for est in estimates:
        x = est.offset_ms - bias_ms
        spread = est.spread_lo_ms if x > 0 else est.spread_hi_ms
        need.append(float(np.sqrt(max(x * x - spread * spread, 0.0))) if np.isfinite(spread) else 0.0)
    need.sort()
    return round(need[min(int(np.ceil(level * len(need))) - 1, len(need) - 1)], 1)


def fit_calibration(genuine: list[dict], mismatched: list[dict], cfg: VerdictConfig, target_flag_rate: float,
                    digest: str) -> Calibration:
    """One calibration from measurement rows (see :func:`measurement_row`)."""
    gen = [OffsetEstimate(**r["estimate"]) for r in genuine if r["estimate"] is not None]
    mis = [OffsetEstimate(**r["estimate"]) for r in mismatched if r["estimate"] is not None]
    threshold = choose_threshold([e.confidence for e in gen], target_flag_rate)
    params = fit_p_sync(gen, mis)
    # the offset error describes locked estimates: a clip the rule would not judge (ambiguous) or
    # whose reading is a gross error (another minimum, beyond ci_mode_radius_ms) is left out of it
    kept = [e for e in gen if e.confidence >= threshold and e.ambiguity <= cfg.ci_max_ambiguity]
    bias = round(float(np.median([e.offset_ms for e in kept])), 1) if kept else 0.0
    locked = [e for e in kept if abs(e.offset_ms - bias) <= cfg.ci_mode_radius_ms]
    error = fit_offset_error(locked, bias, cfg.ci_level)
    return Calibration(digest, threshold, params, bias, error,
                       {"locked_genuine_clips": len(locked), "gross_errors": len(kept) - len(locked),
                        "ambiguous_genuine_clips": sum(e.ambiguity > cfg.ci_max_ambiguity for e in gen)})


def cross_fit(scores: dict, cfg: VerdictConfig, target_flag_rate: float, digest: str) -> dict[str, Calibration]:
    """Per source group, the calibration fitted without it: every pair whose video or audio comes
    from the group is left out of its fit. With a single source, each clip is its own group."""
    groups = sorted({r["group"] for r in scores["genuine"]})
    if len(groups) < 2:
        for kind in ("genuine", "mismatched"):
            for r in scores[kind]:
                r["group"] = r["id"]
        groups = sorted({r["group"] for r in scores["genuine"]})
    out = {}
    for g in groups:
        gen = [r for r in scores["genuine"] if r["group"] != g]
        held = {r["id"] for r in scores["genuine"] if r["group"] == g}
        mis = [r for r in scores["mismatched"] if r["group"] != g and r["audio_of"] not in held]
        out[g] = fit_calibration(gen, mis, cfg, target_flag_rate, digest)
    return out


def verdict_rates(scores: dict, calibrations: dict[str, Calibration] | Calibration, cfg: VerdictConfig) -> dict:
    """Genuine and mismatched verdict counts, with each row judged by its group's calibration
    (a dict from :func:`cross_fit`) or by one calibration for all; how often the genuine clips'
    intervals contain 0, and p_sync's reliability (:mod:`avsync.evaluation.uncertainty`)."""
    from avsync.evaluation.uncertainty import interval_coverage, p_sync_reliability

    def cal(row):
        return calibrations[row["group"]] if isinstance(calibrations, dict) else calibrations

    out, decisions = {}, {}
    for kind in ("genuine", "mismatched"):
        decisions[kind] = [row_decision(r, cal(r), cfg) for r in scores[kind]]
        verdicts = [d.verdict if d else r["verdict"] for r, d in zip(scores[kind], decisions[kind])]
        out[kind] = {"n": len(verdicts), "verdicts": {v: verdicts.count(v) for v in sorted(set(verdicts))}}
    gen, mis = out["genuine"], out["mismatched"]
    decided = [d for d in decisions["genuine"] if d]
    gen["interval_covers_zero"] = interval_coverage([d.ci_ms for d in decided], [0.0] * len(decided))
    rel = p_sync_reliability(*[[d.p_sync for d in decisions[kind] if d] for kind in ("genuine", "mismatched")])
    out["p_sync"] = {"brier": rel["brier"], "ece": rel["ece"]}
    gen["flag_rate"] = round(sum(gen["verdicts"].get(v, 0) for v in FLAGGED) / gen["n"], 4) if gen["n"] else None
    gen["in_sync_rate"] = round(gen["verdicts"].get("in_sync", 0) / gen["n"], 4) if gen["n"] else None
    mis["mismatch_rate"] = round(mis["verdicts"].get("mismatch", 0) / mis["n"], 4) if mis["n"] else None
    return out


def provenance(scores: dict, manifest: str, split: list[str], categories: list[str], negatives: int, seed: int,
               target_flag_rate: float, cfg: VerdictConfig, out_of_fold: dict) -> dict:
    groups: dict[str, int] = {}
    for r in scores["genuine"]:
        groups[r["group"]] = groups.get(r["group"], 0) + 1
    return {
        # the manifest by name and content, not by this machine's path
        "date": _dt.date.today().isoformat(), "manifest": "/".join(Path(manifest).resolve().parts[-2:]),
        "manifest_sha256": file_digest(manifest) if Path(manifest).is_file() else None,
        "split": split, "categories": categories,
        "sources": groups, "genuine_clips": sum(r["estimate"] is not None for r in scores["genuine"]),
        "mismatched_pairs": sum(r["estimate"] is not None for r in scores["mismatched"]),
        "negatives_per_clip": negatives, "seed": seed, "target_flag_rate": target_flag_rate,
        "ci_level": cfg.ci_level, "tolerance": cfg.tolerance,
        "out_of_fold": {"method": "leave one source out", **out_of_fold},
    }


def format_summary(name: str, calibration: Calibration, out_of_fold: dict, skipped: list[dict]) -> str:
    p = calibration.p_sync
    gen, mis = out_of_fold["genuine"], out_of_fold["mismatched"]
    lines = [
        f"{name}: min_confidence {calibration.min_confidence:.4f}   "
        f"p_sync = 1 / (1 + exp(-({p['slope']:.3f} * confidence {p.get('ambiguity_slope', 0.0):+.3f} * ambiguity "
        f"{p['intercept']:+.3f})))",
        f"  offset bias {calibration.offset_bias_ms:+.1f} ms (subtracted), offset error {calibration.offset_error_ms:.1f} ms "
        "(added in quadrature to each clip's interval)",
        "  out of fold (each source judged by a calibration fitted on the others):",
        f"    genuine {gen['n']}: " + ", ".join(f"{k} {v}" for k, v in gen["verdicts"].items())
        + f"; in_sync {_pct(gen['in_sync_rate'])}, flagged {_pct(gen['flag_rate'])}",
        f"    other audio {mis['n']}: " + ", ".join(f"{k} {v}" for k, v in mis["verdicts"].items())
        + f"; mismatch {_pct(mis['mismatch_rate'])}",
    ]
    cover, level = gen["interval_covers_zero"], calibration.fitted_on.get("ci_level")
    if cover["rate"] is not None:
        nominal = f"; nominal {100 * level:.0f}%" if level else ""
        lines.append(f"    genuine intervals containing 0: {_pct(cover['rate'])} ({cover['covered']} of {cover['n']}"
                     f"{nominal})")
    p_sync = out_of_fold["p_sync"]
    if p_sync["brier"] is not None:
        lines.append(f"    p_sync, classes weighted equally: Brier {p_sync['brier']:.3f}, ECE {p_sync['ece']:.3f}")
    lines += [f"skipped {s['id']}: {s['reason']}" for s in skipped]
    return "\n".join(lines)


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"
