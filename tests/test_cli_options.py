"""Every command shares the options and exit codes: a bad manifest is one line and exit 3, a usage
error one line and exit 64, a missing --config-dir folder one line and exit 3."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from avsync.cli.main import cli
from avsync.exit_codes import BAD_INPUT, USAGE

COMMANDS = {  # command -> arguments before the manifest / after it
    "audit": (["audit"], ["--out", "{tmp}/out"]),
    "eval": (["eval"], ["--out", "{tmp}/out"]),
    "lse": (["lse"], []),
    "eval-offsets": (["eval-offsets"], []),
    "calibrate": (["calibrate"], ["--dry-run"]),
    "prepare": (["prepare"], ["--out", "{tmp}/out"]),
}


def _invoke(args, tmp_path):
    result = CliRunner().invoke(cli, [a.replace("{tmp}", str(tmp_path)) for a in args])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return result, lines


@pytest.fixture
def bad_manifest(tmp_path):
    path = tmp_path / "list.jsonl"
    path.write_text(json.dumps({"path": "a.mp4", "label": "real", "split": "dev", "category": "real"}) + "\n"
                    + '{"path": "b.mp4", "label": \n')
    return path


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_bad_manifest_is_one_line_and_exit_3(name, bad_manifest, tmp_path):
    before, after = COMMANDS[name]
    result, lines = _invoke([*before, str(bad_manifest), *after], tmp_path)
    assert result.exit_code == BAD_INPUT, result.output
    assert lines == [f"avsync: error: {bad_manifest}:2: not valid JSON (Expecting value)"]


@pytest.mark.parametrize("name", sorted(COMMANDS) + ["check", "merge", "train"])
def test_usage_errors_exit_64_and_a_missing_config_folder_exits_3(name, tmp_path):
    before = COMMANDS.get(name, ([name], []))[0]
    result, lines = _invoke([*before, "--no-such-option"], tmp_path)
    assert result.exit_code == USAGE and len(lines) == 1 and "usage error: No such option" in lines[0]
    if name != "train":  # train takes no INPUT argument
        result, lines = _invoke(before, tmp_path)
        assert result.exit_code == USAGE and len(lines) == 1 and "Missing argument" in lines[0]
    args = [*before, str(tmp_path)] if name not in ("train",) else before
    result, lines = _invoke([*args, "--config-dir", str(tmp_path / "nowhere")], tmp_path)
    assert result.exit_code == BAD_INPUT and lines == [f"avsync: error: config folder not found: {tmp_path}/nowhere"]


def test_bad_option_values_exit_64(tmp_path):
    for args in (["audit", str(tmp_path), "--out", str(tmp_path / "o"), "--workers", "0"],
                 ["audit", str(tmp_path), "--out", str(tmp_path / "o"), "--shard", "3/2"],
                 ["lse", str(tmp_path), "--time-limit", "-1"],
                 ["check", "x.mp4", "--jobs", "zero"]):
        result, lines = _invoke(args, tmp_path)
        assert result.exit_code == USAGE and len(lines) == 1, (args, result.output)


def test_no_arguments_shows_help_and_exits_64():
    proc = subprocess.run([sys.executable, "-m", "avsync"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == USAGE and "Commands:" in proc.stderr


def test_importing_the_cli_loads_no_model_code():
    code = ("import sys, avsync.cli.main; "
            "print(sorted(m for m in ('torch', 'mediapipe', 'cv2', 'numpy', 'av') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stderr


def test_verbose_is_set_before_the_command_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("AVSYNC_VERBOSE", "")  # recorded, so the test leaves the variable as it found it
    monkeypatch.setenv("GLOG_minloglevel", "2")
    _invoke(["lse", str(tmp_path / "missing"), "--verbose"], tmp_path)
    assert os.environ.get("AVSYNC_VERBOSE") == "1" and "GLOG_minloglevel" not in os.environ


def test_every_command_reads_the_same_clips_from_csv_and_jsonl(tmp_path, monkeypatch):
    import avsync.audit.job
    import avsync.evaluation.manifest
    import avsync.sources

    rows = [{"file": f"v/{n}.mp4", "category": c, "split": "dev", "label": c == "generated" and "fake" or "real",
             "id": n} for n, c in (("a", "real"), ("b", "generated"), ("c", "real"))]
    (tmp_path / "v").mkdir()
    for r in rows:
        (tmp_path / r["file"]).write_bytes(b"x")
    (tmp_path / "m.csv").write_text("file,category,split,label,id\n"
                                    + "".join(",".join(r.values()) + "\n" for r in rows))
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    real, seen = avsync.sources.read_sources, []

    def recording(inputs, **kwargs):
        seen.append(real(inputs, **kwargs))
        raise avsync.sources.SourceError("recorded")  # stop the command before it decodes anything

    for module in (avsync.sources, avsync.evaluation.manifest, avsync.audit.job):
        monkeypatch.setattr(module, "read_sources", recording)
    for name, (before, after) in sorted(COMMANDS.items()):
        got = []
        for manifest in ("m.csv", "m.jsonl"):
            seen.clear()
            result, lines = _invoke([*before, str(tmp_path / manifest), *after], tmp_path)
            assert result.exit_code == BAD_INPUT and lines == ["avsync: error: recorded"], (name, result.output)
            got.append(seen[0])
        assert got[0] == got[1] and [c.id for c in got[0]] == ["a", "b", "c"], name
