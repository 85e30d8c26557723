"""Foreign-audio segments: where the clip's own offset stops fitting, judged at that offset."""
import numpy as np

from avsync.scoring.localise import foreign_audio_segments

OFFSETS = np.arange(-50, 51)
STEP_S = 0.04


def _dists(n=250, seed=0):
    rng = np.random.default_rng(seed)
    d = 1.0 + 0.05 * rng.standard_normal((n, len(OFFSETS)))
    d[:, 50] -= 0.2  # the clip's own offset (0) fits everywhere ...
    return d


def _find(d, include=None, **kw):
    n = len(d)
    args = dict(window_s=1.0, max_ratio=0.35, min_length_s=0.5, window_length_s=0.2) | kw
    return foreign_audio_segments(d, OFFSETS, np.arange(n) * STEP_S, np.ones(n, bool) if include is None else include,
                                  0.0, **args)


def test_a_stretch_without_fit_is_one_segment_near_its_true_span():
    d = _dists()
    d[100:150, 50] += 0.2  # ... except for 2 s of another voice (4.0-6.0 s)
    [seg] = _find(d)
    assert seg["kind"] == "mismatch" and abs(seg["start_s"] - 4.0) < 0.25 and abs(seg["end_s"] - 6.0) < 0.25
    assert seg["score"] > 0.8


def test_a_clip_that_fits_throughout_has_none_and_short_dips_are_ignored():
    assert _find(_dists()) == []
    d = _dists()
    d[100:108, 50] += 0.2  # 0.3 s: shorter than the smoothing can resolve and than min_length_s
    assert _find(d) == []


def test_silence_is_not_a_segment_and_a_clip_without_fit_has_none():
    d = _dists()
    include = np.ones(len(d), bool)
    include[100:150] = False
    d[100:150, 50] += 0.2  # no speech there: no evidence either way
    assert _find(d, include) == []
    assert _find(1.0 + 0.05 * np.random.default_rng(1).standard_normal((250, len(OFFSETS)))) == []


def test_a_clip_shorter_than_the_smoothing_window_gives_segments_inside_it():
    # 33 windows (1.3 s) against a 1.5 s smoothing window: a genuine 2 s dev clip crashed `check` here
    for n in range(5, 60):
        for seed in range(3):
            d = _dists(n, seed)
            d[n // 2:, 50] += 0.2  # the second half stops fitting
            for seg in _find(d, window_s=1.5, max_ratio=0.65, min_length_s=0.2):
                assert 0.0 <= seg["start_s"] < seg["end_s"] <= (n - 1) * STEP_S + 0.2 + 1e-9
