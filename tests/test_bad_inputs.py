"""Issue 12's twelve bad or unusual inputs, plus partly damaged files: each is built here, run through
``python -m avsync``, and must end with a documented exit code, one stderr line, no traceback and
the right error code or verdict.

Cases that need a read-only mount or a full disk mount a small tmpfs, and skip when mounting is
not allowed. A permission-denied file cannot be made for root, who reads any file: that case runs
as a subprocess only for other users, and in-process (``open`` patched to raise EACCES) for root.
"""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import shutil

import numpy as np

import pytest

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command (apt-get install ffmpeg)")


def require_ffmpeg():
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs the ffmpeg command (apt-get install ffmpeg)")

from avsync import exit_codes
from avsync.testing import make_talking_clip

REPO = Path(__file__).resolve().parents[1]
HELPERS = Path(__file__).resolve().parent
BASELINE = ("--model", "default")  # the shipped model: the stage under test is the input


def run(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "avsync", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env=env)


def stderr_lines(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.strip()]


def assert_one_line(proc, code: int, starts: str = "avsync: error:", contains: str = "") -> str:
    """The exit code, no traceback, and one stderr line of ours. Native libraries' log lines
    (MediaPipe, TensorFlow Lite) are issue 12's case 10, silenced on the speed branch: until it is
    merged they make the test an expected failure once everything else has passed."""
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.returncode == code, proc.stderr
    lines = stderr_lines(proc)
    ours = [line for line in lines if line.startswith("avsync")]
    assert len(ours) == 1 and ours[0].startswith(starts) and contains in ours[0], proc.stderr
    if len(lines) > 1:
        pytest.xfail(f"one stderr line needs the speed branch; native log line: {lines[0][:80]}")
    return ours[0]


def assert_one_error_line(proc, code: int, prefix: str = "avsync: error:") -> str:
    """An audit logs its progress lines too; exactly one line is the error, and it is the last."""
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.returncode == code, proc.stderr
    errors = [line for line in stderr_lines(proc) if "error" in line.lower() and not line.startswith("[")]
    assert len(errors) == 1 and errors[0].startswith(prefix), proc.stderr
    assert stderr_lines(proc)[-1] == errors[0]
    return errors[0]


def check_json(*args, **kw):
    proc = run("check", *args, "--json", *BASELINE, **kw)
    return proc, json.loads(proc.stdout) if proc.stdout.strip() else None


def audit_env(checker: str = "audit_helpers:media_check") -> dict:
    env = dict(os.environ)
    env["AVSYNC_AUDIT_CHECKER"] = checker
    env["PYTHONPATH"] = os.pathsep.join([str(HELPERS), str(REPO), env.get("PYTHONPATH", "")])
    return env


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]


class Tmpfs:
    """A small tmpfs mounted for one test, or a skip where this machine does not allow mounting."""

    def __init__(self, where: Path, size_kb: int, read_only: bool = False):
        self.where = where
        where.mkdir(parents=True, exist_ok=True)
        opts = f"size={size_kb}k" + (",ro" if read_only else "")
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode(errors='replace').strip()}")

    def __enter__(self):
        return self.where

    def __exit__(self, *exc):
        subprocess.run(["umount", "-l", str(self.where)], capture_output=True)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad_inputs")
    matched = make_talking_clip(root / "matched.mp4", seed=1, wav_path=root / "matched.wav")
    return {"root": root, "matched": matched, "wav": root / "matched.wav",
            "silent": make_talking_clip(root / "silent.mp4", seed=1, with_audio=False)}


@pytest.fixture(scope="module")
def clean_run(clips):
    """A clean check of the in-sync clip, kept for the stderr check of case 10."""
    return check_json(clips["matched"])


# 1 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["proc", "missing_folder"])
def test_01_unwritable_plot_still_prints_the_verdict(clips, tmp_path, where):
    target = "/proc/avsync-x.png" if where == "proc" else tmp_path / "no" / "such" / "why.png"
    proc, report = check_json(clips["matched"], "--plot", target)
    assert report["verdict"] == "in_sync"
    assert_one_line(proc, exit_codes.CANT_CREATE, contains=str(target))


