"""The command line: summaries, JSON, plots, exit codes, and one-line errors for bad input."""
import json
import subprocess
import sys

import pytest

from avsync.testing import make_talking_clip


def run(*args):
    proc = subprocess.run([sys.executable, "-m", "avsync.cli.main", *map(str, args)] if False else
                          [sys.executable, "-c", "from avsync.cli.main import main; main()", *map(str, args)],
                          capture_output=True, text=True, timeout=300)
    return proc


def assert_one_line_error(proc, code):
    assert proc.returncode == 3, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.startswith("avsync:") or "Traceback" in l]
    assert lines and all(l.startswith("avsync: error:") for l in lines), proc.stderr
    assert len(lines) == 1
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory, synthetic_clips):
    root = tmp_path_factory.mktemp("bad")
    (root / "empty.mp4").write_bytes(b"")
    (root / "notes.mp4").write_text("not a video at all\n" * 50)
    good = synthetic_clips["matched"].read_bytes()
    (root / "truncated.mp4").write_bytes(good[: len(good) // 2])
    (root / "garbage.mp4").write_bytes(bytes(range(256)) * 200)
    (root / "folder").mkdir()
    return {
        "missing": (root / "absent.mp4", "not_found"),
        "directory": (root / "folder", "is_directory"),
        "empty": (root / "empty.mp4", "empty_file"),
        "text": (root / "notes.mp4", "not_media"),
        "truncated": (root / "truncated.mp4", "corrupt"),
        "garbage": (root / "garbage.mp4", "not_media"),
        "no_audio": (synthetic_clips["silent_video"], "no_audio"),
        "no_video": (synthetic_clips["wav"], "no_video"),
    }


@pytest.mark.parametrize("case", ["missing", "directory", "empty", "text", "truncated", "garbage", "no_audio", "no_video"])
def test_bad_input_gives_one_line_and_exit_3(bad_inputs, case):
    path, code = bad_inputs[case]
    proc = run("check", path, "--model", "baseline")
    assert_one_line_error(proc, code)
    proc = run("check", path, "--model", "baseline", "--json")
    assert proc.returncode == 3
    report = json.loads(proc.stdout)
    assert report["verdict"] == "error"
    assert report["error"]["code"] == code, report["error"]


def test_summary_json_and_plot(synthetic_clips, tmp_path):
    plot = tmp_path / "why.png"
    # the baseline's calibrated offset error (about ±190 ms on real footage) leaves a 200 ms delay
    # flagged or undecided, and a matched clip passed or undecided: never the other way round
    proc = run("check", synthetic_clips["delayed"], "--model", "baseline", "--plot", plot)
    assert proc.returncode in (1, 2), proc.stdout + proc.stderr
    assert "in_sync" not in proc.stdout.splitlines()[0] and "ms (" in proc.stdout
    assert plot.stat().st_size > 10_000
    proc = run("check", synthetic_clips["matched"], "--model", "baseline", "--json")
    assert proc.returncode in (0, 2)
    assert json.loads(proc.stdout)["verdict"] in ("in_sync", "inconclusive")


def test_tolerance_is_configurable(synthetic_clips):
    strict = json.loads(run("check", synthetic_clips["delayed"], "--model", "baseline", "--json").stdout)
    proc = run("check", synthetic_clips["delayed"], "--model", "baseline", "--late-ms", "300", "--json")
    loose = json.loads(proc.stdout)
    assert strict["verdict"] != "in_sync" and loose["tolerance"]["audio_late_ms"] == 300.0
    assert loose["verdict"] in ("in_sync", "inconclusive") and proc.returncode in (0, 2)
    assert loose["verdict_reason"] != "offset_near_tolerance"  # -200 ms now lies inside


def test_unknown_model_is_a_one_line_error(synthetic_clips):
    assert_one_line_error(run("check", synthetic_clips["matched"], "--model", "nonsense"), "bad_model")


@pytest.mark.parametrize("fps", [24.0, 29.97, 30.0, 60.0])
def test_frame_rates(tmp_path, fps):
    import avsync

    clip = make_talking_clip(tmp_path / f"clip{fps}.mp4", seconds=5, fps=fps, seed=3, audio_delay_s=0.2)
    ref = make_talking_clip(tmp_path / f"ref{fps}.mp4", seconds=5, fps=fps, seed=3)
    delayed, matched = avsync.check(clip, scorer="baseline", jobs=1), avsync.check(ref, scorer="baseline", jobs=1)
    assert delayed.fps == pytest.approx(fps, rel=1e-3)
    analysed_ms = 1000.0 / (fps / 2 if fps > 40 else fps)
    assert delayed.av_offset_ms - matched.av_offset_ms == pytest.approx(-200, abs=1.5 * analysed_ms)
    assert delayed.av_offset_frames == pytest.approx(delayed.av_offset_ms * fps / 1000, abs=1)


def test_a_mismatch_says_how_far_the_search_reached():
    """Audio 3 s late, beyond check's ±2 s, reads like another voice: the text says so."""
    from avsync.cli.check import summary
    from avsync.report import SyncReport

    flagged = SyncReport(file="late.mp4", verdict="mismatch", verdict_reason="low_confidence")
    assert "audio more than 2000 ms off: --max-offset-ms" in summary(flagged, 2000.0)
    assert "--max-offset-ms" not in summary(SyncReport(file="ok.mp4", verdict="in_sync"), 2000.0)
