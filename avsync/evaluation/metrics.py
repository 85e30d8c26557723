"""Binary detection metrics for a scored set: ROC AUC, AP, EER with bootstrap CIs, and breakdowns.

Labels are 1 = fake, 0 = real; scores are "higher = more likely fake".
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from sklearn.metrics import auc, average_precision_score, roc_auc_score, roc_curve

from avsync.report import VERDICTS


def eer(labels: Sequence[int], scores: Sequence[float]) -> tuple[float, float]:
    """Equal error rate and the score threshold where it occurs, from sklearn's ROC curve."""
    return _eer_from_roc(*roc_curve(labels, scores))


def _eer_from_roc(fpr, tpr, thresholds) -> tuple[float, float]:
    # FPR and FNR = 1 - TPR cross between two ROC points; interpolate linearly there.
    fnr = 1.0 - tpr
    diff = fpr - fnr  # rises from -1 to +1 along the curve
    i = int(np.argmax(diff >= 0))
    if i == 0:
        return float(fpr[0]), float(thresholds[0])
    t = -diff[i - 1] / (diff[i] - diff[i - 1])
    rate = fpr[i - 1] + t * (fpr[i] - fpr[i - 1])
    lo, hi = thresholds[i - 1], thresholds[i]
    thr = hi if not np.isfinite(lo) else lo + t * (hi - lo)
    return float(rate), float(thr)


def ranking_metrics(labels, scores) -> dict[str, float] | None:
    """AUC, AP and EER, or None when only one class is present."""
    labels = np.asarray(labels, int)
    scores = np.asarray(scores, float)
    if len(np.unique(labels)) < 2:
        return None
    fpr, tpr, thresholds = roc_curve(labels, scores)
    rate, thr = _eer_from_roc(fpr, tpr, thresholds)
    return {
        "roc_auc": float(auc(fpr, tpr)),
        "ap": float(average_precision_score(labels, scores)),
        "eer": rate,
        "eer_threshold": thr,
    }


def bootstrap_ci(labels, scores, n: int, seed: int = 0, level: float = 0.95) -> dict[str, list[float] | None]:
    """Percentile bootstrap CIs of AUC, AP and EER over videos (resampled with replacement).

    Resamples that draw a single class are redrawn, so every one of the ``n`` counts.
    """
    labels = np.asarray(labels, int)
    scores = np.asarray(scores, float)
    keys = ("roc_auc", "ap", "eer")
    if n <= 0 or len(np.unique(labels)) < 2:
        return {k: None for k in keys}
    rng = np.random.default_rng(seed)
    values = {k: [] for k in keys}
    size = len(labels)
    for _ in range(50 * n):
        if len(values["roc_auc"]) >= n:
            break
        idx = rng.integers(0, size, size)
        m = ranking_metrics(labels[idx], scores[idx])
        if m is None:
            continue
        for k in keys:
            values[k].append(m[k])
    alpha = (1.0 - level) / 2.0
    return {k: [float(np.quantile(v, alpha)), float(np.quantile(v, 1.0 - alpha))] for k, v in values.items()}


def threshold_metrics(labels, scores, threshold: float) -> dict[str, Any]:
    """Accuracy, precision, recall and counts when "fake" means score >= threshold."""
    labels = np.asarray(labels, int)
    pred = np.asarray(scores, float) >= threshold
    tp = int(np.sum(pred & (labels == 1)))
    fp = int(np.sum(pred & (labels == 0)))
    fn = int(np.sum(~pred & (labels == 1)))
    tn = int(np.sum(~pred & (labels == 0)))
    n = tp + fp + fn + tn
    return {
        "threshold": float(threshold),
        "accuracy": (tp + tn) / n if n else None,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "false_positive_rate": fp / (fp + tn) if fp + tn else None,
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
    }


def verdict_confusion(verdicts: Sequence[str], labels: Sequence[int | None]) -> dict[str, dict[str, int]]:
    """Counts of each verdict (rows) against each label (real / fake, and unlabelled if any)."""
    names = {0: "real", 1: "fake", None: "unlabelled"}
    columns = ["real", "fake"] + (["unlabelled"] if any(label is None for label in labels) else [])
    rows = list(VERDICTS) + sorted(set(verdicts) - set(VERDICTS))
    table = {v: dict.fromkeys(columns, 0) for v in rows}
    for verdict, label in zip(verdicts, labels):
        table[verdict][names[label]] += 1
    return table


