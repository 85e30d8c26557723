#!/usr/bin/env python
"""Write the ONNX graphs that `check` runs through onnxruntime, next to a SyncNet-lite checkpoint.

    python scripts/export_onnx.py [WEIGHTS.safetensors]   # default: the shipped weights

Needs torch and `pip install onnx`. Run it again whenever the weights change: graphs built from
other weights are ignored (inference falls back to torch).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from avsync.models.checkpoint import CheckpointError  # noqa: E402
from avsync.models.onnx_export import export_onnx  # noqa: E402
from avsync.scoring.learned import DEFAULT_WEIGHTS  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="?", default=str(DEFAULT_WEIGHTS), help="a .safetensors checkpoint")
    args = parser.parse_args()
    try:
        for path in export_onnx(args.weights):
            print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    except CheckpointError as exc:
        sys.exit(f"export_onnx: {exc}")