def test_01_plot_of_a_file_whose_name_is_not_utf8(clips, tmp_path):
    """The name's lone surrogates (Python's surrogateescape) reached matplotlib's title: a traceback."""
    odd = tmp_path / os.fsdecode(b"caf\xe9.mp4")
    odd.write_bytes(clips["matched"].read_bytes())
    plot = tmp_path / "why.png"
    proc, report = check_json(odd, "--plot", plot)
    assert proc.returncode == exit_codes.OK and "Traceback" not in proc.stderr, proc.stderr
    assert report["file"] == str(odd) and plot.stat().st_size > 0


# 2 ---------------------------------------------------------------------------------------------
@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file; the in-process test covers root")
def test_02_permission_denied_file(clips, tmp_path):
    locked = tmp_path / "locked.mp4"
    locked.write_bytes(clips["matched"].read_bytes())
    locked.chmod(0)
    proc, report = check_json(locked)
    assert report["error"]["code"] == "permission_denied"
    assert_one_line(proc, exit_codes.BAD_INPUT)


def test_02_permission_denied_in_process(clips, monkeypatch):
    import builtins

    import avsync

    real_open = builtins.open
    target = str(clips["matched"])

    def denying_open(file, *args, **kwargs):
        if str(file) == target:
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", denying_open)
    report = avsync.check(target, scorer="baseline", jobs=1)
    assert report.verdict == "error" and report.error["code"] == "permission_denied"
    assert report.exit_code == exit_codes.BAD_INPUT


@pytest.mark.parametrize("args", [("check",), ("check", "x.mp4", "--jobs", "many"), ("check", "x.mp4", "--nope")])
def test_02_usage_errors_exit_64(args):
    proc = run(*args, timeout=60)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == exit_codes.USAGE, proc.stderr
    assert any("error" in line.lower() for line in stderr_lines(proc))


def test_02_check_given_several_files_points_to_audit():
    proc = run("check", "a.mp4", "b.mp4", timeout=60)
    assert proc.returncode == exit_codes.USAGE, proc.stderr
    line, = stderr_lines(proc)
    assert "(b.mp4)" in line and "`avsync audit FILE...`" in line


# 3 ---------------------------------------------------------------------------------------------
def test_03_audit_out_under_a_regular_file(clips, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run("audit", clips["matched"], "--out", blocker / "results", "--no-progress", env=audit_env())
    line = assert_one_error_line(proc, exit_codes.CANT_CREATE)
    assert str(blocker / "results") in line


def test_03_audit_out_on_a_read_only_mount(clips, tmp_path):
    with Tmpfs(tmp_path / "ro", 256, read_only=True) as ro:
        proc = run("audit", clips["matched"], "--out", ro / "results", "--no-progress", env=audit_env())
    line = assert_one_error_line(proc, exit_codes.CANT_CREATE)
    assert "Read-only" in line


# 4 ---------------------------------------------------------------------------------------------
def _tiny_videos(folder: Path, count: int) -> None:
    sys.path.insert(0, str(HELPERS))
    from audit_helpers import write_clip

    folder.mkdir()
    first = write_clip(folder / "v00.mp4", seconds=0.2, size=(32, 24))
    for n in range(1, count):
        (folder / f"v{n:02d}.mp4").write_bytes(first.read_bytes())


def test_04_disk_full_stops_cleanly_and_a_rerun_finishes(tmp_path):
    videos = tmp_path / "videos"
    _tiny_videos(videos, 30)
    with Tmpfs(tmp_path / "small", 1024) as disk:
        filler = disk / "filler"
        filler.write_bytes(b"\0" * (1024 - 16) * 1024)  # leaves room for a few records only
        out = disk / "results"
        proc = run("audit", videos, "--out", out, "--no-progress", "--workers", "1",
                   env=audit_env("audit_helpers:fake_check"))
        line = assert_one_error_line(proc, exit_codes.IO_ERROR)
        assert "disk is full" in line
        first = records(out)  # every line written is whole
        assert len(first) < 30
        filler.unlink()
        again = run("audit", videos, "--out", out, "--no-progress", "--workers", "1",
                    env=audit_env("audit_helpers:fake_check"))
        assert again.returncode == exit_codes.OK, again.stderr
        assert len({r["id"] for r in records(out)}) == 30 == len(records(out))


def test_04_disk_full_in_process(tmp_path, monkeypatch):
    """The same stop without a mount: os.write raises ENOSPC part way through a record."""
    from avsync.audit import store as store_module

    store = store_module.ResultStore(tmp_path / "out")
    store.open("stat")
    store.append({"id": "a", "verdict": "in_sync"})
    real_write = os.write

    def half_then_full(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module.os, "write", half_then_full)
    with pytest.raises(store_module.WriteFailed, match="disk is full"):
        store.append({"id": "b", "verdict": "in_sync"})
    monkeypatch.undo()
    store.close()
    assert [r["id"] for r in store_module.read_records(tmp_path / "out" / "results.jsonl")] == ["a"]
    assert (tmp_path / "out" / "results.jsonl").read_bytes().endswith(b"\n")


# 5 ---------------------------------------------------------------------------------------------
def test_05_audit_hash_skips_fifos_and_goes_on(tmp_path):
    videos = tmp_path / "videos"
    _tiny_videos(videos, 2)
    os.mkfifo(videos / "pipe.mp4")
    out = tmp_path / "out"
    proc = run("audit", videos, "--out", out, "--hash", "--no-progress", env=audit_env(), timeout=120)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == exit_codes.FLAGGED, proc.stderr  # an error record counts as failing
    by_name = {Path(r["file"]).name: r for r in records(out)}
    assert by_name["pipe.mp4"]["error"]["code"] == "not_a_regular_file"
    assert by_name["v00.mp4"]["verdict"] == by_name["v01.mp4"]["verdict"] == "in_sync"


def test_05_sigterm_stops_the_audit(tmp_path):
    videos = tmp_path / "videos"
    _tiny_videos(videos, 1)
    os.mkfifo(videos / "pipe.mp4")
    (videos / "v00.mp4").rename(videos / "hang.mp4")  # the fake checker never answers for it
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "avsync", "audit", str(videos), "--out", str(out), "--hash",
                             "--no-progress"], cwd=REPO, env=audit_env("audit_helpers:fake_check"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out / "results.jsonl").exists():
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == exit_codes.INTERRUPTED, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in [line for line in stderr.splitlines() if line.strip()][-1]


