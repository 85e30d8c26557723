"""drift_ms_per_min: the Theil-Sen slope, computed without scipy.stats (its import costs start-up)."""
import numpy as np
from scipy.stats import theilslopes

from avsync.scoring.localise import drift_ms_per_min


def test_drift_is_the_theil_sen_slope_and_ignores_an_outlier():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 60, 30))
    y = 3.0 * t + rng.normal(0, 20, 30)
    y[3] = 900.0
    timeline = [{"start_s": a, "av_offset_ms": b, "speech": 1.0, "confidence": 1.0} for a, b in zip(t, y)]
    assert drift_ms_per_min(timeline) == round(theilslopes(y, t)[0] * 60, 2)
    assert abs(drift_ms_per_min(timeline) - 180.0) < 60.0
