"""drift_ms_per_min: the Theil-Sen slope and Sen's interval, computed without scipy.stats (its
import costs start-up)."""
import numpy as np
from scipy.stats import theilslopes

from avsync.scoring.localise import drift_ms_per_min


def _timeline(t, y):
    return [{"start_s": a, "av_offset_ms": b, "speech": 1.0, "confidence": 1.0} for a, b in zip(t, y)]


def test_drift_is_the_theil_sen_slope_and_ignores_an_outlier():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 60, 30))
    y = 3.0 * t + rng.normal(0, 20, 30)
    y[3] = 900.0
    slope, (lo, hi) = drift_ms_per_min(_timeline(t, y))
    assert slope == round(theilslopes(y, t)[0] * 60, 2)
    assert abs(slope - 180.0) < 60.0
    assert lo < slope < hi
    assert [lo, hi] == [round(v * 60, 1) for v in sorted(theilslopes(y, t)[2:4])]


def test_overlapping_windows_widen_the_interval():
    rng = np.random.default_rng(1)
    t = np.arange(0, 20, 0.5)
    y = rng.normal(0, 40, len(t))
    _, apart = drift_ms_per_min(_timeline(t, y), hop_per_window=1.0)
    _, overlapping = drift_ms_per_min(_timeline(t, y), hop_per_window=0.5)
    assert overlapping[0] < apart[0] and overlapping[1] > apart[1]


def test_a_short_clip_s_noisy_slope_has_an_interval_that_holds_zero():
    # 3 s of 1 s windows every 0.5 s, offsets a frame apart by chance: a steep slope, no drift
    t = np.arange(0, 2.5, 0.5)
    y = np.array([-40.0, 0.0, 0.0, -40.0, 0.0]) + 40.0 * (t > 1.2)
    slope, (lo, hi) = drift_ms_per_min(_timeline(t, y), hop_per_window=0.5)
    assert abs(slope) > 500
    assert lo <= 0 <= hi
