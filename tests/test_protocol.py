import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avsync.scoring.protocol import average_curve, local_curves, search_offset

OFFSETS = np.arange(-15, 16)


def v_shaped(n_windows: int, best_k: float) -> np.ndarray:
    return np.tile(np.abs(OFFSETS - best_k) * 0.1 + 1.0, (n_windows, 1))


@given(st.integers(-15, 15))
@settings(max_examples=31, deadline=None)
def test_argmin_gives_offset_with_audio_early_positive(k):
    curve = search_offset(v_shaped(20, k), OFFSETS)
    assert curve.best_k == k
    # audio found k frames later than the mouth = audio late = negative av offset
    assert curve.av_offset_frames == -k
    assert curve.min_dist == pytest.approx(1.0)
    assert curve.confidence == pytest.approx(np.median(np.abs(OFFSETS - k)) * 0.1)


def test_subframe_refinement_finds_the_vertex():
    curve = search_offset(np.tile((OFFSETS - 2.3) ** 2, (5, 1)), OFFSETS)
    assert curve.best_k == 2
    assert curve.best_k_subframe == pytest.approx(2.3, abs=1e-6)


def test_masked_pairs_are_skipped_not_zero_padded():
    dists = v_shaped(10, 0)
    dists[:5, OFFSETS > 10] = np.nan  # early windows cannot reach far-future audio
    curve, n = average_curve(dists)
    assert n == 10
    assert np.allclose(curve, v_shaped(1, 0)[0])  # zeros would have pulled these means down


def test_excluded_windows_and_fully_masked_offsets():
    dists = v_shaped(6, 3)
    dists[:3] = v_shaped(3, -5)
    include = np.array([False] * 3 + [True] * 3)
    assert search_offset(dists, OFFSETS, include).best_k == 3
    dists[:, 0] = np.nan
    assert np.isnan(average_curve(dists)[0][0])
    assert search_offset(np.full((4, 31), np.nan), OFFSETS) is None
    assert search_offset(dists, OFFSETS, np.zeros(6, bool)) is None


def test_local_curves_follow_a_change_of_offset():
    times = np.arange(100) / 25.0
    dists = np.concatenate([v_shaped(50, 0), v_shaped(50, 6)])
    rows = local_curves(dists, OFFSETS, times, np.ones(100, bool), window_s=1.0, hop_s=0.5)
    assert rows[0]["av_offset_frames"] == 0
    assert rows[-2]["av_offset_frames"] == -6
    assert all(r["end_s"] - r["start_s"] == pytest.approx(1.0) for r in rows)


def _short_clip_matrix():
    """20 windows, offsets -3..3: the true offset 0 is compared on every window; offset +3 only on
    the first 10 (the rest would need audio past the end), where it happens to read lowest."""
    dists = np.full((20, 7), 1.0)
    dists[:, 3] = 0.8
    dists[10:, 6] = np.nan
    dists[:10, 6] = 0.5
    return dists, np.arange(-3, 4)


def test_the_offset_rests_on_enough_windows_and_the_confidence_on_the_whole_curve():
    dists, offsets = _short_clip_matrix()
    plain = search_offset(dists, offsets, min_coverage=0.5)
    assert plain.best_k == 3  # half the windows: a noisy mean wins the minimum
    found = search_offset(dists, offsets, min_coverage=0.5, offset_coverage=0.9)
    assert found.best_k == 0 and found.min_dist == pytest.approx(0.8)
    assert found.confidence == pytest.approx(plain.confidence)  # median minus the whole curve's minimum
    assert np.array_equal(found.curve, plain.curve, equal_nan=True)


def test_enough_windows_admit_far_offsets_of_a_long_clip_and_nothing_covered_falls_back():
    dists, offsets = _short_clip_matrix()
    assert search_offset(dists, offsets, min_coverage=0.5, offset_coverage=0.9, enough_windows=10).best_k == 3
    assert search_offset(dists, offsets, min_coverage=0.5, offset_coverage=0.9, enough_windows=11).best_k == 0
    dists[15:] = np.nan  # no offset is compared on 90% of the windows: the best of the whole curve
    assert search_offset(dists, offsets, min_coverage=0.5, offset_coverage=0.9).best_k == 3
