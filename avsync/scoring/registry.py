"""Turn a ``--model`` value into a scorer.

Accepted forms:

- ``baseline``: the signal-processing scorer (no weights).
- ``syncnet_v2:PATH``: syncnet_python's published SyncNet checkpoint at PATH.
- ``default``: the learned model shipped in the package (``syncnet_lite``), or ``baseline``
  when no weights ship.
- ``syncnet_lite``: the shipped learned model, by name.
- ``PATH``: any checkpoint ``avsync train`` wrote (a ``.safetensors`` file or its folder).

Scorer modules are imported only when asked for, so ``--model baseline`` never imports the
SyncNet model code and an unused checkpoint is never read.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from avsync.scoring.base import SCORERS, Scorer

# Scorer name -> module whose import registers it in SCORERS.
_MODULES = {
    "baseline": "avsync.scoring.baseline",
    "syncnet_v2": "avsync.scoring.syncnet_v2",
    "syncnet_lite": "avsync.scoring.learned",
}
SHIPPED_WEIGHTS = {"syncnet_lite": Path(__file__).resolve().parent.parent / "weights" / "syncnet_lite.safetensors"}
# Scorers built from a file given after "NAME:".
_NEEDS_PATH = {"syncnet_v2"}


class ModelSpecError(ValueError):
    """A ``--model`` value that names no known scorer or lacks what it needs."""


def _factory(name: str):
    if name not in SCORERS:
        importlib.import_module(_MODULES[name])
    return SCORERS[name]


def resolve_scorer(spec: str) -> Scorer:
    """The scorer a ``--model`` value names, e.g. ``baseline`` or ``syncnet_v2:/path/syncnet_v2.model``."""
    spec = (spec or "").strip()
    if spec == "default":
        spec = "syncnet_lite" if SHIPPED_WEIGHTS["syncnet_lite"].exists() else "baseline"
    name, sep, arg = spec.partition(":")  # split at the first colon only: PATH may hold colons
    if name in _NEEDS_PATH:
        if not sep or not arg:
            raise ModelSpecError(f"--model {name} needs a checkpoint path: {name}:PATH")
        return _factory(name)(arg)
    if spec in SHIPPED_WEIGHTS:
        if not SHIPPED_WEIGHTS[spec].exists():
            raise ModelSpecError(f"model {spec!r} has no weights in this installation")
        return _factory(spec)(str(SHIPPED_WEIGHTS[spec]))
    if name in _MODULES and not sep:
        return _factory(name)()
    path = Path(spec)
    if path.is_dir():
        path = path / "model.safetensors"
    if path.suffix == ".safetensors":
        if not path.exists():
            raise ModelSpecError(f"no such checkpoint: {path}")
        return _factory("syncnet_lite")(str(path))
    known = ", ".join(sorted(n + (":PATH" if n in _NEEDS_PATH else "") for n in _MODULES))
    raise ModelSpecError(f"unknown model {spec!r}; expected one of: {known}")
