"""Turn labelled rows and their reports into the evaluation result, its table, JSON and plot."""
from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from avsync.evaluation import metrics, segments
from avsync.evaluation.config import EvalConfig
from avsync.evaluation.manifest import Row
from avsync.evaluation.runner import BatchOptions, Checker, fake_score, score_videos
from avsync.report import SyncReport

SCHEMA = "avsync.eval/1"
FAKE_VERDICTS = ("out_of_sync", "mismatch")


def _threshold(cfg: EvalConfig, kinds: set, scorer_name: str, config_dir=None) -> tuple[float, str]:
    """The score threshold for accuracy/precision/recall, and how it was chosen."""
    if kinds == {"-confidence"}:
        if cfg.confidence_threshold is not None:
            c = float(cfg.confidence_threshold)
            return -c, f"confidence <= {c:g} (confidence_threshold)"
        # reports without p_sync come from an uncalibrated scorer, whose min_confidence is 0
        from avsync.verdict import min_confidence

        c = min_confidence(None)
        return -c, f"confidence <= {c:g} (uncalibrated {scorer_name or 'default'}: no min_confidence)"
    return float(cfg.threshold), f"1 - p_sync >= {cfg.threshold:g} (threshold)"


def evaluate_reports(rows: Sequence[Row], reports: Sequence[SyncReport], cfg: EvalConfig,
                     from_cache: Sequence[bool] | None = None, config_dir=None) -> dict[str, Any]:
    """Metrics for rows scored by ``reports`` (same order).

    Rows whose report is an error, or carries neither p_sync nor confidence, are listed under
    ``excluded`` and left out of every metric; rows labelled None are scored and shown in their
    group but left out of the binary metrics.
    """
    videos, excluded = [], []
    for i, (row, rep) in enumerate(zip(rows, reports)):
        score, kind = fake_score(rep)
        entry = {"path": row.path, "label": row.label, "group": row.group, "verdict": rep.verdict,
                 "score": score, "score_kind": kind, "p_sync": rep.p_sync, "confidence": rep.confidence,
                 "min_dist": rep.min_dist, "av_offset_ms": rep.av_offset_ms,
                 "error": (rep.error or {}).get("code"), "from_cache": bool(from_cache[i]) if from_cache else False}
        videos.append(entry)
        if score is None:
            reason = f"error: {rep.error.get('code')}: {rep.error.get('message')}" if rep.error else \
                f"verdict {rep.verdict} without p_sync or confidence"
            excluded.append({"path": row.path, "verdict": rep.verdict, "reason": reason})

    used = [i for i, v in enumerate(videos) if v["score"] is not None and v["label"] is not None]
    labels = np.array([videos[i]["label"] for i in used], int)
    scores = np.array([videos[i]["score"] for i in used], float)
    groups = [videos[i]["group"] for i in used]
    kinds = Counter(videos[i]["score_kind"] for i in used)
    scorer = Counter(reports[i].scorer.get("name", "") for i in used).most_common(1)
    threshold, threshold_note = _threshold(cfg, set(kinds), scorer[0][0] if scorer else "", config_dir)
    flagged = np.array([videos[i]["verdict"] in FAKE_VERDICTS for i in used], float)

    result: dict[str, Any] = {
        "schema": SCHEMA,
        "n_videos": len(rows),
        "n_used": len(used),
        "n_unlabelled": sum(1 for v in videos if v["label"] is None and v["score"] is not None),
        "n_excluded": len(excluded),
        "n_errors": sum(1 for v in videos if v["verdict"] == "error"),
        "score": "1 - p_sync when the report has p_sync, else -confidence; higher = more likely fake",
        "score_kinds": dict(kinds),
        "settings": cfg.to_dict(),
        "threshold": {"score": threshold, "rule": threshold_note},
        "overall": metrics.summarize(labels, scores, threshold, cfg.bootstrap, cfg.seed,
                                     cfg.confidence_level),
        "by_verdict": metrics.threshold_metrics(labels, flagged, 0.5),
        "confusion": metrics.verdict_confusion([v["verdict"] for v in videos], [v["label"] for v in videos]),
    }
    if len(kinds) > 1:
        result["warning"] = ("scores mix 1 - p_sync and -confidence; they are not on one scale, "
                             "so AUC/EER over the whole set are not meaningful")
    if any(g is not None for g in groups) or any(v["group"] is not None for v in videos):
        result["groups"] = metrics.by_group(groups, labels, scores, threshold, cfg.bootstrap,
                                            cfg.seed, cfg.confidence_level) if used else {}
        unl = [v for v in videos if v["label"] is None and v["score"] is not None]
        for name in sorted({str(v["group"]) for v in unl}):
            s = np.array([v["score"] for v in unl if str(v["group"]) == name])
            result["groups"].setdefault(name, {"n": 0})["unlabelled"] = {
                "n": int(len(s)), "flagged_fraction": float(np.mean(s >= threshold)),
                "mean_score": float(s.mean())}
    loc_rows = [i for i in used if rows[i].fake_periods is not None]
    if loc_rows:
        result["localisation"] = segments.localisation(
            [(segments.report_proposals(reports[i].segments), rows[i].fake_periods) for i in loc_rows],
            cfg.iou_thresholds)
    result["excluded"] = excluded
    result["videos"] = videos
    return result


