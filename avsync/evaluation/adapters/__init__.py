"""Benchmark adapters: each reads one dataset's own metadata, as published, into manifest rows.

``ADAPTERS[name].load(root, split=None, labels="lipsync")`` returns a list of
:class:`avsync.evaluation.manifest.Row`. ``labels="official"`` keeps the benchmark's own
real/fake label; ``"lipsync"`` (the default) labels by whether the audio still belongs to the
visible mouth, as argued in docs/datasets.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from avsync.evaluation.manifest import ManifestError, Row

LABEL_MODES = ("lipsync", "official")


@dataclass(frozen=True)
class Adapter:
    name: str
    loader: Callable[..., list[Row]]
    splits: tuple[str, ...]
    description: str

    def load(self, root: str | Path, split: str | None = None, labels: str = "lipsync") -> list[Row]:
        if labels not in LABEL_MODES:
            raise ManifestError(f"labels must be one of {', '.join(LABEL_MODES)}, not {labels!r}")
        if split is not None and split not in self.splits:
            have = ", ".join(self.splits) if self.splits else "none (it publishes no split)"
            raise ManifestError(f"{self.name}: unknown split {split!r}; splits: {have}")
        root = Path(root).expanduser()
        if not root.exists():
            raise ManifestError(f"{root}: no such file or folder")
        rows = self.loader(root, split=split, labels=labels)
        if not rows:
            raise ManifestError(f"{self.name}: no videos found under {root}"
                                + (f" for split {split!r}" if split else ""))
        return rows


ADAPTERS: dict[str, Adapter] = {}


def register_adapter(name: str, splits: tuple[str, ...] = (), description: str = ""):
    """Decorator: register ``loader(root, split, labels) -> list[Row]`` under ``name``."""

    def wrap(loader):
        ADAPTERS[name] = Adapter(name, loader, tuple(splits), description or (loader.__doc__ or "").strip())
        return loader

    return wrap


def metadata_file(root: Path, *names: str) -> Path:
    """``root`` itself when it is a file, else the first of ``names`` inside it."""
    if root.is_file():
        return root
    for name in names:
        if (root / name).is_file():
            return root / name
    raise ManifestError(f"{root}: none of {', '.join(names)} found")


def read_json(path: Path):
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


from avsync.evaluation.adapters import avdeepfake1m, dfdc, fakeavceleb, lavdf  # noqa: E402,F401
