"""kill -9 (and Ctrl-C) of the whole audit process tree mid-run; a rerun finishes the job."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import audit_helpers  # noqa: E402

from avsync.audit.store import read_records  # noqa: E402

N = 14


def _env(sleep: float) -> dict:
    env = dict(os.environ)
    env["AVSYNC_AUDIT_CHECKER"] = audit_helpers.FAKE
    env["AVSYNC_FAKE_SLEEP"] = str(sleep)
    env["PYTHONPATH"] = os.pathsep.join([str(audit_helpers.HERE), str(audit_helpers.REPO), env.get("PYTHONPATH", "")])
    return env


def _cmd(src: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "avsync", "audit", str(src), "--out", str(out), "-q", "-j", "2",
            "--time-limit", "120"]


def _interrupt_midway(tmp_path: Path, sig: int) -> tuple[Path, Path, int]:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(N):
        (src / f"v{i:02d}.mp4").write_bytes(b"x" * i)
    # a shell's background job (`pytest ... &`) starts with SIGINT ignored, and children inherit that
    proc = subprocess.Popen(_cmd(src, out), env=_env(0.4), start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    results = out / "results.jsonl"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if results.exists() and results.read_bytes().count(b"\n") >= 3:
            break
        if proc.poll() is not None:
            pytest.fail(f"audit ended early: {proc.stderr.read().decode()}")
        time.sleep(0.05)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("audit wrote no records in time")
    os.killpg(proc.pid, sig)  # the audit and its workers share this process group
    code = proc.wait(30)
    proc.stderr.close()
    return src, out, code


def _rerun_and_check(src: Path, out: Path, before: bytes) -> None:
    done = subprocess.run(_cmd(src, out), env=_env(0), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    after = (out / "results.jsonl").read_bytes()
    assert after.startswith(before)  # earlier records unchanged, byte for byte
    names = Counter(Path(r["file"]).name for r in read_records(out / "results.jsonl"))
    assert names == Counter({f"v{i:02d}.mp4": 1 for i in range(N)})  # every file exactly once


def test_sigkill_of_the_process_tree_then_rerun_finishes_exactly_once(tmp_path):
    src, out, code = _interrupt_midway(tmp_path, signal.SIGKILL)
    assert code == -signal.SIGKILL
    results = out / "results.jsonl"
    before = results.read_bytes()
    assert 3 <= before.count(b"\n") < N
    # what a kill in the middle of a write leaves behind: a torn last line
    with open(results, "ab") as fh:
        fh.write(b'{"schema": "avsync.report/1", "file": "v13.mp4", "verd')
    _rerun_and_check(src, out, before)


def test_ctrl_c_stops_cleanly_and_a_rerun_finishes(tmp_path):
    src, out, code = _interrupt_midway(tmp_path, signal.SIGINT)
    assert code == 130
    before = (out / "results.jsonl").read_bytes()
    _rerun_and_check(src, out, before)
