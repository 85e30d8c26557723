#!/usr/bin/env python
"""Make a training run's checkpoint the shipped `syncnet_lite`: copy its weights and sidecar into
avsync/weights/, drop what only made sense on the training machine, and rebuild the ONNX graphs.

    python scripts/ship_weights.py runs/default/best.safetensors
    python -m avsync calibrate ...   # then: the copied sidecar holds no calibration yet

The sidecar keeps the model and training config, epoch and metrics; `train.cache_dir` (a path on
the training machine) and any earlier `calibration` block (fitted on other weights) are removed.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from avsync.models.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from avsync.models.onnx_export import export_onnx  # noqa: E402
from avsync.scoring.base import file_digest  # noqa: E402
from avsync.scoring.learned import DEFAULT_WEIGHTS  # noqa: E402

DEVELOPER_KEYS = ("cache_dir",)  # train-config keys that name paths on the training machine


def shipped_sidecar(meta: dict) -> dict:
    """The checkpoint's sidecar as it ships: no developer paths, no calibration of other weights."""
    out = {k: v for k, v in meta.items() if k != "calibration"}
    if isinstance(out.get("train"), dict):
        out["train"] = {k: v for k, v in out["train"].items() if k not in DEVELOPER_KEYS}
    return out


def ship(checkpoint: Path, dest: Path) -> list[Path]:
    load_checkpoint(checkpoint)  # refuses a file that is not a SyncNet-lite checkpoint
    sidecar = checkpoint.with_suffix(".json")
    meta = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(checkpoint, dest)
    dest.with_suffix(".json").write_text(json.dumps(shipped_sidecar(meta), indent=2) + "\n")
    return [dest, dest.with_suffix(".json"), *export_onnx(dest)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="a run's .safetensors (its .json sidecar beside it)")
    parser.add_argument("--dest", default=str(DEFAULT_WEIGHTS), help="where it ships (default: %(default)s)")
    args = parser.parse_args(argv)
    checkpoint, dest = Path(args.checkpoint), Path(args.dest)
    if not checkpoint.is_file():
        print(f"ship_weights: error: no checkpoint at {checkpoint}", file=sys.stderr)
        return 3
    try:
        written = ship(checkpoint, dest)
    except (CheckpointError, OSError, ValueError) as exc:
        print(f"ship_weights: error: {exc}", file=sys.stderr)
        return 3
    for path in written:
        print(f"wrote {path}")
    print(f"sha256 {file_digest(dest)}; uncalibrated until `avsync calibrate` writes its block")
    return 0


if __name__ == "__main__":
    sys.exit(main())
