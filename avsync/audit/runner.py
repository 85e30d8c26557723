"""Run the checker over many videos in worker processes; every video ends in exactly one record.

Each worker gets one video at a time. The main process watches the clock and the workers: a
video that runs past the time limit, a worker that dies (segfault, ``os._exit``, the kernel's
OOM killer) or grows past the memory limit gets an ``error`` record, the worker is replaced and
the batch goes on.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from multiprocessing.connection import Connection, wait
from typing import Callable

from avsync.report import SyncReport
from avsync.sources import Clip

MIN_STARTUP_S = 60.0  # a worker must load the checker within max(time limit, this)
POLL_S = 0.5


class CheckerUnavailable(RuntimeError):
    """The workers cannot load or start the checker at all; checking more videos is pointless."""


@dataclass
class RunnerOptions:
    workers: int
    time_limit_s: float
    memory_limit_mb: float = 0.0
    threads_per_worker: int = 1
    worker_log: str | None = None  # workers' stderr (native library chatter) goes here, not over the progress bar
    # How each worker calls the checker: ``model`` (a --model spec), ``config_dir``, ``thumbnails``.
    check_options: dict = field(default_factory=dict)


@dataclass
class _Slot:
    process: subprocess.Popen
    conn: Connection
    started: float
    ready: bool = False
    task: tuple[int, Clip] | None = None
    task_started: float = 0.0


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def run_items(items: list[Clip], options: RunnerOptions, on_record: Callable[[int, dict], None]) -> None:
    """Check ``items``; call ``on_record(index, record)`` in the main process once per item."""
    if not items:
        return
    pending = deque(enumerate(items))
    slots: list[_Slot] = []
    startup_limit = max(options.time_limit_s, MIN_STARTUP_S)

    def spawn() -> _Slot:
        # A fresh interpreter (not fork, not multiprocessing's spawn): nothing of this process's
        # state, threads or __main__ module leaks into the worker.
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        log = open(options.worker_log, "ab") if options.worker_log else None
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "avsync.audit.worker", str(theirs.fileno()), str(options.threads_per_worker),
                 str(os.getpid()), json.dumps(options.check_options)],
                pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL, stdout=log or subprocess.DEVNULL,
                stderr=log)
        finally:
            theirs.close()
            if log:
                log.close()
        return _Slot(proc, Connection(ours.detach()), started=time.monotonic())

    def finish(slot: _Slot, record: dict) -> None:
        index, _ = slot.task
        slot.task = None
        on_record(index, record)

    def fail(slot: _Slot, code: str, message: str) -> None:
        index, item = slot.task
        finish(slot, error_record(item, code, message, time.monotonic() - slot.task_started))

    def replace(slot: _Slot) -> None:
        _kill(slot)
        slots.remove(slot)  # the main loop starts a fresh worker if videos are left

    try:
        for _ in range(min(options.workers, len(items))):
            slots.append(spawn())
        while pending or _busy(slots):
            for slot in slots:
                if slot.ready and slot.task is None and pending:
                    slot.task = pending.popleft()
                    slot.task_started = time.monotonic()
                    index, item = slot.task
                    try:
                        slot.conn.send((index, item.video, item.audio))
                    except OSError:  # the worker died while idle: the video goes back in the queue
                        pending.appendleft(slot.task)
                        slot.task = None
            while len(slots) < min(options.workers, len(pending) + _busy(slots)):
                slots.append(spawn())
            wait([s.conn for s in slots], timeout=_timeout(slots, options))  # a dead worker's socket reads EOF
            now = time.monotonic()
            for slot in list(slots):
                gone = False
                if slot.conn.poll():
                    try:
                        message = slot.conn.recv()
                    except (EOFError, OSError):
                        gone = True  # the socket closed: the worker is gone even if poll() lags
                    else:
                        _handle(slot, message, finish, fail)
                        continue
                if gone or slot.process.poll() is not None:
                    _reap(slot.process)
                    if not slot.ready:
                        raise CheckerUnavailable(f"an audit worker died while starting ({_exit_text(slot.process)})"
                                                 + (f"; see {options.worker_log}" if options.worker_log else ""))
                    if slot.task is not None:
                        fail(slot, "worker_crashed", f"the worker checking this video died ({_exit_text(slot.process)})")
                    replace(slot)
                elif not slot.ready and now - slot.started > startup_limit:
                    raise CheckerUnavailable(f"an audit worker did not load the checker within {startup_limit:g} s")
                elif slot.task is not None and now - slot.task_started > options.time_limit_s:
                    fail(slot, "timeout", f"stopped after the time limit of {options.time_limit_s:g} s")
                    replace(slot)
                elif slot.task is not None and options.memory_limit_mb > 0:
                    rss = _rss_mb(slot.process.pid)
                    if rss > options.memory_limit_mb:
                        fail(slot, "out_of_memory",
                             f"the worker used {rss:.0f} MiB, over the memory limit of {options.memory_limit_mb:g} MiB")
                        replace(slot)
        for slot in slots:
            try:
                slot.conn.send(None)
            except OSError:
                pass
        for slot in slots:
            _reap(slot.process)
    finally:
        for slot in slots:
            _kill(slot)


def _handle(slot: _Slot, message: tuple, finish, fail) -> None:
    kind = message[0]
    if kind == "ready":
        slot.ready = True
    elif kind == "fatal":
        raise CheckerUnavailable(message[1])
    elif kind == "done" and slot.task is not None:
        _, _, record, elapsed = message
        index, item = slot.task
        finish(slot, _stamp(record, item, elapsed))
    elif kind == "failed" and slot.task is not None:
        fail(slot, message[2], message[3])


def _busy(slots: list[_Slot]) -> int:
    return sum(1 for s in slots if s.task is not None)


def _timeout(slots: list[_Slot], options: RunnerOptions) -> float:
    now = time.monotonic()
    deadlines = [s.task_started + options.time_limit_s - now for s in slots if s.task is not None]
    soonest = min(deadlines, default=POLL_S)
    if options.memory_limit_mb > 0:
        soonest = min(soonest, POLL_S)
    return max(0.01, min(soonest + 0.01, 5.0))


def _kill(slot: _Slot) -> None:
    if slot.process.poll() is None:
        slot.process.kill()
    _reap(slot.process)
    try:
        slot.conn.close()
    except OSError:
        pass


def _reap(proc: subprocess.Popen) -> None:
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _exit_text(proc: subprocess.Popen) -> str:
    code = proc.returncode
    if code is None:
        return "it stopped answering"
    if code < 0:
        name = signal.Signals(-code).name
        if -code == signal.SIGKILL:
            return f"killed by {name}, often the kernel's out-of-memory killer"
        return f"killed by {name}"
    return f"exit code {code}"


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _stamp(record: dict, item: Clip, elapsed: float) -> dict:
    record = dict(record)
    record["id"] = item.id
    record.setdefault("file", item.video)
    record["audit"] = {"elapsed_s": round(elapsed, 3),
                       "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    return record


def error_record(item: Clip, code: str, message: str, elapsed: float = 0.0) -> dict:
    report = SyncReport.failure(item.video, code, message, audio=item.audio)
    return _stamp(report.to_dict(), item, elapsed)