# 6 ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_streams(clips):
    """Audio stream 0 is 400 ms late; stream 1, marked default, is in sync."""
    require_ffmpeg()
    root = clips["root"]
    late = make_talking_clip(root / "late.mp4", seed=1, audio_delay_s=0.4)
    both = root / "two_streams.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(late), "-i", str(clips["matched"]),
                    "-map", "1:v", "-map", "0:a", "-map", "1:a", "-c", "copy",
                    "-disposition:a:0", "0", "-disposition:a:1", "default", str(both)], check=True)
    return both


def test_06_default_audio_stream_is_used(two_streams):
    proc, report = check_json(two_streams)
    assert proc.returncode == exit_codes.OK, proc.stderr
    assert report["verdict"] == "in_sync" and report["audio_stream"] == 1


def test_06_audio_stream_option_picks_another(two_streams):
    proc, report = check_json(two_streams, "--audio-stream", "0")
    assert proc.returncode == exit_codes.FLAGGED, proc.stderr
    assert report["audio_stream"] == 0 and report["av_offset_ms"] == pytest.approx(-400, abs=60)
    proc, report = check_json(two_streams, "--audio-stream", "5")
    assert report["error"]["code"] == "no_such_audio_stream"
    assert_one_line(proc, exit_codes.BAD_INPUT)


@needs_ffmpeg
def test_06_channels_in_opposite_phase_are_heard_one_at_a_time(clips, clean_run):
    """Right = -left: a stereo player plays the speech, the mono downmix cancels it (it read
    no_speech). The channel alone gives the in-phase clip's reading."""
    flipped = clips["root"] / "opposite_phase.mov"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clips["matched"]), "-af", "pan=stereo|c0=c0|c1=-1*c0",
                    "-c:v", "copy", "-c:a", "pcm_s16le", str(flipped)], check=True)
    proc, report = check_json(flipped)
    _, original = clean_run
    assert proc.returncode == exit_codes.OK, proc.stderr
    assert report["verdict"] == original["verdict"] == "in_sync" and report["audio_channel"] == 0
    assert report["av_offset_ms"] == pytest.approx(original["av_offset_ms"], abs=5)
    assert original["audio_channel"] is None


