"""SyncNet as published in joonson/syncnet_python, so its ``syncnet_v2.model`` can be loaded.

Two streams map 0.2 s of speech and 5 frames of face to 1024-d embeddings compared by
Euclidean distance:

- audio: a 1 x 13 x 20 MFCC patch (13 coefficients x 20 hops of 10 ms), 2-D convolutions
  (``netcnnaud``) then two fully connected layers (``netfcaud``);
- lips: a 3 x 5 x 224 x 224 stack of face crops, a 5x7x7 3-D convolution that folds the 5
  frames into one, then per-frame 2-D-shaped 3-D convolutions (``netcnnlip``) and two fully
  connected layers (``netfclip``).

Layer positions inside each ``nn.Sequential`` decide the state-dict keys (``netcnnaud.0.weight``
and so on), so the stacks below keep the original's order, including activation and pooling
slots that hold no parameters.
"""
from __future__ import annotations

import pickle
import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

EMBED_DIM = 1024
FRAMES = 5
MFCC_ROWS = 13
MFCC_HOPS = 20
CROP_SIZE = 224

# Keys a checkpoint may nest its state dict under, tried in this order.
_NEST_KEYS = ("state_dict", "model_state_dict", "model", "net", "__S__", "S")
_PREFIXES = ("__S__.", "module.")


class SyncNetCheckpointError(ValueError):
    """The file is not a syncnet_python SyncNet checkpoint this loader can use."""


def _conv_bn_relu(conv: nn.Module, channels: int, bn: type[nn.Module]) -> list[nn.Module]:
    return [conv, bn(channels), nn.ReLU(inplace=True)]


def _audio_cnn() -> nn.Sequential:
    c2 = nn.Conv2d
    bn = nn.BatchNorm2d
    layers: list[nn.Module] = []
    layers += _conv_bn_relu(c2(1, 64, 3, padding=1), 64, bn)
    layers += [nn.Identity()]  # the original has a 1x1, stride-1 max-pool here: an identity
    layers += _conv_bn_relu(c2(64, 192, 3, padding=1), 192, bn)
    layers += [nn.MaxPool2d(3, stride=(1, 2))]
    layers += _conv_bn_relu(c2(192, 384, 3, padding=1), 384, bn)
    layers += _conv_bn_relu(c2(384, 256, 3, padding=1), 256, bn)
    layers += _conv_bn_relu(c2(256, 256, 3, padding=1), 256, bn)
    layers += [nn.MaxPool2d(3, stride=2)]
    layers += _conv_bn_relu(c2(256, 512, (5, 4)), 512, bn)  # 5x4 map -> 1x1
    return nn.Sequential(*layers)


def _lip_cnn() -> nn.Sequential:
    c3 = nn.Conv3d
    bn = nn.BatchNorm3d
    layers: list[nn.Module] = []
    layers += _conv_bn_relu(c3(3, 96, (FRAMES, 7, 7), stride=(1, 2, 2)), 96, bn)  # 5 frames -> 1
    layers += [nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2))]
    layers += _conv_bn_relu(c3(96, 256, (1, 5, 5), stride=(1, 2, 2), padding=(0, 1, 1)), 256, bn)
    layers += [nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))]
    layers += _conv_bn_relu(c3(256, 256, (1, 3, 3), padding=(0, 1, 1)), 256, bn)
    layers += _conv_bn_relu(c3(256, 256, (1, 3, 3), padding=(0, 1, 1)), 256, bn)
    layers += _conv_bn_relu(c3(256, 256, (1, 3, 3), padding=(0, 1, 1)), 256, bn)
    layers += [nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2))]
    layers += _conv_bn_relu(c3(256, 512, (1, 6, 6)), 512, bn)  # 6x6 map -> 1x1
    return nn.Sequential(*layers)


def _head(dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, dim))


class SyncNetV2(nn.Module):
    """syncnet_python's two-stream SyncNet; parameter names match its published checkpoint."""

    def __init__(self, embed_dim: int = EMBED_DIM):
        super().__init__()
        # Attribute creation order matches the original, so state_dict() lists keys in its order.
        self.netcnnaud = _audio_cnn()
        self.netfcaud = _head(embed_dim)
        self.netfclip = _head(embed_dim)
        self.netcnnlip = _lip_cnn()

    def forward_audio(self, mfcc: torch.Tensor) -> torch.Tensor:
        """(N, 1, 13, 20) MFCC patches -> (N, D)."""
        return self.netfcaud(self.netcnnaud(mfcc).flatten(1))

    def forward_visual(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, 3, 5, 224, 224) face-crop stacks, BGR, float 0..255 -> (N, D)."""
        return self.netfclip(self.netcnnlip(frames).flatten(1))


def _unnest(obj: object) -> Mapping:
    if not isinstance(obj, Mapping):
        raise SyncNetCheckpointError(f"expected a state dict, found {type(obj).__name__}")
    if any(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj
    for key in _NEST_KEYS:
        if isinstance(obj.get(key), Mapping):
            return _unnest(obj[key])
    nested = [v for v in obj.values() if isinstance(v, Mapping)]
    if len(nested) == 1:
        return _unnest(nested[0])
    raise SyncNetCheckpointError(f"no state dict of tensors in the checkpoint (top-level keys: {_preview(obj)})")


def _strip(key: str) -> str:
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key


def _preview(keys, limit: int = 5) -> str:
    keys = sorted(map(str, keys))
    more = f", ... ({len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def checked_state_dict(raw: object, model: SyncNetV2) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors under the model's key names; raises on any key or shape mismatch."""
    state = {_strip(str(k)): v for k, v in _unnest(raw).items()}
    expected = model.state_dict()
    # Checkpoints saved before PyTorch 0.4.1 have no BatchNorm batch counters; they are unused in eval.
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    missing = [k for k in expected if k not in state and k not in optional]
    unexpected = [k for k in state if k not in expected]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} key(s): {_preview(missing)}")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} key(s): {_preview(unexpected)}")
    for key, value in state.items():
        if key not in expected:
            continue
        if not isinstance(value, torch.Tensor):
            problems.append(f"{key} is {type(value).__name__}, not a tensor")
        elif tuple(value.shape) != tuple(expected[key].shape):
            problems.append(f"{key} has shape {tuple(value.shape)}, expected {tuple(expected[key].shape)}")
    if problems:
        raise SyncNetCheckpointError("not a syncnet_python SyncNet checkpoint: " + "; ".join(problems[:6]))
    return state


def load_syncnet_v2(path: str | Path) -> SyncNetV2:
    """Load syncnet_python's ``syncnet_v2.model`` (or any checkpoint with its key layout) in eval mode.

    Only tensors and plain containers are unpickled (``weights_only=True``); a file that needs
    anything else is refused rather than executed.
    """
    path = Path(path)
    if not path.is_file():
        raise SyncNetCheckpointError(f"checkpoint not found: {path}")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        if found:
            raise SyncNetCheckpointError(
                f"{path} holds a pickled {found.group(1)}, not just tensors; refusing to unpickle it") from None
        raise SyncNetCheckpointError(f"cannot read {path} as a PyTorch checkpoint") from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise SyncNetCheckpointError(f"cannot read {path} as a PyTorch checkpoint ({type(exc).__name__})") from None
    model = SyncNetV2()
    try:
        state = checked_state_dict(raw, model)
    except SyncNetCheckpointError as exc:
        raise SyncNetCheckpointError(f"{path}: {exc}") from None
    model.load_state_dict(state, strict=False)
    return model.eval()
