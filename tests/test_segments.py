import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from avsync.frontend.segments import segment_bounds


@given(n=st.integers(100, 100_000), jobs=st.integers(2, 16), head=st.integers(0, 2000))
def test_segments_cover_the_video_and_the_first_is_longest(n, jobs, head):
    bounds = segment_bounds(n, jobs, head)
    assert bounds[0] == 0 and bounds[-1] == n and len(bounds) == jobs + 1
    sizes = [b - a for a, b in zip(bounds[:-1], bounds[1:])]
    assert min(sizes) >= 1
    assert sizes[0] >= max(sizes[1:]) - 1
    assert max(sizes[1:]) - min(sizes[1:]) <= 1


@given(n=st.integers(2, 100_000), jobs=st.integers(2, 16), keys=st.lists(st.integers(0, 100_000), max_size=50))
def test_segments_start_only_at_seek_points(n, jobs, keys):
    bounds = segment_bounds(n, jobs, 250, np.array(keys, np.int64))
    assert bounds[0] == 0 and bounds[-1] == n and bounds == sorted(set(bounds))
    assert set(bounds[1:-1]) <= set(keys)
    assert len(bounds) - 1 <= jobs


def test_allocator_settings_apply_on_glibc_and_zero_leaves_them():
    import platform
    import sys

    from avsync.memory import heap_for_compute, mmap_frame_buffers

    assert mmap_frame_buffers(0) is False
    on_glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert mmap_frame_buffers(1024) is on_glibc
    assert heap_for_compute() is on_glibc
