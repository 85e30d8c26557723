"""One BLAS thread while checking: in the calling process, in its front-end worker, and for the CLI."""
import os
import subprocess
import sys

from threadpoolctl import threadpool_info

import avsync


def blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_check_runs_on_one_blas_thread_and_restores_the_callers_setting(synthetic_clips, monkeypatch):
    import avsync.pipeline as pipeline

    before = blas_threads()
    seen = []
    analyse = pipeline.analyse

    def recording(*args, **kwargs):
        seen.append(blas_threads())
        return analyse(*args, **kwargs)

    monkeypatch.setattr(pipeline, "analyse", recording)
    report = avsync.check(synthetic_clips["matched"], scorer="baseline", jobs=1)
    assert report.error is None and seen == [{1}]
    assert blas_threads() == before


def test_the_front_end_worker_runs_on_one_blas_thread(synthetic_clips):
    from avsync.config import Settings
    from avsync.frontend import segments

    settings = Settings.load()
    settings.frontend.parallel_min_frames = 50
    avsync.check(synthetic_clips["delayed"], scorer="baseline", jobs=2, settings=settings)
    assert segments._workers(1).submit(blas_threads).result() == {1}


def test_the_command_line_asks_for_one_blas_thread_unless_the_caller_chose():
    code = "import avsync.cli.main, os; print(os.environ['OPENBLAS_NUM_THREADS'])"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    default = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    chosen = subprocess.run([sys.executable, "-c", code], env={**env, "OPENBLAS_NUM_THREADS": "3"},
                            capture_output=True, text=True, check=True)
    assert (default.stdout.strip(), chosen.stdout.strip()) == ("1", "3")


def test_audio_features_are_the_same_on_one_blas_thread_as_on_two():
    import numpy as np
    from threadpoolctl import threadpool_limits

    from avsync.config import FeatureConfig
    from avsync.features.audio import extract_audio_features

    rng = np.random.default_rng(0)
    t = np.arange(16000 * 40) / 16000  # 40 s: blocks of 3000 hops, large enough for BLAS to split
    samples = (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(t.size))
    with threadpool_limits(2, user_api="blas"):
        two = extract_audio_features(samples, 16000, 0.0, FeatureConfig())
    with threadpool_limits(1, user_api="blas"):
        one = extract_audio_features(samples, 16000, 0.0, FeatureConfig())
    assert np.array_equal(one.mfcc, two.mfcc) and np.array_equal(one.log_energy, two.log_energy)
    assert np.array_equal(one.speech, two.speech)
