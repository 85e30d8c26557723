"""`avsync calibrate`: threshold, p_sync, offset bias and error, cross-fitting, and the sidecar it writes."""
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from avsync.calibration import choose_threshold, cross_fit, fit_calibration, fit_offset_error, fit_p_sync, \
    verdict_rates
from avsync.config import VerdictConfig
from avsync.verdict import OffsetEstimate

REPO_CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_threshold_flags_at_most_the_target_rate():
    rng = np.random.default_rng(0)
    values = list(np.round(rng.uniform(0.2, 2.0, 100), 4))
    t = choose_threshold(values, 0.02)
    assert sum(v < t for v in values) == 2
    assert sorted(values)[2] - 2e-4 < t < sorted(values)[2]  # as large as the target allows
    few = [0.5, 0.7, 0.9]  # 2% of 3 clips allows none: the threshold sits below the smallest
    assert choose_threshold(few, 0.02) < 0.5
    assert choose_threshold(few, 0.02) >= 0.4999 - 1e-9
    with pytest.raises(ValueError):
        choose_threshold([], 0.02)


def _row(group, offset, confidence, spread=5.0, audio_of=None, i=0):
    est = OffsetEstimate(offset, spread, spread, confidence, 1.0)
    return {"id": f"{group}{i}", "audio_of": audio_of, "group": group, "category": "real", "verdict": None,
            "reason": None, "estimate": est.__dict__}


def test_offset_error_makes_the_interval_cover_zero():
    ests = [OffsetEstimate(x, 5.0, 5.0, 1.0, 1.0) for x in (0.0, 10.0, -20.0, 30.0, 100.0)]
    m = fit_offset_error(ests, 0.0, 0.8)  # 4 of 5 must cover 0: the 30 ms clip needs sqrt(30^2 - 5^2)
    assert m == pytest.approx(math.sqrt(30 ** 2 - 5 ** 2), abs=0.1)
    assert fit_offset_error(ests, 0.0, 1.0) == pytest.approx(math.sqrt(100 ** 2 - 5 ** 2), abs=0.1)
    assert fit_offset_error(ests[:1], 0.0, 0.95) == 0.0


def test_cross_fit_leaves_each_source_out():
    rng = np.random.default_rng(0)
    genuine = [_row(g, bias + rng.normal(0, 5), 0.5 + rng.uniform(0, 0.2), i=i)
               for g, bias in (("a", 40.0), ("b", 40.0), ("c", 200.0)) for i in range(10)]
    mismatched = [_row(r["group"], rng.uniform(-900, 900), rng.uniform(0, 0.3), audio_of=o["id"])
                  for r, o in zip(genuine, genuine[1:] + genuine[:1])]
    scores = {"genuine": genuine, "mismatched": mismatched}
    folds = cross_fit(scores, VerdictConfig(), 0.02, "d")
    assert set(folds) == {"a", "b", "c"}
    assert folds["c"].offset_bias_ms == pytest.approx(40.0, abs=5)  # c's own bias never enters c's fit
    assert folds["a"].offset_bias_ms > 60.0  # fitted on b and c
    whole = fit_calibration(genuine, mismatched, VerdictConfig(), 0.02, "d")
    assert whole.weights_sha256 == "d" and whole.p_sync["slope"] > 0
    assert sum(e["estimate"]["confidence"] < whole.min_confidence for e in genuine) == 0
    # out of fold, c's 200 ms zero is 160 ms from the others' bias: its intervals miss 0
    rates = verdict_rates(scores, folds, VerdictConfig())
    cover = rates["genuine"]["interval_covers_zero"]
    assert cover["n"] == 30 and cover["covered"] <= 20  # none of c's ten
    assert verdict_rates(scores, whole, VerdictConfig())["genuine"]["interval_covers_zero"]["covered"] > 20
    assert 0 <= rates["p_sync"]["ece"] <= 1 and rates["p_sync"]["brier"] < 0.25


def _estimates(confidences, ambiguities):
    return [OffsetEstimate(0.0, 10.0, 10.0, c, 1.0, a) for c, a in zip(confidences, ambiguities)]


