"""`avsync calibrate`: threshold choice, p_sync fit, verdict.yaml rewrite, and check reading the result."""
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from avsync.calibration import (
    choose_offset_margin,
    choose_threshold,
    fit_p_sync,
    replace_top_level,
)
from avsync.config import VerdictConfig
from avsync.verdict import sync_verdict, tolerance_gap

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


def test_gap_within_the_margin_is_in_sync():
    cfg = VerdictConfig(min_confidence={"m": 0.1}, offset_margin={"m": 0.05})
    offsets_ms = np.array([80.0, 40.0, 0.0, -40.0])
    gap = tolerance_gap(np.array([0.90, 1.0, 0.93, 1.0]), offsets_ms, cfg)  # best at +80 ms, 0 ms nearly as good
    assert gap == pytest.approx(0.03)
    assert tolerance_gap(np.array([1.0, 0.9]), np.array([300.0, 200.0]), cfg) is None
    assert sync_verdict(80.0, 0.5, cfg, "m", gap) == "in_sync"
    assert sync_verdict(80.0, 0.5, cfg, "m", 0.2) == "out_of_sync"
    assert sync_verdict(80.0, 0.5, cfg, "other", gap) == "out_of_sync"  # no margin for this scorer
    assert sync_verdict(80.0, 0.05, cfg, "m", 0.0) == "mismatch"


def test_offset_margin_is_the_smallest_that_meets_the_flag_rate():
    cfg = VerdictConfig(min_confidence={"m": 0.1})
    rows = [{"verdict": "x", "confidence": 0.5, "av_offset_ms": 0.0, "tolerance_gap": 0.0} for _ in range(50)]
    rows += [{"verdict": "x", "confidence": 0.5, "av_offset_ms": 80.0, "tolerance_gap": g} for g in (0.01, 0.02, 0.3)]
    assert choose_offset_margin(rows, cfg, "m", 0.02) == pytest.approx(0.02)  # 1 of 53 may stay flagged
    assert choose_offset_margin(rows, cfg, "m", 0.0) == pytest.approx(0.3)
    assert choose_offset_margin(rows, cfg, "m", 0.1) == 0.0
    # two clips below min_confidence stay flagged: the margin still unflags all it can, no more
    weak = [{"verdict": "x", "confidence": 0.01, "av_offset_ms": 0.0, "tolerance_gap": 0.0}] * 2
    assert choose_offset_margin(rows + weak, cfg, "m", 0.0) == pytest.approx(0.3)
    assert choose_offset_margin(rows[:50] + weak, cfg, "m", 0.0) == 0.0


def test_p_sync_is_increasing_in_confidence():
    params = fit_p_sync([0.8, 0.9, 1.0, 1.2, 0.7], [0.1, 0.2, 0.05, 0.3])
    assert params["slope"] > 0

    def p(c):
        return 1 / (1 + math.exp(-(params["slope"] * c + params["intercept"])))

    assert p(1.0) > 0.5 > p(0.1)
    with pytest.raises(ValueError):
        fit_p_sync([0.5, 0.6], [])


def test_replace_top_level_keeps_other_lines():
    text = "# head\na: 1\n# about b\nb:\n  x: 1\n  y: 2\n\n# about c\nc: 3\n"
    out = replace_top_level(text, "b", {"z": 9})
    assert out.startswith("# head\na: 1\n# about b\nb:\n  z: 9\n")
    assert "# about c\nc: 3\n" in out
    assert yaml.safe_load(out) == {"a": 1, "b": {"z": 9}, "c": 3}
    added = replace_top_level(out, "d", [1, 2], comment="new key")
    assert added.endswith("# new key\nd:\n- 1\n- 2\n")
    assert yaml.safe_load(added)["c"] == 3


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    from avsync.testing import make_talking_clip

    root = tmp_path_factory.mktemp("calibrate_clips")
    for i in range(3):
        make_talking_clip(root / f"talk{i}.mp4", seconds=4.0, seed=21 + i)
    return root


def test_calibrate_writes_config_that_check_reads(clip_folder, tmp_path):
    from avsync.cli.main import cli
    from avsync.config import Settings
    from avsync.pipeline import check

    config_dir = tmp_path / "configs"
    shutil.copytree(REPO_CONFIGS, config_dir)
    cache = tmp_path / "cache"
    args = ["calibrate", str(clip_folder), "--model", "baseline", "--config-dir", str(config_dir), "--negatives", "2",
            "--analysis-cache", str(cache), "--jobs", "1", "--no-progress"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "flagged overall" in result.output

    text = (config_dir / "verdict.yaml").read_text()
    assert "# Tolerance: ITU-R BT.1359" in text  # the file's comments survive
    written = yaml.safe_load(text)
    name = "baseline-envelope-corr"
    threshold = written["min_confidence"][name]
    assert written["min_confidence"]["default"] == 0.0  # other scorers' entries are kept
    params = written["p_sync"][name]
    assert params["slope"] > 0
    assert written["fitted_on"][name]["genuine_clips"] == 3
    assert written["fitted_on"][name]["mismatched_pairs"] == 6
    assert len(list(cache.glob("*.npz"))) == 3

    settings = Settings.load(config_dir)
    assert settings.verdict.min_confidence[name] == threshold
    report = check(clip_folder / "talk0.mp4", settings=settings, scorer="baseline", jobs=1)
    assert report.confidence >= threshold  # no genuine clip flagged at the fitted threshold
    assert report.verdict == "in_sync"
    expected = 1 / (1 + math.exp(-(params["slope"] * report.confidence + params["intercept"])))
    assert report.p_sync == pytest.approx(expected, abs=1e-3)

    # a second run reads the cached analyses and fits the same values
    again = CliRunner().invoke(cli, args[:-1] + ["--dry-run", "--no-progress"])
    assert again.exit_code == 0, again.output
    assert f"min_confidence {threshold:.4f}" in again.output
    assert yaml.safe_load((config_dir / "verdict.yaml").read_text()) == written


def test_calibrate_bad_manifest_exits_3(tmp_path):
    from avsync.cli.main import cli

    result = CliRunner().invoke(cli, ["calibrate", str(tmp_path / "missing.csv"), "--config-dir", str(REPO_CONFIGS)])
    assert result.exit_code == 3
    assert "no such file or folder" in result.output
