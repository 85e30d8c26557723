"""scripts/eval_dev.py's summary: verdict accuracy per variant and the per-source zero of genuine clips."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import eval_dev  # noqa: E402


def _row(variant, clip, group, verdict, offset, confidence=0.2, p_sync=None):
    ci = None if offset is None else [offset - 50.0, offset + 50.0]
    return {"variant": variant, "id": clip, "group": group, "verdict_oof": verdict, "av_offset_ms": offset,
            "ci_ms": ci, "confidence": confidence, "p_sync": p_sync}


def test_summary_counts_verdicts_and_reports_each_sources_zero():
    rows = [_row("as is", "a1", "A", "in_sync", 10.0), _row("as is", "a2", "A", "inconclusive", 70.0),
            _row("as is", "b1", "B", "in_sync", -30.0), _row("delay 200 ms", "a1", "A", "out_of_sync", -190.0),
            _row("other audio", "a1", "A", "mismatch", 900.0, 0.01), _row("other audio", "b1", "B", "in_sync", 0.0, 0.3)]
    summary = eval_dev.summarise(rows)
    assert summary["variants"]["as is"]["accuracy"] == 2 / 3
    assert summary["variants"]["delay 200 ms"]["abs_error_ms"]["mean"] == 10.0
    assert summary["genuine_within_ms"]["within"] == 2
    assert summary["genuine_by_source"]["A"] == {"n": 2, "n_offsets": 2, "median_offset_ms": 40.0, "within": 1,
                                                 "in_sync": 1}
    text = eval_dev.format_summary("m", summary)
    assert "genuine clips by source" in text and "+40" in text


def test_summary_measures_the_intervals_and_p_sync_out_of_fold(tmp_path):
    rows = [_row("as is", "a1", "A", "in_sync", 10.0, p_sync=0.9),
            _row("as is", "a2", "A", "inconclusive", 70.0, p_sync=0.7),
            _row("as is", "b1", "B", "in_sync", None), _row("delay 200 ms", "a1", "A", "out_of_sync", -190.0),
            _row("delay 200 ms", "a2", "A", "out_of_sync", -120.0),
            _row("other audio", "a1", "A", "mismatch", 900.0, 0.01, p_sync=0.1),
            _row("other audio", "b1", "B", "in_sync", 0.0, 0.3, p_sync=0.8)]
    summary = eval_dev.summarise(rows)
    # [-40, 60] holds 0, [20, 120] does not; b1 has no interval
    assert summary["variants"]["as is"]["interval_coverage"] == {"n": 2, "n_without": 1, "covered": 1, "rate": 0.5}
    assert summary["variants"]["delay 200 ms"]["interval_coverage"]["covered"] == 1  # [-240, -140] holds -200
    assert "interval_coverage" not in summary["variants"]["other audio"]
    rel = summary["p_sync_reliability"]
    assert rel["n_genuine"] == 2 and rel["n_mismatched"] == 2 and 0 < rel["brier"] < 1
    text = eval_dev.format_summary("m", summary)
    assert summary["p_sync_ranking"]["roc_auc"] == 0.75  # 3 of the 4 genuine-other pairs ranked right
    assert "as is 50% (1/2)" in text and "Brier" in text
    eval_dev.plot_summary(summary, 0.95, tmp_path / "u.png", "m")
    assert (tmp_path / "u.png").stat().st_size > 0


def test_cut_audio_keeps_only_the_rows_inside_the_picture():
    import numpy as np

    from avsync.features.audio import AudioFeatures

    n = 300  # 3 s of 10 ms rows
    audio = AudioFeatures(np.arange(n * 13, dtype=np.float32).reshape(n, 13), np.zeros(n), np.ones(n, bool), 0.01, 0.0)
    late = eval_dev.within_video(AudioFeatures(audio.mfcc, audio.log_energy, audio.speech, 0.01, 0.4), 3.0)
    assert len(late) == 260 and late.t0_s == 0.4 and late.mfcc[0, 0] == 0  # the last 0.4 s is gone
    early = eval_dev.within_video(AudioFeatures(audio.mfcc, audio.log_energy, audio.speech, 0.01, -0.6), 3.0)
    assert len(early) == 240 and abs(early.t0_s) < 1e-9 and early.mfcc[0, 0] == 60 * 13  # the first 0.6 s is gone
    assert len(eval_dev.within_video(AudioFeatures(audio.mfcc, audio.log_energy, audio.speech, 0.01, 5.0), 3.0)) == 0
