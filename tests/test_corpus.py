"""Real clips from ../shared/corpus (skipped when it is absent; CI has it)."""
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from avsync.report import VERDICTS

pytestmark = [pytest.mark.corpus, pytest.mark.slow]


def _check(args):
    import avsync

    path, audio = args
    report = avsync.check(path, audio=audio, jobs=1)
    return path, report.verdict, report.error


PER_SOURCE = 2  # clips per source repository: every source, and CI stays within its time


def fixed_sample(clips, per_source: int = PER_SOURCE):
    """The first ``per_source`` clips of each source (manifest ``repo``) by file name: deterministic."""
    by_source: dict[str, list] = {}
    for clip in sorted(clips, key=lambda c: c.video):
        by_source.setdefault(clip.source or clip.category, []).append(clip)
    return [c for group in by_source.values() for c in group[:per_source]]


def test_check_runs_on_clips_of_every_source_without_crashing(corpus_dir):
    from avsync.sources import read_sources

    every = read_sources([corpus_dir])
    clips = fixed_sample(every)
    assert len({c.source for c in every}) > 30 and len(clips) <= PER_SOURCE * len({c.source for c in every})
    # spawn: earlier tests loaded torch and MediaPipe in this process; forked children can hang
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(_check, [(c.video, c.audio) for c in clips]))
    assert len(results) == len(clips)
    for path, verdict, error in results:
        assert verdict in VERDICTS
        assert verdict != "error", f"{path}: {error}"
    scored = [v for _, v, _ in results if v in ("in_sync", "out_of_sync", "mismatch")]
    assert len(scored) >= 0.8 * len(results)


@pytest.mark.parametrize("name", ["real/OpenTalker__SadTalker__test__examples__source_image__WDA_BobMenendez_000.mp4",
                                  "real/OpenTalker__video-retalking__examples__face__2.mp4"])
def test_delaying_real_audio_moves_the_offset(corpus_dir, name):
    import avsync

    path = corpus_dir / name
    base = avsync.check(path, jobs=1)
    delayed = avsync.check(path, jobs=1, audio_delay_s=0.2)
    frame_ms = 1000.0 / base.fps
    assert delayed.av_offset_ms - base.av_offset_ms == pytest.approx(-200, abs=1.5 * frame_ms)
