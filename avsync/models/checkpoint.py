"""SyncNet-lite checkpoints: weights in safetensors, a sidecar JSON, optimizer state apart.

``NAME.safetensors``  model weights (what ships and what ``--model PATH`` takes)
``NAME.json``         {"format", "model" (ModelConfig), "train" (the training config),
                       "epoch", "metrics", "created"}
``NAME.optim.pt``     optimizer / scheduler / RNG state for resuming, loaded with weights_only=True
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

from avsync.models.spec import ModelConfig

if TYPE_CHECKING:
    from avsync.models.syncnet_lite import SyncNetLite

FORMAT = "avsync.syncnet_lite/1"


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable or not a SyncNet-lite checkpoint."""


def sidecar(path: str | Path) -> Path:
    return Path(path).with_suffix(".json")


def optim_path(path: str | Path) -> Path:
    return Path(path).with_suffix(".optim.pt")


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.chmod(tmp, 0o644)  # some writers create 0600 files; checkpoints are meant to be shared
    os.replace(tmp, path)


def save_checkpoint(path: str | Path, model: SyncNetLite, *, epoch: int, metrics: dict[str, Any] | None = None,
                    train_config: dict[str, Any] | None = None, optim_state: dict[str, Any] | None = None) -> Path:
    """Write weights, sidecar and (when given) optimizer state; each file is replaced atomically."""
    import torch
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    _atomic(path, lambda p: save_file(state, str(p), metadata={"format": FORMAT}))
    meta = {
        "format": FORMAT,
        "model": model.cfg.to_dict(),
        "train": train_config or {},
        "epoch": int(epoch),
        "metrics": metrics or {},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _atomic(sidecar(path), lambda p: p.write_text(json.dumps(meta, indent=2, default=float) + "\n"))
    if optim_state is not None:
        _atomic(optim_path(path), lambda p: torch.save(optim_state, p))
    return path


def read_meta(path: str | Path) -> dict[str, Any]:
    side = sidecar(path)
    if not side.exists():
        raise CheckpointError(f"{path}: missing sidecar {side.name} (model config)")
    try:
        meta = json.loads(side.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{side}: unreadable sidecar: {exc}") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{side}: not a SyncNet-lite checkpoint (format {meta.get('format')!r})")
    return meta


def load_checkpoint(path: str | Path, map_location: str = "cpu") -> tuple[SyncNetLite, dict[str, Any]]:
    """Model (in eval mode) and its sidecar metadata."""
    from safetensors.torch import load_file

    from avsync.models.syncnet_lite import SyncNetLite

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    meta = read_meta(path)
    try:
        cfg = ModelConfig.from_dict(meta["model"])
        model = SyncNetLite(cfg)
        model.load_state_dict(load_file(str(path), device=map_location))
    except Exception as exc:  # safetensors header errors, shape mismatches, bad config keys
        raise CheckpointError(f"{path}: cannot load SyncNet-lite weights: {exc}") from None
    model.eval()
    return model, meta


def load_optim_state(path: str | Path) -> dict[str, Any] | None:
    import torch

    opt = optim_path(path)
    if not opt.exists():
        return None
    return torch.load(opt, map_location="cpu", weights_only=True)
