"""End to end on synthetic talking-face clips, with the training-free baseline and the default scorer."""
import json
import os
import signal
import time

import pytest

import avsync
from avsync.report import SCHEMA

REQUIRED = {"schema", "file", "verdict", "av_offset_ms", "av_offset_frames", "confidence", "min_dist", "fps",
            "duration_s", "tracks", "scorer", "error"}
FRAME_MS = 40.0


@pytest.fixture(scope="module", params=["baseline", "default"])
def reports(request, synthetic_clips):
    names = ["matched", "delayed", "advanced", "mismatched", "late_stream"]
    out = {n: avsync.check(synthetic_clips[n], scorer=request.param, jobs=1) for n in names}
    out["paired_wav"] = avsync.check(synthetic_clips["silent_video"], audio=synthetic_clips["wav"],
                                     scorer=request.param, jobs=1)
    return out


def passed_or_undecided(report):
    """In sync, or inconclusive because the model's calibrated offset error makes the interval wider
    than the verdict policy allows (the baseline's on real footage): never flagged."""
    if report.verdict == "inconclusive":
        lo, hi = report.av_offset_ci_ms
        return report.verdict_reason == "offset_uncertain" and lo <= report.av_offset_ms <= hi
    return report.verdict == "in_sync"


def test_report_has_every_required_key(reports):
    data = json.loads(json.dumps(reports["matched"].to_dict()))
    assert REQUIRED <= set(data)
    assert data["schema"] == SCHEMA and data["error"] is None
    assert data["fps"] == pytest.approx(25.0)
    assert data["duration_s"] == pytest.approx(6.0, abs=0.1)
    track = data["tracks"][0]
    assert {"verdict", "av_offset_ms", "confidence", "frame_start", "frame_end"} <= set(track)
    assert track["frame_end"] - track["frame_start"] >= 140


def test_matched_clip_is_in_sync(reports):
    report = reports["matched"]
    assert passed_or_undecided(report)
    assert report.calibrated is True
    assert abs(report.av_offset_ms) <= 1.5 * FRAME_MS + abs(report.offset_bias_ms)


def test_delayed_audio_gives_negative_offset(reports):
    shift = reports["delayed"].av_offset_ms - reports["matched"].av_offset_ms
    assert shift == pytest.approx(-200, abs=FRAME_MS)
    delayed = reports["delayed"]
    assert delayed.verdict != "in_sync"  # -200 ms lies outside the tolerance: never passed
    assert delayed.verdict == "out_of_sync" or delayed.verdict_reason in ("offset_near_tolerance", "offset_uncertain")


def test_advanced_audio_gives_positive_offset(reports):
    shift = reports["advanced"].av_offset_ms - reports["matched"].av_offset_ms
    assert shift == pytest.approx(120, abs=FRAME_MS)
    assert reports["advanced"].av_offset_frames > 0


def test_audio_stream_start_time_is_honoured(reports):
    shift = reports["late_stream"].av_offset_ms - reports["matched"].av_offset_ms
    assert shift == pytest.approx(-300, abs=2 * FRAME_MS)


def test_mismatched_voice_scores_lower(reports):
    assert reports["mismatched"].confidence < 0.7 * reports["matched"].confidence


def test_separate_audio_file_pairs_with_a_silent_video(reports):
    paired = reports["paired_wav"]
    assert paired.verdict == reports["matched"].verdict and passed_or_undecided(paired)
    assert paired.av_offset_ms == pytest.approx(reports["matched"].av_offset_ms, abs=FRAME_MS)


def test_video_without_audio_is_an_error(synthetic_clips):
    report = avsync.check(synthetic_clips["silent_video"], scorer="baseline", jobs=1)
    assert report.verdict == "error" and report.error["code"] == "no_audio"
    assert report.exit_code == 3