# 7 ---------------------------------------------------------------------------------------------
def test_07_music_is_no_speech(clips):
    import soundfile

    from test_features import music

    song = clips["root"] / "song.wav"
    soundfile.write(str(song), music(6.0), 16000)
    proc, report = check_json(clips["silent"], "--audio", song)
    assert proc.returncode == exit_codes.UNDECIDED, proc.stderr
    assert report["verdict"] == "no_speech" and report["audio_channel"] is None
    # the face was found: the report lists its track, unscored
    assert [(t["verdict"], t["av_offset_ms"]) for t in report["tracks"]] == [("no_speech", None)]


@needs_ffmpeg
def test_07_music_in_stereo_is_no_speech(clips):
    """No channel has speech either: the verdict stays no_speech."""
    import soundfile

    from test_features import music

    song = clips["root"] / "song_stereo.wav"
    soundfile.write(str(song), np.stack([music(6.0), -music(6.0, seed=1)], axis=1), 16000)
    proc, report = check_json(clips["silent"], "--audio", song)
    assert proc.returncode == exit_codes.UNDECIDED, proc.stderr
    assert report["verdict"] == "no_speech" and report["audio_channel"] is None


# 8 ---------------------------------------------------------------------------------------------
@needs_ffmpeg
def test_08_five_fps_is_inconclusive(clips):
    slow = clips["root"] / "five_fps.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clips["matched"]), "-r", "5", "-c:a", "copy",
                    str(slow)], check=True)
    proc, report = check_json(slow)
    if report["verdict"] != "inconclusive":
        pytest.xfail("needs the verdict branch: a minimum frame rate")
    assert proc.returncode == exit_codes.UNDECIDED
    assert report["av_offset_ms"] is None or abs(report["av_offset_ms"]) <= 2000


# 9 ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mp3(clips):
    require_ffmpeg()
    path = clips["root"] / "voice.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clips["wav"]), "-c:a", "libmp3lame", "-b:a", "64k",
                    str(path)], check=True)
    return path


def test_09_mp3_that_is_mostly_random_bytes_is_an_error(clips, mp3):
    bad = clips["root"] / "bad.mp3"
    noise = np.random.default_rng(0).integers(0, 256, 60_000, dtype=np.uint8).tobytes()
    bad.write_bytes(mp3.read_bytes()[:3000] + noise)
    proc, report = check_json(clips["silent"], "--audio", bad)
    assert report["error"]["code"] == "corrupt"
    assert_one_line(proc, exit_codes.BAD_INPUT)


def test_09_mp3_damaged_in_the_middle_warns(clips, mp3):
    data = bytearray(mp3.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 1500] = np.random.default_rng(1).integers(0, 256, 1500, dtype=np.uint8).tobytes()
    damaged = clips["root"] / "damaged.mp3"
    damaged.write_bytes(bytes(data))
    proc, report = check_json(clips["silent"], "--audio", damaged)
    assert report["audio_decode_errors"] >= 1 and report["verdict"] != "error"
    assert_one_line(proc, exit_codes.VERDICT_EXIT_CODES[report["verdict"]], "avsync: warning:",
                    f"1 audio packet(s) of {damaged.name}")


# 10 --------------------------------------------------------------------------------------------
def test_10_clean_run_is_silent(clean_run):
    proc, report = clean_run
    assert report["verdict"] == "in_sync" and proc.returncode == exit_codes.OK
    if proc.stderr.strip():
        pytest.xfail("needs the speed branch (native log lines silenced): " + stderr_lines(proc)[0][:80])
    assert proc.stderr == ""


# 11 --------------------------------------------------------------------------------------------
def test_11_missing_config_dir(clips, tmp_path):
    proc = run("check", clips["matched"], "--config-dir", tmp_path / "nonexistent")
    assert_one_line(proc, exit_codes.BAD_INPUT, contains="nonexistent")


# 12 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "/dev/urandom"])
def test_12_not_a_regular_file(tmp_path, kind):
    target = Path(kind)
    if kind == "fifo":
        target = tmp_path / "pipe.mp4"
        os.mkfifo(target)
    proc, report = check_json(target, timeout=120)
    assert report["error"]["code"] == "not_a_regular_file"
    assert_one_line(proc, exit_codes.BAD_INPUT)


