"""Build the ONNX graphs that :mod:`avsync.models.inference` runs, from a ``.safetensors`` checkpoint.

Needs torch and the ``onnx`` package (``pip install onnx``), which inference itself never needs.
Each graph is checked against the torch model on random inputs before it is written.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from avsync.models.inference import PARTS, SOURCE_KEY, onnx_path
from avsync.models.spec import CROP_H, CROP_W, MFCC_ROWS

OPSET = 17


def export_onnx(weights: str | Path, atol: float = 1e-4) -> list[Path]:
    import onnx
    import onnxruntime as ort
    import torch

    from avsync.models.checkpoint import load_checkpoint
    from avsync.scoring.base import file_digest

    weights = Path(weights)
    model, _ = load_checkpoint(weights)
    cfg = model.cfg
    digest = file_digest(weights)
    rng = torch.Generator().manual_seed(0)
    n = 6

    class Call(torch.nn.Module):
        """One of the model's methods as a module the exporter traces (the model's weights inside)."""

        def __init__(self, method):
            super().__init__()
            self.model, self.method = model, method

        def forward(self, *inputs):
            return self.method(*inputs)

    w = cfg.window_frames
    crops = torch.randint(0, 256, (n, w, CROP_H, CROP_W), dtype=torch.uint8, generator=rng)
    lips = torch.rand(n, w, cfg.n_lip_points, 2, generator=rng) * 80 + 10
    opening = torch.rand(n, w, generator=rng)
    visual_inputs = {"crops": crops, "lips": lips, "opening": opening} if cfg.use_lips else {"crops": crops}
    mfcc = torch.randn(1, 140, MFCC_ROWS, generator=rng)
    flat = torch.randn(n, model.audio.flat, generator=rng)

    graphs = {
        "visual": (Call(model.embed_visual), visual_inputs, {k: {0: "batch"} for k in visual_inputs}),
        "audio_trunk": (Call(model.audio.trunk_map), {"mfcc": mfcc}, {"mfcc": {1: "rows"}}),
        "audio_head": (Call(model.audio.head), {"flat": flat}, {"flat": {0: "batch"}}),
    }
    written = []
    for part in PARTS:
        module, inputs, axes = graphs[part]
        module.eval()
        buf = io.BytesIO()
        with torch.no_grad():
            torch.onnx.export(module, tuple(inputs.values()), buf, input_names=list(inputs), output_names=["out"],
                              dynamic_axes={**axes, "out": {0: "batch"}}, opset_version=OPSET, dynamo=False)
        proto = onnx.load_from_string(buf.getvalue())
        onnx.helper.set_model_props(proto, {SOURCE_KEY: digest})
        data = proto.SerializeToString()
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        got = session.run(None, {k: v.numpy() for k, v in inputs.items()})[0]
        with torch.no_grad():
            want = module(*inputs.values()).numpy()
        if got.shape != want.shape or not np.allclose(got, want, atol=atol):
            raise RuntimeError(f"exported {part} differs from torch by {np.abs(got - want).max():.2e}")
        path = onnx_path(weights, part)
        path.write_bytes(data)
        written.append(path)
    return written

