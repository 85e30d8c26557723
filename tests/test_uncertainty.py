"""Measures of the reported uncertainty: interval coverage and p_sync reliability."""
import numpy as np
import pytest

from avsync.evaluation.uncertainty import interval_coverage, p_sync_reliability, plot_uncertainty


def test_coverage_counts_intervals_that_contain_their_truth():
    c = interval_coverage([[-10, 10], [5, 30], None, [-200, -150]], [0, 0, 0, -160])
    assert c == {"n": 3, "n_without": 1, "covered": 2, "rate": pytest.approx(2 / 3)}
    assert interval_coverage([None], [0])["rate"] is None


def test_reliability_tells_calibrated_from_overconfident():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 4000)
    y = rng.uniform(0, 1, 4000) < p  # p is the true probability
    calibrated = p_sync_reliability(p[y], p[~y], bins=5)
    assert calibrated["ece"] < 0.03
    assert [b["mean_p"] for b in calibrated["table"]] == sorted(b["mean_p"] for b in calibrated["table"])
    # every clip said 0.9 genuine while half are: off by 0.4 whatever the bins
    flat = p_sync_reliability([0.9] * 50, [0.9] * 50)
    assert flat["ece"] == pytest.approx(0.4) and flat["brier"] == pytest.approx(0.5 * 0.01 + 0.5 * 0.81)


def test_reliability_weights_the_classes_equally():
    genuine, other = [0.8, 0.9, 0.7], [0.2, 0.3, 0.1]
    once, thrice = p_sync_reliability(genuine, other), p_sync_reliability(genuine, other * 3)
    assert once["brier"] == pytest.approx(thrice["brier"]) and once["ece"] == pytest.approx(thrice["ece"])
    assert p_sync_reliability(genuine, [None])["brier"] is None


def test_plot_writes_a_png(tmp_path):
    coverage = {"as is": interval_coverage([[-10, 10], [20, 40]], [0, 0]), "none": interval_coverage([None], [0])}
    path = plot_uncertainty(coverage, 0.95, p_sync_reliability([0.8, 0.9], [0.1, 0.6]), tmp_path / "u.png", "t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