def summarize(labels, scores, threshold: float, n_bootstrap: int, seed: int = 0,
              level: float = 0.95) -> dict[str, Any]:
    """Everything for one set of (label, score) pairs."""
    labels = np.asarray(labels, int)
    scores = np.asarray(scores, float)
    out: dict[str, Any] = {"n": int(len(labels)), "n_fake": int(labels.sum()),
                           "n_real": int((labels == 0).sum())}
    ranking = ranking_metrics(labels, scores)
    out.update(ranking or {"roc_auc": None, "ap": None, "eer": None, "eer_threshold": None})
    ci = bootstrap_ci(labels, scores, n_bootstrap, seed, level)
    out["ci"] = {"level": level, "n_bootstrap": n_bootstrap, **ci}
    out["at_threshold"] = threshold_metrics(labels, scores, threshold)
    out["mean_score"] = float(scores.mean()) if len(scores) else None
    return out


def by_group(groups, labels, scores, threshold: float, n_bootstrap: int, seed: int = 0,
             level: float = 0.95) -> dict[str, dict[str, Any]]:
    """Per-group metrics. A group holding only fakes is ranked against every real video of the
    set (the usual per-category AUC on FakeAVCeleb); a group of reals gets its false-positive rate."""
    labels = np.asarray(labels, int)
    scores = np.asarray(scores, float)
    members: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members["(none)" if g is None else str(g)].append(i)
    reals = np.flatnonzero(labels == 0)
    out = {}
    for name in sorted(members):
        idx = np.asarray(members[name])
        against = "group"
        if len(np.unique(labels[idx])) < 2 and labels[idx][0] == 1 and len(reals):
            idx_eval = np.concatenate([idx, reals])
            against = "all_real"
        else:
            idx_eval = idx
        stats = summarize(labels[idx_eval], scores[idx_eval], threshold, n_bootstrap, seed, level)
        own = threshold_metrics(labels[idx], scores[idx], threshold)
        stats.update(n=int(len(idx)), n_fake=int(labels[idx].sum()), n_real=int((labels[idx] == 0).sum()),
                     ranked_against=against, at_threshold=own,
                     flagged_fraction=float(np.mean(scores[idx] >= threshold)),
                     mean_score=float(scores[idx].mean()))
        out[name] = stats
    return out


def plot_roc(labels, scores, path: str | Path, groups=None, title: str = "ROC") -> Path:
    """Write an ROC plot (overall curve, plus one per group when groups are given) as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = np.asarray(labels, int)
    scores = np.asarray(scores, float)
    fig, ax = plt.subplots(figsize=(5.5, 5.0), dpi=120)
    ax.plot([0, 1], [0, 1], ls=":", color="0.6", lw=1)
    if len(np.unique(labels)) == 2:
        fpr, tpr, _ = roc_curve(labels, scores)
        rate, _ = eer(labels, scores)
        ax.plot(fpr, tpr, color="k", lw=2, label=f"all (AUC {roc_auc_score(labels, scores):.3f})")
        ax.plot([rate], [1 - rate], "o", color="crimson", label=f"EER {rate:.3f}")
    if groups is not None:
        reals = labels == 0
        for name in sorted({g for g in groups if g is not None}):
            mask = np.array([g == name for g in groups])
            sel = mask | reals if labels[mask].min() == 1 else mask
            if len(np.unique(labels[sel])) < 2:
                continue
            fpr, tpr, _ = roc_curve(labels[sel], scores[sel])
            ax.plot(fpr, tpr, lw=1, alpha=0.8,
                    label=f"{name} ({roc_auc_score(labels[sel], scores[sel]):.3f})")
    ax.set_xlabel("false positive rate (real called fake)")
    ax.set_ylabel("true positive rate (fake caught)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=7)
    else:
        ax.text(0.5, 0.5, "needs real and fake videos", ha="center", va="center")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
