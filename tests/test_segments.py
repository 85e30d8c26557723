from concurrent.futures import Future

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from avsync.frontend.segments import Handoff, split_bounds


@given(first=st.integers(0, 5000), n=st.integers(1, 100_000), parts=st.integers(1, 16),
       keys=st.lists(st.integers(0, 100_000), max_size=50), share=st.floats(0, 1))
def test_split_bounds_cover_what_is_left_in_order(first, n, parts, keys, share):
    first = min(first, n - 1)
    bounds = split_bounds(first, n, parts, np.array(keys, np.int64), share)
    assert bounds[0] == first and bounds[-1] == n and bounds == sorted(set(bounds))
    assert len(bounds) - 1 <= parts


@given(first=st.integers(0, 1000), n=st.integers(2000, 100_000), parts=st.integers(2, 8))
def test_split_bounds_are_equal_when_reading_starts_anywhere_for_free(first, n, parts):
    sizes = np.diff(split_bounds(first, n, parts, np.arange(n), decode_share=0.9))
    assert len(sizes) == parts and sizes.max() - sizes.min() <= 2  # each bound rounded


def test_a_worker_that_must_decode_from_an_earlier_key_frame_gets_fewer_frames():
    # frames 100..1100, key frames every 250: the middle (600) is 100 frames past key frame 500
    assert split_bounds(100, 1100, 2, np.array([0, 250, 500, 750, 1000]), decode_share=0.0) == [100, 600, 1100]
    assert split_bounds(100, 1100, 2, np.array([0, 250, 500, 750, 1000]), decode_share=0.2) == [100, 610, 1100]


class _Pool:
    def __init__(self):
        self.submitted = []

    def submit(self, fn, *args):
        self.submitted.append(args[-2:])
        return Future()


def _done(error=None):
    future = Future()
    future.set_exception(error) if error else future.set_result(None)
    return future


def test_handoff_splits_only_once_the_workers_are_ready():
    pool, warming = _Pool(), Future()
    handoff = Handoff(pool, [warming], ("clip", 1, None), 1000, np.arange(1000), min_frames=100)
    assert handoff(0, 0.1) is None and handoff(200, 0.1) is None and not pool.submitted
    warming.set_result(None)
    assert handoff(400, 0.1) == 700
    assert pool.submitted == [(700, 1000)] and handoff.segments == [(700, 1000)]
    assert handoff(401, 0.1) == 700 and len(pool.submitted) == 1  # asked again: the same split


def test_handoff_keeps_everything_when_a_worker_failed_or_too_little_is_left():
    pool = _Pool()
    failed = Handoff(pool, [_done(RuntimeError("no spawn"))], ("clip", 1, None), 1000, np.arange(1000), 100)
    assert failed(10, 0.1) == 1000 and not pool.submitted and failed.segments == []
    late = Handoff(pool, [_done()], ("clip", 1, None), 1000, np.arange(1000), min_frames=100)
    assert late(950, 0.1) == 1000 and not pool.submitted  # 50 frames left: not worth a second process
