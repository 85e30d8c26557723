"""Calibration travels with the weights: keyed by their digest, never lent to another checkpoint."""
import json
import shutil
from pathlib import Path

import pytest

from avsync.scoring.registry import SHIPPED_WEIGHTS
from avsync.scoring.sidecar import Calibration, read_calibration, write_calibration

WEIGHTS = SHIPPED_WEIGHTS["syncnet_lite"]


def test_write_keeps_the_sidecar_and_read_checks_the_digest(tmp_path):
    side = tmp_path / "m.json"
    side.write_text(json.dumps({"format": "x", "model": {"a": 1}}))
    write_calibration(side, Calibration("abc", min_confidence=0.3, offset_bias_ms=12.0))
    meta = json.loads(side.read_text())
    assert meta["model"] == {"a": 1} and meta["calibration"]["weights_sha256"] == "abc"
    assert read_calibration(side, "abc").offset_bias_ms == 12.0
    assert read_calibration(side, "other") is None  # another model's numbers are never used
    assert read_calibration(tmp_path / "missing.json", "abc") is None
    side.write_text("{not json")
    assert read_calibration(side, "abc") is None


def test_shipped_model_is_calibrated_for_its_own_weights():
    from avsync.scoring.base import file_digest

    meta = json.loads(WEIGHTS.with_suffix(".json").read_text())
    assert meta["calibration"]["weights_sha256"] == file_digest(WEIGHTS)
    assert "cache_dir" not in meta.get("train", {})  # no developer paths ship


def test_a_copied_checkpoint_with_changed_weights_is_uncalibrated(tmp_path):
    from avsync.models.checkpoint import load_checkpoint, save_checkpoint
    from avsync.scoring.registry import resolve_scorer

    shipped = resolve_scorer("default")
    assert shipped.calibrated
    # the same weights copied elsewhere keep their calibration: the digest matches
    copy = tmp_path / "copy.safetensors"
    shutil.copy(WEIGHTS, copy)
    shutil.copy(WEIGHTS.with_suffix(".json"), copy.with_suffix(".json"))
    assert resolve_scorer(str(copy)).calibration == shipped.calibration
    # retrained weights with the old sidecar block: a digest mismatch, so no calibration
    model, meta = load_checkpoint(WEIGHTS)
    for p in model.parameters():
        p.data.mul_(1.01)
        break
    retrained = tmp_path / "retrained.safetensors"
    save_checkpoint(retrained, model, epoch=0)
    side = json.loads(retrained.with_suffix(".json").read_text())
    side["calibration"] = json.loads(WEIGHTS.with_suffix(".json").read_text())["calibration"]
    retrained.with_suffix(".json").write_text(json.dumps(side))
    scorer = resolve_scorer(str(retrained))
    assert scorer.calibration is None and not scorer.calibrated


def test_uncalibrated_report_says_so(synthetic_clips, tmp_path):
    import avsync
    from avsync.models.checkpoint import load_checkpoint, save_checkpoint

    model, _ = load_checkpoint(WEIGHTS)
    path = tmp_path / "fresh.safetensors"
    save_checkpoint(path, model, epoch=0)  # same weights, but a sidecar without calibration
    report = avsync.check(synthetic_clips["matched"], scorer=str(path), jobs=1)
    assert report.calibrated is False and report.p_sync is None and report.offset_bias_ms == 0.0
    assert avsync.check(synthetic_clips["matched"], scorer="default", jobs=1).calibrated is True


def test_baseline_has_its_own_calibration():
    from avsync.scoring.baseline import CALIBRATION_FILE, EnvelopeCorrelationScorer

    scorer = EnvelopeCorrelationScorer()
    assert Path(CALIBRATION_FILE).is_file() and scorer.calibrated
    assert scorer.calibration.weights_sha256 == scorer.weights_digest
    assert EnvelopeCorrelationScorer(context_frames=31).calibration is None  # other parameters, other scorer