def evaluate_rows(rows: Sequence[Row], cfg: EvalConfig, checker: Checker | None = None, cache=None,
                  batch: BatchOptions | None = None, progress: bool = True) -> dict[str, Any]:
    """Score ``rows`` (through the cache, on the worker pool ``batch`` describes) and evaluate them."""
    scored = score_videos([(r.path, r.audio) for r in rows], checker=checker, cache=cache, batch=batch,
                          progress=progress, desc="eval")
    result = evaluate_reports(rows, [s.report for s in scored], cfg, [s.from_cache for s in scored],
                              config_dir=batch.config_dir if batch else None)
    if cache is not None:
        result["cache"] = {"dir": str(cache.root), "hits": cache.hits, "scorer": cache.scorer}
    return result


def write_outputs(result: dict[str, Any], out_dir: str | Path, title: str = "avsync eval") -> dict[str, Path]:
    """``metrics.json``, ``scores.csv`` and ``roc.png`` in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "metrics.json", "csv": out / "scores.csv", "roc": out / "roc.png"}
    paths["json"].write_text(json.dumps(result, indent=2))
    cols = ["path", "label", "group", "verdict", "score", "score_kind", "p_sync", "confidence",
            "min_dist", "av_offset_ms", "error"]
    with open(paths["csv"], "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(result["videos"])
    used = [v for v in result["videos"] if v["score"] is not None and v["label"] is not None]
    metrics.plot_roc([v["label"] for v in used], [v["score"] for v in used], paths["roc"],
                     groups=[v["group"] for v in used] if "groups" in result else None, title=title)
    return paths


def _fmt(value, ci=None) -> str:
    if value is None:
        return "n/a"
    text = f"{value:.3f}"
    if ci:
        text += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return text


def format_table(result: dict[str, Any]) -> str:
    """A plain-text summary for the terminal."""
    o = result["overall"]
    ci = o["ci"]
    t = o["at_threshold"]
    lines = [
        f"videos {result['n_videos']}  used {result['n_used']} ({o['n_fake']} fake, {o['n_real']} real)"
        f"  unlabelled {result['n_unlabelled']}  excluded {result['n_excluded']} (errors {result['n_errors']})",
        f"ROC AUC  {_fmt(o['roc_auc'], ci['roc_auc'])}",
        f"AP       {_fmt(o['ap'], ci['ap'])}",
        f"EER      {_fmt(o['eer'], ci['eer'])}   ({int(ci['level'] * 100)}% bootstrap CI, n={ci['n_bootstrap']})",
        f"at {result['threshold']['rule']}: accuracy {_fmt(t['accuracy'])}  precision {_fmt(t['precision'])}"
        f"  recall {_fmt(t['recall'])}",
        f"verdict out_of_sync/mismatch as fake: accuracy {_fmt(result['by_verdict']['accuracy'])}"
        f"  precision {_fmt(result['by_verdict']['precision'])}  recall {_fmt(result['by_verdict']['recall'])}",
    ]
    if result.get("warning"):
        lines.append(f"warning: {result['warning']}")
    conf = result["confusion"]
    cols = list(next(iter(conf.values())).keys())
    lines += ["", f"{'verdict':<14}" + "".join(f"{c:>11}" for c in cols)]
    for verdict, counts in conf.items():
        if any(counts.values()):
            lines.append(f"{verdict:<14}" + "".join(f"{counts[c]:>11}" for c in cols))
    if result.get("groups"):
        width = max(len(g) for g in result["groups"]) + 2
        lines += ["", f"{'group':<{width}}{'n':>6}{'fake':>6}{'AUC':>8}{'EER':>8}{'flagged':>9}  vs"]
        for name, g in result["groups"].items():
            if g.get("n"):
                lines.append(f"{name:<{width}}{g['n']:>6}{g['n_fake']:>6}{_fmt(g.get('roc_auc')):>8}"
                             f"{_fmt(g.get('eer')):>8}{g['flagged_fraction']:>9.3f}  {g['ranked_against']}")
            if g.get("unlabelled"):
                u = g["unlabelled"]
                lines.append(f"{name:<{width}}{u['n']:>6}{'-':>6}{'-':>8}{'-':>8}{u['flagged_fraction']:>9.3f}"
                             "  unlabelled")
    if result.get("localisation"):
        loc = result["localisation"]
        aps = "  ".join(f"AP@{k} {_fmt(v)}" for k, v in loc["ap"].items())
        lines += ["", f"segments: {aps}  mean best IoU {_fmt(loc['mean_best_iou'])}"
                      f"  ({loc['n_truth_segments']} true, {loc['n_proposals']} predicted)"]
    return "\n".join(lines)
