import sys

from hypothesis import given, strategies as st

from avsync.frontend.segments import segment_bounds
from avsync.media.malloc import set_mmap_threshold


@given(n=st.integers(2, 100_000), jobs=st.integers(2, 16), head=st.integers(0, 2000))
def test_segments_cover_the_video_and_the_first_is_longest(n, jobs, head):
    bounds = segment_bounds(n, jobs, head)
    assert bounds[0] == 0 and bounds[-1] == n and len(bounds) == jobs + 1
    sizes = [b - a for a, b in zip(bounds[:-1], bounds[1:])]
    assert min(sizes) >= 0
    assert sizes[0] >= max(sizes[1:]) - 1
    assert max(sizes[1:]) - min(sizes[1:]) <= 1


def test_mmap_threshold_is_set_on_glibc_and_off_for_zero():
    assert set_mmap_threshold(0) is False
    if sys.platform.startswith("linux"):
        import platform

        assert set_mmap_threshold(256) is (platform.libc_ver()[0] == "glibc")
