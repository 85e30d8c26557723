"""glibc allocator settings that keep memory flat whatever the video's length.

Every decoded 720p frame is a fresh 2.7 MB buffer. Under glibc's dynamic mmap threshold these
move into the heap after the first one is freed, and the heap grows in a sawtooth: a 10-minute
720p check swung between 0.5 and 2.2 GB per process. A fixed threshold below the frame size
(512 KB, under a 720p grey frame's 900 KB) puts each frame in its own mapping, returned to the
system when freed (250 MB flat in the same run). Scoring
afterwards wants the opposite (its activations run 45% slower when each one is mmapped), so
after the front-end allocations up to 32 MB come from the heap again, and free heap memory is
handed back after each inference batch (without it, embedding 10 minutes of windows peaked 0.45 GB
above 1 minute's; with it 0.09 GB).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

_M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
_M_MMAP_THRESHOLD = -3


@functools.lru_cache(maxsize=1)
def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def _mallopt(param: int, value: int) -> bool:
    mallopt = getattr(_libc(), "mallopt", None)  # musl has none
    return bool(mallopt is not None and mallopt(param, int(value)) == 1)


def release_free_memory() -> bool:
    """Return free heap pages of every arena to the system (glibc's malloc_trim)."""
    trim = getattr(_libc(), "malloc_trim", None)
    return bool(trim is not None and trim(0) == 1)


def mmap_frame_buffers(kb: int) -> bool:
    """Serve allocations of at least ``kb`` KiB with their own mappings (0: leave glibc's default)."""
    return kb > 0 and _mallopt(_M_MMAP_THRESHOLD, kb * 1024)


def heap_for_compute() -> bool:
    """Undo :func:`mmap_frame_buffers` for model inference: heap up to 32 MB, trimmed above 32 MB."""
    return _mallopt(_M_MMAP_THRESHOLD, 32 << 20) and _mallopt(_M_TRIM_THRESHOLD, 32 << 20)
