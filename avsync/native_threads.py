"""One BLAS thread while checking a video.

numpy, scipy and OpenCV each load their own OpenBLAS, which by default starts a thread per core.
avsync spreads a check over processes (the front-end worker) and a thread (the audio), so BLAS's
extra threads find no idle core: they spin after each call and take CPU time from the
front-end, 0.1-0.2 CPU s on a 60 s 360p check on 2 cores, for no gain on matrices this small.
So a check always runs BLAS on one thread, whatever the caller set. Starting the threads at all
costs about 0.1 CPU s per library at import, so the command line also asks for one before numpy
is imported (:func:`cli_defaults`), unless the variable is already set.
"""
from __future__ import annotations

import os


def cli_defaults() -> None:
    """For the ``avsync`` command, before anything imports numpy."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def one_blas_thread():
    """BLAS on one thread in this process: for the duration of a ``with`` block (restored after),
    or for the rest of the process when called alone (a worker process of ours)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")
