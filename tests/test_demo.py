"""``avsync demo`` as a newcomer runs it: three clips, three verdicts, offsets, pictures."""
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
FRAME_MS = 40.0
# The package under test, whichever folder the command runs from.
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "GLOG_minloglevel": "2"}
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    run = subprocess.run([sys.executable, "-m", "avsync", "demo", "--out", str(out), "--plot"],
                         capture_output=True, text=True, timeout=600, env=ENV, cwd=out.parent)
    return run, out


def rows(stdout: str) -> dict[str, tuple[str, float]]:
    found = {}
    for name, verdict, offset in re.findall(r"^\s+(\w+)\s+(\w+)\s+offset\s+([+-]\d+) ms", stdout, re.M):
        found[name] = (verdict, float(offset))
    return found


def test_demo_exits_zero_and_says_so(demo_run):
    run, _ = demo_run
    assert run.returncode == 0, run.stdout + run.stderr
    assert "all three verdicts as expected" in run.stdout


def test_demo_prints_the_three_verdicts_and_offsets(demo_run):
    found = rows(demo_run[0].stdout)
    assert {name: verdict for name, (verdict, _) in found.items()} == {
        "genuine": "in_sync", "audio_late_300ms": "out_of_sync", "another_voice": "mismatch"}
    assert abs(found["genuine"][1]) <= 1.5 * FRAME_MS
    late = found["audio_late_300ms"][1]
    assert late < 0 and late == pytest.approx(-300, abs=1.5 * FRAME_MS)  # the zero's error, as genuine above
    assert late - found["genuine"][1] == pytest.approx(-300, abs=FRAME_MS)


def test_demo_writes_clips_and_readable_pictures(demo_run):
    _, out = demo_run
    for name in ("genuine", "audio_late_300ms", "another_voice"):
        assert (out / f"{name}.mp4").stat().st_size > 10_000
        picture = (out / f"{name}.png").read_bytes()
        assert picture[:8] == b"\x89PNG\r\n\x1a\n" and len(picture) > 10_000


def test_demo_into_an_uncreatable_folder_is_one_line_and_exit_73(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    run = subprocess.run([sys.executable, "-m", "avsync", "demo", "--out", str(blocker / "sub")],
                         capture_output=True, text=True, timeout=120, env=ENV)
    assert run.returncode == 73
    assert run.stderr.strip().count("\n") == 0 and "cannot create" in run.stderr


def test_a_verdict_that_differs_is_named_and_exits_1(tmp_path, monkeypatch):
    """The exit-code logic alone: the checks answer from a table instead of running the model."""
    from click.testing import CliRunner

    import avsync.pipeline
    from avsync.cli import demo
    from avsync.report import SyncReport

    answers = {"genuine": ("in_sync", 10.0), "audio_late_300ms": ("out_of_sync", -290.0),
               "another_voice": ("in_sync", -20.0)}
    monkeypatch.setattr(demo, "write_clips", lambda out: {name: out / f"{name}.mp4" for name in answers})
    table_scorer = SimpleNamespace(describe=lambda: {"name": "table"})
    monkeypatch.setattr(avsync.pipeline, "resolve_scorer", lambda spec: table_scorer)

    def check(path, **_):
        verdict, offset = answers[Path(path).stem]
        return SyncReport(file=str(path), verdict=verdict, av_offset_ms=offset, confidence=0.1, p_sync=0.5)

    monkeypatch.setattr(avsync.pipeline, "check", check)
    result = CliRunner().invoke(demo.command, ["--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "verdict differs for another_voice (in_sync, expected mismatch)" in result.output
    assert "genuine" in result.output and "all three verdicts as expected" not in result.output
