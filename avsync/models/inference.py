"""Inference backends for SyncNet-lite: onnxruntime when exported graphs match the weights, else torch.

Importing torch alone takes about 2.4 s on the project's machine, more than checking a short clip
should, so the shipped weights also ship as three ONNX graphs built from the ``.safetensors``
file by ``scripts/export_onnx.py`` (visual stream, audio trunk, audio head; the audio windows are
gathered from the trunk's map in numpy, as the torch model gathers them). Each graph records the
sha256 of the weights it was built from; graphs that do not match the weights are not used.
The ``.safetensors`` file stays the source of truth, and training stays in torch.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from avsync.models.spec import ModelConfig

PARTS = ("visual", "audio_trunk", "audio_head")
SOURCE_KEY = "source_sha256"


def onnx_path(weights: str | Path, part: str) -> Path:
    return Path(weights).with_suffix(f".{part}.onnx")


def gather_windows(fmap: np.ndarray, steps: np.ndarray, width: int) -> np.ndarray:
    """(1, C, F, S) trunk map, (K,) first steps -> (K, C * F * width), in the order the torch head
    reads; ``width`` is the model's trunk steps per window (``ModelConfig.trunk_steps``)."""
    idx = np.asarray(steps, np.int64)[:, None] + np.arange(width)  # (K, width)
    gathered = fmap[0][:, :, idx]  # (C, F, K, width)
    return np.ascontiguousarray(gathered.transpose(2, 0, 1, 3)).reshape(len(idx), -1)


def _l2(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)  # as torch's F.normalize


class TorchSyncNet:
    """The torch model behind the backend interface (numpy in, numpy out)."""

    name = "torch"

    def __init__(self, model):
        self.model = model
        self.cfg: ModelConfig = model.cfg

    def visual(self, crops, lips=None, opening=None) -> np.ndarray:
        import torch

        with torch.inference_mode():
            args = [torch.from_numpy(crops)]
            if self.cfg.use_lips:
                args += [torch.from_numpy(lips), torch.from_numpy(opening)]
            return self.model.embed_visual(*args).numpy()

    def audio_trunk(self, segment: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.model.audio.trunk_map(torch.from_numpy(segment)).numpy()

    def audio_head(self, flat: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.model._out(self.model.audio.head(torch.from_numpy(flat))).numpy()


class OnnxSyncNet:
    """The exported graphs, run by onnxruntime on the CPU."""

    name = "onnxruntime"

    def __init__(self, weights: str | Path, cfg: ModelConfig, digest: str):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        # Idle pool threads spin between runs by default: a third more CPU time, and no faster.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.cfg = cfg
        self.sessions = {}
        for part in PARTS:
            session = ort.InferenceSession(str(onnx_path(weights, part)), options, providers=["CPUExecutionProvider"])
            built_from = session.get_modelmeta().custom_metadata_map.get(SOURCE_KEY)
            if built_from != digest:
                raise ValueError(f"{onnx_path(weights, part).name} was built from other weights")
            self.sessions[part] = session

    def _run(self, part: str, **inputs) -> np.ndarray:
        return self.sessions[part].run(None, inputs)[0]

    def visual(self, crops, lips=None, opening=None) -> np.ndarray:
        if self.cfg.use_lips:
            return self._run("visual", crops=crops, lips=lips, opening=opening)
        return self._run("visual", crops=crops)

    def audio_trunk(self, segment: np.ndarray) -> np.ndarray:
        return self._run("audio_trunk", mfcc=segment)

    def audio_head(self, flat: np.ndarray) -> np.ndarray:
        out = self._run("audio_head", flat=flat)
        return _l2(out) if self.cfg.normalize else out


def load_backend(weights: str | Path, meta: dict, digest: str):
    """onnxruntime when the weights' graphs are there and match, else torch.

    ``AVSYNC_BACKEND=torch`` forces torch (``onnxruntime`` forces it and fails if it cannot)."""
    wanted = os.environ.get("AVSYNC_BACKEND", "auto")
    if wanted != "torch" and all(onnx_path(weights, p).is_file() for p in PARTS):
        try:
            return OnnxSyncNet(weights, ModelConfig.from_dict(meta["model"]), digest)
        except (ImportError, ValueError):
            if wanted == "onnxruntime":
                raise
    elif wanted == "onnxruntime":
        raise ValueError(f"no ONNX graphs next to {weights} (scripts/export_onnx.py builds them)")
    from avsync.models.checkpoint import load_checkpoint

    model, _ = load_checkpoint(weights)
    return TorchSyncNet(model)
