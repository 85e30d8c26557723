"""Is the reported uncertainty honest? Measured on labelled clips, out of fold:

- interval coverage: how often ``av_offset_ci_ms`` contains the true offset, against its nominal
  level (``ci_level``, 95%);
- ``p_sync`` reliability: whether clips given p_sync ≈ x carry their own audio x of the time.
  ``p_sync`` is fitted with balanced class weights (``avsync.calibration.fit_p_sync``), that is for
  equal priors, so genuine and mismatched clips are weighted equally here too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def interval_coverage(intervals: Sequence[Sequence[float] | None], truths: Sequence[float]) -> dict:
    """Share of intervals ``[lo, hi]`` that contain their truth; rows without an interval are left out
    and counted in ``n_without``."""
    pairs = [(ci, t) for ci, t in zip(intervals, truths) if ci is not None]
    covered = sum(lo <= t <= hi for (lo, hi), t in pairs)
    return {"n": len(pairs), "n_without": len(intervals) - len(pairs), "covered": covered,
            "rate": covered / len(pairs) if pairs else None}


def p_sync_reliability(p_genuine: Sequence[float], p_mismatched: Sequence[float], bins: int = 5) -> dict:
    """Brier score, expected calibration error and a reliability table of genuine (label 1) against
    mismatched (label 0), classes weighted equally; the table has up to ``bins`` bins of about equal
    weight over the sorted p_sync, equal values sharing a bin. ``None`` values are left out."""
    from sklearn.metrics import brier_score_loss

    p_genuine = [p for p in p_genuine if p is not None]
    p_mismatched = [p for p in p_mismatched if p is not None]
    out = {"n_genuine": len(p_genuine), "n_mismatched": len(p_mismatched), "brier": None, "ece": None, "table": []}
    if not p_genuine or not p_mismatched:
        return out
    probs = np.r_[p_genuine, p_mismatched].astype(float)
    labels = np.r_[np.ones(len(p_genuine)), np.zeros(len(p_mismatched))]
    weights = np.where(labels == 1, 0.5 / len(p_genuine), 0.5 / len(p_mismatched))
    out["brier"] = float(brier_score_loss(labels, probs, sample_weight=weights))
    order = np.argsort(probs, kind="stable")
    cuts = np.searchsorted(np.cumsum(weights[order]), np.arange(1, bins) / bins)
    which = np.searchsorted(probs[order][np.minimum(cuts, len(order) - 1)], probs, side="right")  # ties share a bin
    ece = 0.0
    for b in np.unique(which):
        part = which == b
        w = weights[part]
        mean_p = float(np.average(probs[part], weights=w))
        observed = float(np.average(labels[part], weights=w))
        ece += w.sum() * abs(observed - mean_p)
        out["table"].append({"n": int(part.sum()), "weight": float(w.sum()), "mean_p": mean_p, "observed": observed})
    out["ece"] = float(ece)
    return out


def plot_uncertainty(coverage: dict[str, dict], level: float, reliability: dict, path: str | Path,
                     title: str = "") -> Path:
    """Two panels: each variant's interval coverage against ``level``, and p_sync's reliability."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=120)
    names = [n for n, c in coverage.items() if c["rate"] is not None]
    left.barh(names, [100 * coverage[n]["rate"] for n in names], color="steelblue")
    left.axvline(100 * level, color="crimson", ls="--", lw=1, label=f"nominal {100 * level:.0f}%")
    for i, n in enumerate(names):
        left.text(1, i, f"{coverage[n]['covered']} of {coverage[n]['n']}", va="center", color="white", fontsize=8)
    left.set_xlim(0, 100)
    left.invert_yaxis()
    left.set_xlabel("intervals containing the true offset (%)")
    left.legend(loc="lower right", fontsize=8)
    right.plot([0, 1], [0, 1], ls=":", color="0.6", lw=1)
    table = reliability["table"]
    if table:
        right.plot([b["mean_p"] for b in table], [b["observed"] for b in table], "o-", color="k")
    right.set_xlim(0, 1)
    right.set_ylim(0, 1)
    right.set_xlabel("p_sync (bin mean)")
    right.set_ylabel("genuine share (classes weighted equally)")
    brier = "-" if reliability["brier"] is None else f"{reliability['brier']:.3f}"
    ece = "-" if reliability["ece"] is None else f"{reliability['ece']:.3f}"
    right.set_title(f"p_sync reliability: Brier {brier}, ECE {ece}", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
