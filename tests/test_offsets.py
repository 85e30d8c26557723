"""The offset-shift benchmark: accuracy logic on hand-made distance matrices, and the CLI end to end."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from avsync.evaluation.offsets import CONTEXTS, offset_predictions, ranking

SEARCH = 15
WIDE = np.arange(-30, 31)
SHIFTS = np.arange(-15, 16)


def dip_matrix(n, true_k=0, seed=0):
    """Distances with a clear minimum at column ``true_k`` (the clip's own sync) plus noise."""
    rng = np.random.default_rng(seed)
    return (np.abs(WIDE[None, :] - true_k) * 0.05 + 1.0 + rng.normal(0, 0.02, (n, len(WIDE)))).astype(np.float32)


def all_speech(n):
    return np.ones((n, len(SHIFTS)), bool)


def test_every_shift_recovered_on_a_clean_matrix():
    counts = offset_predictions(dip_matrix(60), WIDE, all_speech(60), SHIFTS, SEARCH)
    assert counts["whole"] == [31, 31]
    for L in CONTEXTS:
        ok, n = counts[str(L)]
        assert n > 0 and ok == n


def test_context_count_follows_stride_and_length():
    n = 40
    counts = offset_predictions(dip_matrix(n), WIDE, all_speech(n), SHIFTS, SEARCH, stride=5)
    for L in CONTEXTS:
        width = L - 4
        assert counts[str(L)][1] == len(SHIFTS) * len(range(0, n - width + 1, 5))


def test_contexts_shorter_than_the_window_have_no_predictions():
    n = 40
    counts = offset_predictions(dip_matrix(n - 8), WIDE, all_speech(n - 8), SHIFTS, SEARCH, window=9)
    assert counts["5"] == counts["7"] == [0, 0]
    assert counts["9"][1] == len(SHIFTS) * len(range(0, n - 8, 5)) and counts["9"][0] == counts["9"][1]


def test_wrong_own_offset_counts_as_wrong():
    # the clip's own sync is 3 frames off: every prediction misses the true shift by 3 (shifts
    # beyond ±12 would push the minimum past the ±15 search, to the edge)
    inner = np.arange(-12, 13)
    counts = offset_predictions(dip_matrix(60, true_k=3), WIDE, np.ones((60, len(inner)), bool), inner, SEARCH)
    assert counts["whole"] == [0, len(inner)]
    # within ±1 frame is accepted
    counts = offset_predictions(dip_matrix(60, true_k=1), WIDE, all_speech(60), SHIFTS, SEARCH)
    assert counts["whole"] == [31, 31]


def test_masked_pairs_are_skipped_not_zero_padded():
    dists = dip_matrix(60)
    dists[:, WIDE >= 20] = np.nan  # audio ends: these pairs do not exist
    dists[:30, (WIDE <= -20)] = np.nan  # partly masked columns: averaged over the windows that exist
    counts = offset_predictions(dists, WIDE, all_speech(60), SHIFTS, SEARCH)
    assert counts["whole"] == [31, 31]  # zero-padding would pull every search towards the masked columns
    padded = offset_predictions(np.nan_to_num(dists, nan=0.0), WIDE, all_speech(60), SHIFTS, SEARCH)
    assert padded["whole"][0] < 31


def test_only_speech_windows_count():
    n = 60
    dists = dip_matrix(n)
    dists[:30] = dip_matrix(30, true_k=-9, seed=1)  # silence: the distances point elsewhere
    speech = all_speech(n)
    speech[:30] = False
    counts = offset_predictions(dists, WIDE, speech, SHIFTS, SEARCH, min_windows=10)
    assert counts["whole"] == [31, 31]
    for L in CONTEXTS:
        ok, total = counts[str(L)]
        assert total == len(SHIFTS) * len(range(30, n - (L - 4) + 1, 5)) and ok == total
    ignored = offset_predictions(dists, WIDE, all_speech(n), SHIFTS, SEARCH)
    assert ignored["5"][0] < ignored["5"][1]


def test_too_little_speech_gives_no_whole_clip_prediction():
    speech = all_speech(60)
    speech[5:] = False
    counts = offset_predictions(dip_matrix(60), WIDE, speech, SHIFTS, SEARCH, min_windows=10)
    assert counts["whole"] == [0, 0]


def test_shift_beyond_computed_offsets_is_refused():
    with pytest.raises(ValueError):
        offset_predictions(dip_matrix(20), WIDE, np.ones((20, 1), bool), np.array([20]), SEARCH)


def test_ranking_auc_and_eer():
    separated = ranking([0.9, 0.8, 0.7], [0.1, 0.2])
    assert separated["roc_auc"] == 1.0 and separated["eer"] == 0.0
    flipped = ranking([0.1, 0.2], [0.8, 0.9])
    assert flipped["roc_auc"] == 0.0
    assert ranking([0.5], [])["roc_auc"] is None


def test_mismatch_partners_never_self_nor_same_recording():
    from avsync.evaluation.clipset import mismatch_partners
    from avsync.features.audio import AudioFeatures

    rng = np.random.default_rng(0)
    energies = [rng.normal(-30, 8, 400) for _ in range(4)]
    energies.append(energies[0] + rng.normal(0, 0.5, 400))  # clip 4 carries clip 0's recording

    def feats(e):
        return AudioFeatures(np.zeros((len(e), 13), np.float32), e, np.ones(len(e), bool), 0.01, 0.0)

    audios = [feats(e) for e in energies] + [None]  # clip 5: no audio
    pairs = mismatch_partners(audios, rounds=2, seed=3)
    assert all(i != j for i, j in pairs)
    assert (0, 4) not in pairs and (4, 0) not in pairs
    assert all(5 not in p for p in pairs)
    for i in range(5):
        assert len({j for a, j in pairs if a == i}) == 2
    assert pairs == mismatch_partners(audios, rounds=2, seed=3)


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    from avsync.testing import make_talking_clip

    root = tmp_path_factory.mktemp("offset_clips")
    for i in range(3):
        make_talking_clip(root / f"talk{i}.mp4", seconds=4.0, seed=11 + i)
    return root


def _cli():
    from avsync.cli.main import cli

    return cli


def test_cli_end_to_end(clip_folder, tmp_path):
    out = tmp_path / "offsets.json"
    result = CliRunner().invoke(_cli(), ["eval-offsets", str(clip_folder), "--model", "baseline", "--out", str(out),
                                         "--negatives", "2", "--jobs", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "whole clip" in result.output and "ROC AUC" in result.output
    data = json.loads(out.read_text())
    model = data["models"]["baseline-envelope-corr"]
    assert data["schema"] == "avsync.eval_offsets/2" and model["window_frames"] == 5
    assert model["accuracy"]["whole"]["n"] == 3 * 31
    assert model["accuracy"]["whole"]["accuracy"] >= 0.9
    assert model["accuracy"]["15"]["n"] > 0
    assert model["mismatch"]["n_genuine"] == 3 and model["mismatch"]["n_mismatched"] == 6
    assert model["mismatch"]["roc_auc"] >= 0.9
    assert [c["status"] for c in data["clips"]] == ["ok"] * 3


@pytest.mark.parametrize("args, message", [
    (["/no/such/folder"], "no such file or folder"),
    (["EMPTY"], "no videos found"),
    (["CLIPS", "--model", "no_such_model"], "cannot load model"),
    (["CLIPS", "--model", "baseline", "--model", "baseline"], "run once per checkpoint"),
])
def test_cli_bad_input_exits_3(clip_folder, tmp_path, args, message):
    args = [str(tmp_path) if a == "EMPTY" else str(clip_folder) if a == "CLIPS" else a for a in args]
    result = CliRunner().invoke(_cli(), ["eval-offsets", *args])
    assert result.exit_code == 3
    assert message in result.output
    assert "Traceback" not in result.output


def test_several_models_share_one_front_end_pass(clip_folder, monkeypatch):
    from avsync.sources import read_sources
    from avsync.evaluation import clipset
    from avsync.evaluation.offsets import evaluate_offsets
    from avsync.scoring.baseline import EnvelopeCorrelationScorer

    class ShortContext(EnvelopeCorrelationScorer):
        name = "baseline-short-context"

    calls = []
    real = clipset.analyse
    monkeypatch.setattr(clipset, "analyse", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    entries = read_sources([clip_folder])[:2]
    result = evaluate_offsets(entries, [EnvelopeCorrelationScorer(), ShortContext(context_frames=15)],
                              negatives=1, jobs=1, progress=False)
    assert len(calls) == 2
    assert set(result["models"]) == {"baseline-envelope-corr", "baseline-short-context"}
    for model in result["models"].values():
        assert model["accuracy"]["whole"]["n"] == 2 * 31
        assert model["mismatch"]["n_mismatched"] == 2
