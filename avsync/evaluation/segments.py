"""Temporal localisation scores: AP at IoU thresholds, following LAV-DF's evaluation protocol.

The protocol (``metrics.py`` of github.com/ControlNet/LAV-DF), reproduced here in NumPy:

* per video, proposals are taken in descending score order; for each ground-truth period in turn,
  the first proposal not yet matched whose IoU with it is *greater than* the threshold is a true
  positive; every other proposal is a false positive;
* proposals of all videos are pooled and sorted by score (stable); precision and recall are
  accumulated down that list, recall dividing by the number of ground-truth periods of all videos;
* AP is the area under the precision envelope (the running maximum of precision from the high
  recall end), summed over the recall steps between proposals, as the original does. That sum
  starts at the recall of the top-ranked proposal, not at 0, so the first step is left out: on a
  benchmark with thousands of periods that is negligible, on a handful of clips it is not (one
  period found perfectly scores 0). ``from_zero=True`` adds that step (the usual interpolated AP);
  :func:`localisation` reports both.

Times are seconds. The original divides frame indices by 25 fps first; avsync's segments are
already in seconds.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

Segment = Sequence[float]  # (start_s, end_s)


def iou_1d(proposals, targets) -> np.ndarray:
    """(M, N) IoU of M ``[start, end]`` proposals with N targets."""
    p = np.asarray(proposals, float).reshape(-1, 2)
    t = np.asarray(targets, float).reshape(-1, 2)
    inter = np.clip(np.minimum(p[:, None, 1], t[None, :, 1]) - np.maximum(p[:, None, 0], t[None, :, 0]), 0, None)
    hull = np.maximum(p[:, None, 1], t[None, :, 1]) - np.minimum(p[:, None, 0], t[None, :, 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hull > 0, inter / np.where(hull > 0, hull, 1), 0.0)


def _match(boxes: np.ndarray, truth: np.ndarray, threshold: float) -> np.ndarray:
    """is-true-positive flag per proposal (proposals already sorted by score)."""
    is_tp = np.zeros(len(boxes), bool)
    if len(truth) == 0 or len(boxes) == 0:
        return is_tp
    hits = iou_1d(boxes, truth) > threshold
    for i in range(len(truth)):
        for j in np.flatnonzero(hits[:, i]):
            if not is_tp[j]:
                is_tp[j] = True
                break
    return is_tp


def average_precision(videos: Iterable[tuple[Sequence[Sequence[float]], Sequence[Segment]]],
                      iou_threshold: float, from_zero: bool = False) -> float | None:
    """AP over videos given as ``(proposals, truth)``: proposals ``[start, end, score]``, truth
    ``[start, end]``. None when no video has a ground-truth period. ``from_zero`` integrates the
    envelope from recall 0 instead of LAV-DF's start at the first proposal's recall."""
    confidences, flags = [], []
    n_truth = 0
    for proposals, truth in videos:
        props = np.asarray(proposals, float).reshape(-1, 3)
        order = np.argsort(-props[:, 2], kind="stable")
        props = props[order]
        gt = np.asarray(truth, float).reshape(-1, 2)
        n_truth += len(gt)
        confidences.append(props[:, 2])
        flags.append(_match(props[:, :2], gt, iou_threshold))
    if n_truth == 0:
        return None
    conf = np.concatenate(confidences) if confidences else np.zeros(0)
    tp = np.concatenate(flags) if flags else np.zeros(0, bool)
    if len(conf) == 0:
        return 0.0
    order = np.argsort(-conf, kind="stable")
    acc = np.cumsum(tp[order])
    precision = acc / np.arange(1, len(acc) + 1)
    recall = acc / n_truth
    # Curve from the high-recall end, starting at (recall 1, precision 0), as in LAV-DF.
    x = np.concatenate([[1.0], recall[::-1]])
    y = np.concatenate([[0.0], precision[::-1]])
    envelope = np.maximum.accumulate(y)
    ap = float(np.sum(np.abs(np.diff(x)) * envelope[:-1]))
    if from_zero:
        ap += float(recall[0] * envelope[-1])
    return ap


def mean_best_iou(videos: Iterable[tuple[Sequence[Sequence[float]], Sequence[Segment]]]) -> float | None:
    """Mean over ground-truth periods of the best IoU any proposal of the same video reaches."""
    best = []
    for proposals, truth in videos:
        gt = np.asarray(truth, float).reshape(-1, 2)
        if len(gt) == 0:
            continue
        props = np.asarray(proposals, float).reshape(-1, 3)
        best.extend(iou_1d(props[:, :2], gt).max(axis=0) if len(props) else np.zeros(len(gt)))
    return float(np.mean(best)) if best else None


def report_proposals(segments: Sequence[dict] | None) -> list[list[float]]:
    """A report's ``segments`` (start_s, end_s, kind, score) as ``[start, end, score]`` proposals."""
    out = []
    for seg in segments or []:
        score = seg.get("score")
        out.append([float(seg["start_s"]), float(seg["end_s"]), float(score if score is not None else 1.0)])
    return out


def localisation(videos: Sequence[tuple[Sequence[Sequence[float]], Sequence[Segment]]],
                 iou_thresholds: Sequence[float] = (0.5, 0.75)) -> dict:
    """AP at each IoU threshold (LAV-DF's code, and from recall 0) plus the mean best IoU,
    for a list of ``(proposals, truth)``."""
    videos = list(videos)
    return {
        "n_videos": len(videos),
        "n_truth_segments": int(sum(len(t) for _, t in videos)),
        "n_proposals": int(sum(len(p) for p, _ in videos)),
        "ap": {f"{t:g}": average_precision(videos, t) for t in iou_thresholds},
        "ap_from_zero": {f"{t:g}": average_precision(videos, t, from_zero=True) for t in iou_thresholds},
        "mean_best_iou": mean_best_iou(videos),
    }
