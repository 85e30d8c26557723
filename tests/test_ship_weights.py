"""scripts/ship_weights.py: a run's checkpoint ships without developer paths or a stale calibration."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import ship_weights  # noqa: E402

from avsync.models.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from avsync.models.syncnet_lite import ModelConfig, SyncNetLite  # noqa: E402
from avsync.scoring.base import file_digest  # noqa: E402

TINY = {"embed_dim": 16, "visual_channels": [8, 8, 16, 16], "audio_channels": [8, 8, 16], "lip_hidden": 16}


def test_ship_copies_weights_strips_paths_and_calibration_and_exports(tmp_path):
    run = tmp_path / "run" / "best.safetensors"
    run.parent.mkdir()
    save_checkpoint(run, SyncNetLite(ModelConfig.from_dict(TINY)), epoch=4, metrics={"val_acc_ctx15": 0.5},
                    train_config={"cache_dir": "/home/dev/cache", "epochs": 10})
    side = json.loads(run.with_suffix(".json").read_text())
    side["calibration"] = {"weights_sha256": "stale", "min_confidence": 0.1}
    run.with_suffix(".json").write_text(json.dumps(side))

    dest = tmp_path / "weights" / "syncnet_lite.safetensors"
    assert ship_weights.main([str(run), "--dest", str(dest)]) == 0
    assert file_digest(dest) == file_digest(run)
    meta = json.loads(dest.with_suffix(".json").read_text())
    assert meta["train"] == {"epochs": 10} and "calibration" not in meta and meta["epoch"] == 4
    assert load_checkpoint(dest)[1]["epoch"] == 4
    assert sorted(p.name for p in dest.parent.glob("*.onnx"))  # the graphs are rebuilt beside it


def test_missing_checkpoint_is_a_one_line_error(tmp_path, capsys):
    assert ship_weights.main([str(tmp_path / "none.safetensors"), "--dest", str(tmp_path / "w.safetensors")]) == 3
    assert capsys.readouterr().err.strip().startswith("ship_weights: error: no checkpoint")
