"""What runs inside one audit worker process: load the checker once, then check videos one at a time.

The checker is ``avsync.pipeline:check`` unless the environment variable ``AVSYNC_AUDIT_CHECKER``
names another ``module:function`` with the same signature. That variable is a testing hook: the
tests point it at fake checkers that hang, crash or run out of memory on purpose.
"""
from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time

CHECKER_ENV = "AVSYNC_AUDIT_CHECKER"
DEFAULT_CHECKER = "avsync.pipeline:check"
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def checker_spec() -> str:
    return os.environ.get(CHECKER_ENV) or DEFAULT_CHECKER


def resolve_checker(spec: str):
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{CHECKER_ENV} must look like module:function, got {spec!r}")
    return getattr(importlib.import_module(module_name), attr)


def check_kwargs(spec: str, options: dict) -> dict:
    """Keyword arguments for every checker call: the settings and scorer loaded once per worker."""
    kwargs = {"jobs": 1, "thumbnails": bool(options.get("thumbnails", False))}
    if options.get("protocol_search"):
        kwargs["protocol_search"] = True
    if options.get("config_dir"):
        from avsync.config import Settings

        kwargs["settings"] = Settings.load(options["config_dir"])
    if options.get("model"):
        kwargs["scorer"] = options["model"]
        if spec == DEFAULT_CHECKER:
            from avsync.pipeline import resolve_scorer

            kwargs["scorer"] = resolve_scorer(options["model"])
    return kwargs


def worker_main(conn, threads: int, parent_pid: int, options: dict | None = None) -> None:
    # The main process decides when a worker stops: Ctrl-C or SIGTERM reach it, and it kills us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent(parent_pid)
    for var in THREAD_VARS:
        os.environ.setdefault(var, str(threads))
    spec = checker_spec()
    try:
        check = resolve_checker(spec)
        kwargs = check_kwargs(spec, options or {})
    except Exception as exc:  # report why, once, instead of one error record per video
        conn.send(("fatal", f"cannot load the checker {spec}: {type(exc).__name__}: {_one_line(exc)}"))
        return
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, path, audio = task
        started = time.monotonic()
        try:
            report = check(path, audio=audio, **kwargs)
            record = report.to_dict() if hasattr(report, "to_dict") else dict(report)
            message = ("done", index, record, time.monotonic() - started)
        except MemoryError:
            message = ("failed", index, "out_of_memory", "ran out of memory while checking this video")
        except Exception as exc:
            message = ("failed", index, "internal", f"{type(exc).__name__}: {_one_line(exc)}")
        try:
            conn.send(message)
        except (BrokenPipeError, OSError):
            return


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:500] if text else "(no message)"


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this worker when the audit process dies, even by ``kill -9``."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return  # not Linux: workers still exit when their pipe closes
    if os.getppid() != parent_pid:
        os._exit(0)


def main(argv: list[str]) -> None:
    from multiprocessing.connection import Connection

    fd, threads, parent_pid = (int(a) for a in argv[:3])
    worker_main(Connection(fd), threads, parent_pid, json.loads(argv[3]) if len(argv) > 3 else {})


if __name__ == "__main__":
    main(sys.argv[1:])
