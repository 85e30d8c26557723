"""Detection metrics of ``avsync eval``: AUC/AP/EER, bootstrap CIs, threshold metrics, groups, plot."""
import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from avsync.evaluation import metrics


def _data(n=300, seed=1, sep=1.0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    return labels, labels * sep + rng.normal(0, 1, n)


def test_auc_and_ap_agree_with_sklearn():
    labels, scores = _data()
    m = metrics.ranking_metrics(labels, scores)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(labels, scores))
    assert m["ap"] == pytest.approx(average_precision_score(labels, scores))


def test_eer_is_where_false_accepts_equal_misses():
    labels, scores = _data(n=2000, sep=1.5)
    rate, thr = metrics.eer(labels, scores)
    # At the EER threshold the two error rates measured directly are both close to the EER.
    pred = scores >= thr
    fpr = np.mean(pred[labels == 0])
    fnr = np.mean(~pred[labels == 1])
    assert abs(fpr - rate) < 0.01 and abs(fnr - rate) < 0.01
    # And it is the minimum of max(fpr, fnr) over the ROC points, up to one step.
    f, t, _ = roc_curve(labels, scores)
    assert rate == pytest.approx(np.min(np.maximum(f, 1 - t)), abs=2 / min(np.bincount(labels)))


def test_eer_extremes():
    assert metrics.eer([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])[0] == pytest.approx(0.0)
    assert metrics.eer([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1])[0] == pytest.approx(1.0)
    # Interpolated crossing: fpr goes 0 -> 0.5 while fnr goes 0.5 -> 0.
    assert metrics.eer([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])[0] == pytest.approx(0.5)


def test_single_class_gives_no_ranking_metrics():
    assert metrics.ranking_metrics([1, 1, 1], [0.1, 0.5, 0.9]) is None
    ci = metrics.bootstrap_ci([0, 0], [0.1, 0.2], n=50)
    assert ci == {"roc_auc": None, "ap": None, "eer": None}


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    labels, scores = _data(n=200)
    a = metrics.bootstrap_ci(labels, scores, n=100, seed=7)
    b = metrics.bootstrap_ci(labels, scores, n=100, seed=7)
    c = metrics.bootstrap_ci(labels, scores, n=100, seed=8)
    assert a == b and a != c
    point = metrics.ranking_metrics(labels, scores)
    for key in ("roc_auc", "ap", "eer"):
        lo, hi = a[key]
        assert lo < point[key] < hi
        assert hi - lo < 0.3
    # More data: a narrower interval.
    big_l, big_s = _data(n=3000)
    wide = np.diff(a["roc_auc"])[0]
    narrow = np.diff(metrics.bootstrap_ci(big_l, big_s, n=100, seed=7)["roc_auc"])[0]
    assert narrow < wide


def test_threshold_metrics_counts():
    m = metrics.threshold_metrics([1, 1, 0, 0, 1], [0.9, 0.2, 0.7, 0.1, 0.5], threshold=0.5)
    assert (m["tp"], m["fn"], m["fp"], m["tn"]) == (2, 1, 1, 1)
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)


def test_verdict_confusion_counts_every_verdict():
    table = metrics.verdict_confusion(["in_sync", "mismatch", "mismatch", "error", "in_sync"],
                                      [0, 1, 0, 1, None])
    assert table["mismatch"] == {"real": 1, "fake": 1, "unlabelled": 0}
    assert table["in_sync"] == {"real": 1, "fake": 0, "unlabelled": 1}
    assert table["error"]["fake"] == 1
    assert table["no_face"] == {"real": 0, "fake": 0, "unlabelled": 0}


def test_fake_only_group_is_ranked_against_all_reals():
    groups = ["real", "real", "real", "easy", "easy", "hard", "hard"]
    labels = [0, 0, 0, 1, 1, 1, 1]
    scores = [0.1, 0.2, 0.3, 0.8, 0.9, 0.15, 0.25]
    out = metrics.by_group(groups, labels, scores, threshold=0.5, n_bootstrap=0)
    assert out["easy"]["roc_auc"] == pytest.approx(1.0)
    assert out["easy"]["ranked_against"] == "all_real"
    # hard fakes (0.15, 0.25) vs reals (0.1, 0.2, 0.3): 3 of 6 pairs won.
    assert out["hard"]["roc_auc"] == pytest.approx(3 / 6)
    assert out["hard"]["n"] == 2 and out["hard"]["flagged_fraction"] == 0.0
    assert out["real"]["roc_auc"] is None and out["real"]["at_threshold"]["false_positive_rate"] == 0.0


def test_roc_plot_is_a_png(tmp_path):
    labels, scores = _data(n=60)
    groups = ["a" if i % 2 else "b" for i in range(60)]
    path = metrics.plot_roc(labels, scores, tmp_path / "roc.png", groups=groups)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