def test_12_fifo_and_device_given_to_audit_are_records(tmp_path):
    videos = tmp_path / "videos"
    _tiny_videos(videos, 1)
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    out = tmp_path / "out"
    proc = run("audit", fifo, "/dev/zero", videos / "v00.mp4", "--out", out, "--no-progress", env=audit_env(), timeout=120)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == exit_codes.FLAGGED, proc.stderr
    by_file = {r["file"]: r for r in records(out)}
    assert by_file[str(fifo)]["error"]["code"] == "not_a_regular_file"
    assert by_file["/dev/zero"]["error"]["code"] == "not_a_regular_file"
    assert by_file[str(videos / "v00.mp4")]["verdict"] == "in_sync"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file")
def test_12_permission_denied_in_an_audit(tmp_path):
    videos = tmp_path / "videos"
    _tiny_videos(videos, 2)
    (videos / "v00.mp4").chmod(0)
    out = tmp_path / "out"
    proc = run("audit", videos, "--out", out, "--no-progress", env=audit_env(), timeout=120)
    assert proc.returncode == exit_codes.FLAGGED, proc.stderr
    by_name = {Path(r["file"]).name: r for r in records(out)}
    assert by_name["v00.mp4"]["error"]["code"] == "permission_denied"
    assert by_name["v01.mp4"]["verdict"] == "in_sync"


# partly damaged video ---------------------------------------------------------------------------
def test_video_damaged_in_the_middle_is_checked_with_a_warning(clips):
    data = bytearray(clips["matched"].read_bytes())
    start = int(len(data) * 0.4)
    data[start:start + len(data) // 20] = np.random.default_rng(0).integers(0, 256, len(data) // 20,
                                                                         dtype=np.uint8).tobytes()
    damaged = clips["root"] / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    proc, report = check_json(damaged)
    assert report["verdict"] != "error", report["error"]
    assert report["decode_errors"] >= 1 and report["truncated"] is False
    assert_one_line(proc, exit_codes.VERDICT_EXIT_CODES[report["verdict"]], "avsync: warning:", "video packet")


@pytest.fixture(scope="module")
def faststart(clips):
    require_ffmpeg()
    path = clips["root"] / "faststart.mp4"  # the index first, so a cut-off file still opens
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clips["matched"]), "-c", "copy", "-movflags",
                    "+faststart", str(path)], check=True)
    return path.read_bytes()


def test_truncated_video_is_checked_as_far_as_it_goes(clips, faststart):
    cut = clips["root"] / "cut.mp4"
    cut.write_bytes(faststart[: int(len(faststart) * 0.7)])
    proc, report = check_json(cut)
    assert report["verdict"] != "error", report["error"]
    assert report["truncated"] is True and 2.0 < report["duration_s"] < 5.5
    assert_one_line(proc, exit_codes.VERDICT_EXIT_CODES[report["verdict"]], "avsync: warning:", "cut off")


def test_video_with_too_little_left_is_corrupt(clips, faststart):
    stub = clips["root"] / "stub.mp4"
    stub.write_bytes(faststart[: int(len(faststart) * 0.12)])
    proc, report = check_json(stub)
    assert report["error"]["code"] == "corrupt"
    assert_one_line(proc, exit_codes.BAD_INPUT)


@pytest.fixture(scope="module")
def cover(clips):
    require_ffmpeg()
    path = clips["root"] / "cover.png"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=red:size=64x64", "-frames:v", "1",
                    str(path)], check=True)
    return path


def test_a_picture_stream_before_the_video_is_not_the_video(clips, cover):
    """A player shows the default video stream; a still picture muxed first (cover art, a logo)
    was read as the video and called corrupt."""
    both = clips["root"] / "picture_first.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(cover), "-i", str(clips["matched"]), "-map", "0",
                    "-map", "1:v", "-map", "1:a", "-c:v:0", "png", "-c:v:1", "copy", "-c:a", "copy",
                    "-disposition:v:0", "0", "-disposition:v:1", "default", str(both)], check=True)
    proc, report = check_json(both)
    assert proc.returncode == exit_codes.OK, proc.stderr
    assert report["verdict"] == "in_sync"


def test_audio_with_cover_art_has_no_video(clips, cover):
    music = clips["root"] / "music.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clips["wav"]), "-i", str(cover), "-map", "0", "-map", "1",
                    "-c:a", "aac", "-c:v", "png", "-disposition:v:0", "attached_pic", str(music)], check=True)
    proc, report = check_json(music)
    assert report["error"]["code"] == "no_video"
    assert_one_line(proc, exit_codes.BAD_INPUT, contains="no video stream")
