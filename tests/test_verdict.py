"""The verdict rule on offset intervals, tolerance presets, and the bootstrap interval itself."""
import numpy as np
import pytest

from avsync.config import ConfigError, Settings, VerdictConfig
from avsync.scoring.protocol import bootstrap_offsets
from avsync.scoring.sidecar import Calibration
from avsync.verdict import OffsetEstimate, decide, within_tolerance

CAL = Calibration("digest", min_confidence=0.1, p_sync={"slope": 10.0, "intercept": -1.0}, offset_bias_ms=20.0,
                  offset_error_ms=30.0)


def est(offset_ms, spread=10.0, confidence=0.5, ambiguity=0.0):
    return OffsetEstimate(offset_ms + CAL.offset_bias_ms, spread, spread, confidence, 1.0, ambiguity)


def test_interval_outside_the_tolerance_is_out_of_sync():
    d = decide(est(-300.0), CAL, VerdictConfig())
    assert d.verdict == "out_of_sync" and d.reason is None
    assert d.offset_ms == -300.0  # the bias is subtracted
    half = np.hypot(10.0, 30.0)
    assert d.ci_ms == pytest.approx([-300.0 - half, -300.0 + half], abs=0.1)
    assert decide(est(+120.0), CAL, VerdictConfig()).verdict == "out_of_sync"


def test_interval_inside_the_tolerance_is_in_sync():
    d = decide(est(-50.0), CAL, VerdictConfig())
    assert d.verdict == "in_sync"
    assert d.ci_ms[0] < -50.0 < d.ci_ms[1]


def test_an_estimate_outside_the_tolerance_is_never_in_sync():
    # -150 ms with an interval reaching into the window: not flagged, and not passed either
    d = decide(est(-150.0), CAL, VerdictConfig())
    assert d.verdict == "inconclusive" and d.reason == "offset_near_tolerance"
    for offset in np.arange(-2000.0, 2000.0, 7.0):
        v = decide(est(offset, spread=0.0), CAL, VerdictConfig()).verdict
        assert v != "in_sync" or within_tolerance(offset, VerdictConfig())


def test_a_wide_interval_is_inconclusive():
    d = decide(est(0.0, spread=200.0), CAL, VerdictConfig())
    assert d.verdict == "inconclusive" and d.reason == "offset_uncertain"
    d = decide(est(-600.0, spread=np.inf), CAL, VerdictConfig())
    assert d.verdict == "inconclusive"
    assert decide(est(0.0, ambiguity=0.3), CAL, VerdictConfig(ambiguous_max_p_sync=0.0)).reason == "ambiguous_offset"


def test_an_ambiguous_weak_match_is_mismatch_and_a_strong_one_inconclusive():
    cfg = VerdictConfig(ambiguous_max_p_sync=0.6)
    weak = decide(est(0.0, ambiguity=0.3, confidence=0.1), CAL, cfg)  # p_sync 0.5
    strong = decide(est(0.0, ambiguity=0.3, confidence=0.3), CAL, cfg)  # p_sync 0.88
    assert (weak.verdict, weak.reason) == ("mismatch", "ambiguous_weak_match")
    assert (strong.verdict, strong.reason) == ("inconclusive", "ambiguous_offset")


def test_weak_matches_are_mismatch():
    assert decide(est(0.0, confidence=0.05), CAL, VerdictConfig()).verdict == "mismatch"
    # p_sync(0.1) = 0.5: above min_confidence, but far away and weak -> another voice
    weak_far = decide(est(-900.0, confidence=0.1), CAL, VerdictConfig(offset_min_p_sync=0.6))
    assert weak_far.verdict == "mismatch" and weak_far.reason == "weak_match_outside_tolerance"


def test_p_sync_falls_with_ambiguity_when_the_calibration_weighs_it():
    weighed = Calibration("digest", min_confidence=0.1, offset_bias_ms=20.0, offset_error_ms=30.0,
                          p_sync={"slope": 10.0, "ambiguity_slope": -8.0, "intercept": -1.0})
    cfg = VerdictConfig(ambiguous_max_p_sync=0.6)
    # p_sync 0.88 at confidence 0.3 without the ambiguity term (CAL: a calibration from before it), 0.40 with it
    assert decide(est(0.0, ambiguity=0.3, confidence=0.3), CAL, cfg).reason == "ambiguous_offset"
    d = decide(est(0.0, ambiguity=0.3, confidence=0.3), weighed, cfg)
    assert d.p_sync == pytest.approx(1 / (1 + np.exp(-(10.0 * 0.3 - 8.0 * 0.3 - 1.0))))
    assert (d.verdict, d.reason) == ("mismatch", "ambiguous_weak_match")
    assert decide(est(0.0, confidence=0.3), weighed, cfg).p_sync == decide(est(0.0, confidence=0.3), CAL, cfg).p_sync


def test_uncalibrated_uses_no_other_models_numbers():
    d = decide(OffsetEstimate(-300.0, 5.0, 5.0, 0.001, 1.0), None, VerdictConfig())
    assert d.p_sync is None
    assert d.offset_ms == -300.0  # no bias
    assert d.verdict == "out_of_sync"  # no min_confidence: nothing is called mismatch


@pytest.mark.parametrize("name,early,late", [("itu-bt1359", 45, 125), ("ebu-r37", 40, 60), ("atsc-is191", 15, 45)])
def test_tolerance_presets(name, early, late):
    cfg = Settings.load().verdict
    assert cfg.tolerance == "itu-bt1359" and cfg.audio_late_tolerance_ms == 125.0
    cfg.use_tolerance(name)
    assert (cfg.audio_early_tolerance_ms, cfg.audio_late_tolerance_ms) == (early, late)
    assert within_tolerance(-late, cfg) and not within_tolerance(-late - 1, cfg)
    assert within_tolerance(early, cfg) and not within_tolerance(early + 1, cfg)


def test_unknown_preset_is_a_config_error(tmp_path):
    with pytest.raises(ValueError):
        VerdictConfig(tolerance="nope")
    (tmp_path / "verdict.yaml").write_text("tolerance: nope\n")
    with pytest.raises(ConfigError):
        VerdictConfig.from_yaml(tmp_path / "verdict.yaml")


def test_bootstrap_interval_narrows_with_a_clear_minimum():
    rng = np.random.default_rng(0)
    offsets = np.arange(-10, 11)
    times = np.arange(200) * 0.04
    clean = np.abs(offsets - 3)[None, :] * 0.1 + rng.normal(0, 0.05, (200, len(offsets)))
    boot = bootstrap_offsets(clean, offsets, np.ones(200, bool), times, 1.0, 100, 0)
    assert np.all(np.abs(boot - 3) < 1)
    noisy = rng.normal(0, 1.0, (200, len(offsets)))
    spread = bootstrap_offsets(noisy, offsets, np.ones(200, bool), times, 1.0, 100, 0)
    assert np.ptp(spread) > 5
    one_block = bootstrap_offsets(clean[:20], offsets, np.ones(20, bool), times[:20], 1.0, 100, 0)
    assert len(one_block) == 0  # nothing to resample