def test_two_processes_give_the_same_track_as_one(synthetic_clips, monkeypatch):
    from avsync.config import Settings
    from avsync.frontend import segments

    settings = Settings.load()
    settings.frontend.parallel_min_frames = 50
    handoffs = []

    class Recorded(segments.Handoff):
        def __init__(self, *args):
            super().__init__(*args)
            handoffs.append(self)

    monkeypatch.setattr(segments, "Handoff", Recorded)
    process = segments.FaceTracker.process

    def slow(self, *args):  # 150 frames: this process must not finish before the worker has started
        time.sleep(0.02)
        return process(self, *args)

    monkeypatch.setattr(segments.FaceTracker, "process", slow)
    one = avsync.check(synthetic_clips["delayed"], scorer="baseline", jobs=1, settings=settings)
    two = avsync.check(synthetic_clips["delayed"], scorer="baseline", jobs=2, settings=settings)
    assert len(handoffs) == 1 and len(handoffs[0].segments) == 1  # the worker tracked a part
    assert len(two.tracks) == 1
    assert (two.tracks[0].frame_start, two.tracks[0].frame_end) == (one.tracks[0].frame_start, one.tracks[0].frame_end)
    assert two.av_offset_frames == one.av_offset_frames


def test_front_end_workers_are_kept_for_the_next_video_and_replaced_when_one_dies(synthetic_clips):
    from avsync.config import Settings
    from avsync.frontend import segments

    settings = Settings.load()
    settings.frontend.parallel_min_frames = 50
    one = avsync.check(synthetic_clips["delayed"], scorer="baseline", jobs=2, settings=settings)
    pool = segments._workers(1)  # the check's, handed out again
    pid = pool.submit(os.getpid).result()
    avsync.check(synthetic_clips["delayed"], scorer="baseline", jobs=2, settings=settings)
    assert segments._workers(1) is pool and pool.submit(os.getpid).result() == pid

    os.kill(pid, signal.SIGKILL)
    two = avsync.check(synthetic_clips["delayed"], scorer="baseline", jobs=2, settings=settings)
    assert two.verdict == one.verdict and two.av_offset_frames == one.av_offset_frames
    assert (two.tracks[0].frame_start, two.tracks[0].frame_end) == (one.tracks[0].frame_start, one.tracks[0].frame_end)
    fresh = segments._workers(1)
    assert fresh is not pool and fresh.submit(os.getpid).result() != pid


def test_a_multiprocessing_child_that_checks_with_two_processes_exits(synthetic_clips):
    # it waits for its own children before exit hooks run, so a kept worker would hold it for ever
    import multiprocessing as mp

    from avsync.config import Settings

    settings = Settings.load()
    settings.frontend.parallel_min_frames = 50
    child = mp.get_context("spawn").Process(target=avsync.check, args=(str(synthetic_clips["delayed"]),),
                                            kwargs={"scorer": "baseline", "jobs": 2, "settings": settings})
    child.start()
    child.join(120)
    hung = child.is_alive()
    if hung:
        child.kill()
    assert not hung and child.exitcode == 0


def test_a_script_read_from_stdin_checks_in_one_process_without_a_worker_traceback(synthetic_clips):
    import subprocess
    import sys

    script = ("import avsync\nfrom avsync.config import Settings\n"
              "settings = Settings.load()\nsettings.frontend.parallel_min_frames = 50\n"
              f"print(avsync.check({str(synthetic_clips['delayed'])!r}, scorer='baseline', jobs=2, "
              "settings=settings).verdict)\n")
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() not in ("", "error")
    assert "Traceback" not in done.stderr  # a spawned worker cannot import a main module read from stdin


def test_a_missing_audio_file_is_reported_before_the_face_front_end_runs(synthetic_clips, monkeypatch, tmp_path):
    import avsync.pipeline as pipeline
    from avsync.media.errors import MediaError

    def front_end(*args, **kwargs):
        raise AssertionError("the front-end ran before the audio path was checked")

    monkeypatch.setattr(pipeline, "track_video", front_end)
    with pytest.raises(MediaError, match="no such file"):
        pipeline.analyse(str(synthetic_clips["silent_video"]), audio=str(tmp_path / "missing.wav"))


def test_audio_features_made_beside_the_front_end_equal_a_direct_call(synthetic_clips):
    import numpy as np

    import avsync.pipeline as pipeline
    from avsync.config import Settings

    path = str(synthetic_clips["matched"])
    analysis = pipeline.analyse(path, jobs=1)
    direct = pipeline.audio_features(path, None, Settings.load())
    assert np.array_equal(analysis.audio.mfcc, direct.mfcc) and np.array_equal(analysis.audio.speech, direct.speech)
    assert analysis.timings_s["features"] > 0 and len(analysis.tracks) == 1