def test_p_sync_rises_with_confidence_and_falls_with_ambiguity():
    genuine = _estimates([0.8, 0.9, 1.0, 1.2, 0.7, 0.6], [0.0, 0.05, 0.0, 0.0, 0.3, 0.0])
    mismatched = _estimates([0.1, 0.2, 0.05, 0.3, 0.5, 0.4], [0.6, 0.4, 0.8, 0.2, 0.7, 0.5])
    params = fit_p_sync(genuine, mismatched)
    assert params["slope"] > 0 > params["ambiguity_slope"]

    def p(c, a):
        return 1 / (1 + math.exp(-(params["slope"] * c + params["ambiguity_slope"] * a + params["intercept"])))

    assert p(1.0, 0.0) > 0.5 > p(0.1, 0.6)
    assert p(0.5, 0.0) > p(0.5, 0.6)
    with pytest.raises(ValueError):
        fit_p_sync(genuine, [])


def test_p_sync_fits_when_ambiguity_never_varies():
    params = fit_p_sync(_estimates([0.8, 0.9, 1.0], [0.0] * 3), _estimates([0.1, 0.2, 0.05], [0.0] * 3))
    assert params["slope"] > 0 and params["ambiguity_slope"] == 0.0


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    from avsync.testing import make_talking_clip

    root = tmp_path_factory.mktemp("calibrate_clips")
    for i in range(3):
        make_talking_clip(root / f"talk{i}.mp4", seconds=4.0, seed=21 + i)
    return root


def test_calibrate_writes_the_checkpoints_sidecar_that_check_reads(clip_folder, tmp_path):
    from avsync.cli.main import cli
    from avsync.pipeline import check
    from avsync.scoring.base import file_digest
    from avsync.scoring.registry import SHIPPED_WEIGHTS

    weights = tmp_path / "model.safetensors"
    shutil.copy(SHIPPED_WEIGHTS["syncnet_lite"], weights)
    meta = json.loads(SHIPPED_WEIGHTS["syncnet_lite"].with_suffix(".json").read_text())
    meta.pop("calibration", None)
    weights.with_suffix(".json").write_text(json.dumps(meta))
    assert check(clip_folder / "talk0.mp4", scorer=str(weights), jobs=1).calibrated is False

    cache = tmp_path / "cache"
    args = ["calibrate", str(clip_folder), "--model", str(weights), "--negatives", "2", "--analysis-cache", str(cache),
            "--jobs", "1", "--no-progress"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "out of fold" in result.output
    written = json.loads(weights.with_suffix(".json").read_text())
    assert written["model"] == meta["model"]  # the rest of the sidecar is kept
    cal = written["calibration"]
    assert cal["weights_sha256"] == file_digest(weights)
    assert cal["fitted_on"]["genuine_clips"] == 3 and cal["fitted_on"]["mismatched_pairs"] == 6
    assert cal["p_sync"]["slope"] > 0
    assert len(list(cache.glob("*.npz"))) == 3

    report = check(clip_folder / "talk0.mp4", scorer=str(weights), jobs=1)
    assert report.calibrated is True and report.offset_bias_ms == cal["offset_bias_ms"]
    assert report.confidence >= cal["min_confidence"]  # no genuine clip flagged at the fitted threshold
    p = cal["p_sync"]
    expected = 1 / (1 + math.exp(-(p["slope"] * report.confidence + p["ambiguity_slope"] * report.offset_ambiguity
                                   + p["intercept"])))
    assert report.p_sync == pytest.approx(expected, abs=1e-3)

    # a second run reads the cached analyses and fits the same values
    again = CliRunner().invoke(cli, args[:-1] + ["--dry-run", "--no-progress"])
    assert again.exit_code == 0, again.output
    assert f"min_confidence {cal['min_confidence']:.4f}" in again.output
    assert json.loads(weights.with_suffix(".json").read_text()) == written


def test_calibrate_bad_manifest_exits_3(tmp_path):
    from avsync.cli.main import cli

    result = CliRunner().invoke(cli, ["calibrate", str(tmp_path / "missing.csv"), "--config-dir", str(REPO_CONFIGS)])
    assert result.exit_code == 3
    assert "no such file or folder" in result.output
