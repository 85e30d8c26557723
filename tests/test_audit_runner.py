"""Workers, time limit, crashes, resume and exit codes of `avsync audit`, with fake checkers."""
from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
import audit_helpers  # noqa: E402

from avsync.audit import AuditOptions, run_audit  # noqa: E402
from avsync.audit.store import read_records  # noqa: E402
from avsync.cli.audit import audit as audit_cmd  # noqa: E402


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv("AVSYNC_AUDIT_CHECKER", audit_helpers.FAKE)
    monkeypatch.delenv("AVSYNC_FAKE_SLEEP", raising=False)


def _touch(folder: Path, names: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        p = folder / name
        p.write_bytes(name.encode())  # fake checkers never decode; content only feeds --hash
        paths.append(p)
    return paths


def _by_name(out: Path) -> dict[str, list[dict]]:
    records: dict[str, list[dict]] = {}
    for r in read_records(out / "results.jsonl"):
        records.setdefault(Path(r["file"]).name, []).append(r)
    return records


def test_every_failure_mode_gives_one_record_and_the_batch_goes_on(tmp_path, fake):
    names = ["a.mp4", "b.mp4", "flag_x.mp4", "mismatch_y.mp4", "hang.mp4", "crash.mp4", "killed.mp4", "boom.mp4",
             "c.mp4", "d.mp4"]
    _touch(tmp_path / "in", names)
    started = time.monotonic()
    result = run_audit(AuditOptions([str(tmp_path / "in")], str(tmp_path / "out"), workers=2, time_limit_s=3.0,
                                    quiet=True), log=lambda s: None)
    elapsed = time.monotonic() - started
    recs = _by_name(tmp_path / "out")
    assert sorted(recs) == sorted(names)
    assert all(len(v) == 1 for v in recs.values())
    r = {k: v[0] for k, v in recs.items()}
    for ok in ("a.mp4", "b.mp4", "c.mp4", "d.mp4"):
        assert r[ok]["verdict"] == "in_sync" and r[ok]["error"] is None
    assert r["flag_x.mp4"]["verdict"] == "out_of_sync"
    assert r["mismatch_y.mp4"]["verdict"] == "mismatch"
    assert r["hang.mp4"]["error"]["code"] == "timeout"
    assert r["hang.mp4"]["audit"]["elapsed_s"] >= 3.0
    assert r["crash.mp4"]["error"]["code"] == "worker_crashed" and "exit code 7" in r["crash.mp4"]["error"]["message"]
    assert r["killed.mp4"]["error"]["code"] == "worker_crashed" and "SIGKILL" in r["killed.mp4"]["error"]["message"]
    assert r["boom.mp4"]["error"] == {"code": "internal", "message": "RuntimeError: boom second line"}
    assert elapsed < 60  # the hung video did not hold up the batch for ever
    # records keep the check --json schema, plus id and key
    assert r["a.mp4"]["schema"] == "avsync.report/1"
    assert r["a.mp4"]["id"] == str((tmp_path / "in" / "a.mp4").resolve())
    assert r["a.mp4"]["key"].startswith(r["a.mp4"]["id"] + ":")
    assert result.exit_code == 1
    assert set(result.failing) == {r[n]["id"] for n in ("flag_x.mp4", "mismatch_y.mp4", "hang.mp4", "crash.mp4",
                                                        "killed.mp4", "boom.mp4")}
    assert (tmp_path / "out" / "summary.csv").exists() and (tmp_path / "out" / "report.html").exists()


def test_memory_limit_stops_a_worker_that_grows(tmp_path, fake):
    _touch(tmp_path / "in", ["hog.mp4", "fine.mp4"])
    run_audit(AuditOptions([str(tmp_path / "in")], str(tmp_path / "out"), workers=1, time_limit_s=20,
                           memory_limit_mb=300, quiet=True), log=lambda s: None)
    r = {k: v[0] for k, v in _by_name(tmp_path / "out").items()}
    assert r["hog.mp4"]["error"]["code"] == "out_of_memory"
    assert r["fine.mp4"]["verdict"] == "in_sync"


def test_resume_skips_done_redoes_changed_and_retries_errors_only_when_asked(tmp_path, fake):
    paths = _touch(tmp_path / "in", ["a.mp4", "b.mp4", "boom.mp4"])
    opts = AuditOptions([str(tmp_path / "in")], str(tmp_path / "out"), workers=2, time_limit_s=30, quiet=True)
    first = run_audit(opts, log=lambda s: None)
    assert (first.checked, first.skipped) == (3, 0)
    before = (tmp_path / "out" / "results.jsonl").read_bytes()

    again = run_audit(opts, log=lambda s: None)
    assert (again.checked, again.skipped) == (0, 3)
    assert (tmp_path / "out" / "results.jsonl").read_bytes() == before

    # a changed file (new size and mtime) is checked again; its old record goes away
    paths[0].write_bytes(b"changed content")
    os.utime(paths[0], ns=(time.time_ns(), time.time_ns() + 10**9))
    changed = run_audit(opts, log=lambda s: None)
    assert changed.checked == 1
    recs = _by_name(tmp_path / "out")
    assert all(len(v) == 1 for v in recs.values()) and len(recs) == 3

    # errors stay errors unless --retry-errors; then they are redone, still one record each
    assert run_audit(opts, log=lambda s: None).checked == 0
    paths[2].rename(tmp_path / "in" / "fixed.mp4")  # a new name: a new video
    retried = run_audit(AuditOptions(**{**opts.__dict__, "retry_errors": True}), log=lambda s: None)
    assert retried.checked == 1
    recs = _by_name(tmp_path / "out")
    # boom.mp4's old record is kept (it is no longer among the inputs), fixed.mp4 is new
    assert set(recs) == {"a.mp4", "b.mp4", "boom.mp4", "fixed.mp4"}


def test_retry_errors_redoes_error_records(tmp_path, fake, monkeypatch):
    _touch(tmp_path / "in", ["a.mp4", "boom.mp4"])
    opts = AuditOptions([str(tmp_path / "in")], str(tmp_path / "out"), workers=1, time_limit_s=30, quiet=True)
    run_audit(opts, log=lambda s: None)
    kept_line = [line for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines() if "a.mp4" in line]
    result = run_audit(AuditOptions(**{**opts.__dict__, "retry_errors": True}), log=lambda s: None)
    assert result.checked == 1
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2 and kept_line[0] in lines
    assert Counter(Path(json.loads(line)["file"]).name for line in lines) == {"a.mp4": 1, "boom.mp4": 1}


def test_hash_mode_survives_touch_and_refuses_mixing_modes(tmp_path, fake):
    paths = _touch(tmp_path / "in", ["a.mp4", "b.mp4"])
    opts = AuditOptions([str(tmp_path / "in")], str(tmp_path / "out"), workers=1, content_hash=True, quiet=True)
    run_audit(opts, log=lambda s: None)
    os.utime(paths[0], ns=(time.time_ns(), time.time_ns() + 10**9))
    assert run_audit(opts, log=lambda s: None).checked == 0  # same content: still done
    paths[1].write_bytes(b"other content")
    assert run_audit(opts, log=lambda s: None).checked == 1
    key = read_records(tmp_path / "out" / "results.jsonl")[0]["key"]
    assert key.startswith("sha256:")
    res = CliRunner().invoke(audit_cmd, [str(tmp_path / "in"), "--out", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 3 and "with --hash" in res.output


def test_cli_exit_codes_and_fail_on(tmp_path, fake):
    _touch(tmp_path / "good", ["a.mp4", "b.mp4"])
    _touch(tmp_path / "bad", ["flag_1.mp4"])
    runner = CliRunner()
    res = runner.invoke(audit_cmd, [str(tmp_path / "good"), "--out", str(tmp_path / "o1"), "-q", "-j", "1"])
    assert res.exit_code == 0, res.output
    assert "[2/2] in_sync" in res.output
    res = runner.invoke(audit_cmd, [str(tmp_path / "bad"), "--out", str(tmp_path / "o2"), "-q", "-j", "1"])
    assert res.exit_code == 1
    res = runner.invoke(audit_cmd, [str(tmp_path / "bad"), "--out", str(tmp_path / "o2"), "-q",
                                    "--fail-on", "mismatch,error"])
    assert res.exit_code == 0  # out_of_sync no longer fails the run; nothing is checked again
    res = runner.invoke(audit_cmd, [str(tmp_path / "bad"), "--out", str(tmp_path / "o2"), "--fail-on", "bogus"])
    assert res.exit_code == 64 and "bogus" in res.output
    res = runner.invoke(audit_cmd, [str(tmp_path / "nowhere"), "--out", str(tmp_path / "o3")])
    assert res.exit_code == 3 and "no such file or folder" in res.output and "Traceback" not in res.output
    (tmp_path / "empty").mkdir()
    res = runner.invoke(audit_cmd, [str(tmp_path / "empty"), "--out", str(tmp_path / "o4")])
    assert res.exit_code == 3 and "no videos found" in res.output  # a wrong folder is not a clean audit


def test_unloadable_checker_stops_with_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("AVSYNC_AUDIT_CHECKER", "no_such_module_xyz:check")
    _touch(tmp_path / "in", ["a.mp4", "b.mp4"])
    res = CliRunner().invoke(audit_cmd, [str(tmp_path / "in"), "--out", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 3
    assert "cannot load the checker no_such_module_xyz:check" in res.output
    assert read_records(tmp_path / "out" / "results.jsonl") == []
