"""Temporal AP following LAV-DF's protocol, checked against a direct port of its torch code."""
import numpy as np
import pytest
import torch

from avsync.evaluation import segments


def _lavdf_reference_ap(videos, iou_threshold):
    """LAV-DF metrics.AP, restated with torch (proposals as [score, start, end], fps = 1)."""
    values, n_labels = [], 0
    for proposals, truth in videos:
        props = torch.tensor([[p[2], p[0], p[1]] for p in proposals], dtype=torch.float64).reshape(-1, 3)
        props = props[props[:, 0].sort(stable=True, descending=True).indices]
        labels = torch.tensor(truth, dtype=torch.float64).reshape(-1, 2)
        n_labels += len(labels)
        if len(labels):
            b, e = props[:, 1:2], props[:, 2:3]
            inter = (torch.minimum(e, labels[:, 1]) - torch.maximum(b, labels[:, 0])).clamp(min=0)
            ious = inter / (torch.maximum(e, labels[:, 1]) - torch.minimum(b, labels[:, 0]))
        else:
            ious = torch.zeros((len(props), 0))
        taken = []
        for i in range(ious.shape[1]):
            for (j,) in (ious[:, i] > iou_threshold).nonzero():
                if int(j) not in taken:
                    taken.append(int(j))
                    break
        is_tp = torch.zeros(len(props), dtype=torch.float64)
        is_tp[taken] = 1
        values.append(torch.column_stack([props[:, 0], is_tp]))
    values = torch.cat(values)
    values = values[values[:, 0].sort(stable=True, descending=True).indices]
    acc = torch.cumsum(values[:, 1], 0)
    curve = torch.stack([acc / n_labels, acc / (torch.arange(len(acc)) + 1)]).T
    curve = torch.cat([torch.tensor([[1.0, 0.0]], dtype=torch.float64), torch.flip(curve, dims=(0,))])
    x, y = curve.T
    return float((x.diff().abs() * y.cummax(0).values[:-1]).sum())


def test_iou_1d():
    iou = segments.iou_1d([[0, 2], [5, 6]], [[1, 3], [0, 2]])
    assert iou[0, 0] == pytest.approx(1 / 3)
    assert iou[0, 1] == pytest.approx(1.0)
    assert iou[1, 0] == 0.0


def test_matches_lavdf_code_on_random_sets():
    rng = np.random.default_rng(3)
    for trial in range(20):
        videos = []
        for _ in range(rng.integers(1, 6)):
            truth = []
            for _ in range(rng.integers(0, 3)):
                s = rng.uniform(0, 8)
                truth.append([s, s + rng.uniform(0.3, 2)])
            proposals = []
            for t in truth:  # noisy hits
                if rng.random() < 0.8:
                    proposals.append([t[0] + rng.normal(0, 0.2), t[1] + rng.normal(0, 0.2), rng.random()])
            for _ in range(rng.integers(0, 3)):  # false alarms
                s = rng.uniform(0, 8)
                proposals.append([s, s + rng.uniform(0.3, 2), rng.random()])
            videos.append((proposals, truth))
        if not sum(len(t) for _, t in videos) or not sum(len(p) for p, _ in videos):
            continue
        for thr in (0.5, 0.75):
            assert segments.average_precision(videos, thr) == pytest.approx(_lavdf_reference_ap(videos, thr))


def test_perfect_and_failed_localisation():
    many = [([[i, i + 1, 0.9]], [[i, i + 1]]) for i in range(50)]
    assert segments.average_precision(many, 0.5, from_zero=True) == pytest.approx(1.0)
    # The protocol's own sum leaves out the first recall step (1/50 here).
    assert segments.average_precision(many, 0.5) == pytest.approx(1 - 1 / 50)
    shifted = [([[i + 0.6, i + 1.6, 0.9]], [[i, i + 1]]) for i in range(5)]  # IoU 0.25
    assert segments.average_precision(shifted, 0.5) == 0.0
    assert segments.average_precision([([[0, 1, 0.5]], [])], 0.5) is None


def test_iou_threshold_is_strict_and_false_alarms_cost_precision():
    # IoU exactly 0.5 does not count at 0.5 (">" as in LAV-DF).
    assert segments.average_precision([([[0, 1, 1.0]], [[0, 2]])], 0.5, from_zero=True) == 0.0
    # A higher-scored false alarm in another video halves precision at the true hit.
    videos = [([[0, 1, 0.5]], [[0, 1]]), ([[3, 4, 0.9]], [])]
    assert segments.average_precision(videos, 0.5, from_zero=True) == pytest.approx(0.5)


def test_report_proposals_and_summary():
    props = segments.report_proposals([{"start_s": 1.0, "end_s": 2.5, "kind": "mismatch", "score": 0.7},
                                       {"start_s": 4.0, "end_s": 5.0, "kind": "out_of_sync", "score": None}])
    assert props == [[1.0, 2.5, 0.7], [4.0, 5.0, 1.0]]
    loc = segments.localisation([(props, [[1.0, 2.0]]), ([], [[0.0, 1.0]])])
    assert loc["n_truth_segments"] == 2 and loc["n_proposals"] == 2
    assert loc["mean_best_iou"] == pytest.approx((1 / 1.5 + 0) / 2)
    assert set(loc["ap"]) == {"0.5", "0.75"}
