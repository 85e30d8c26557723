"""DFDC: each part's ``metadata.json`` as published, a JSON object keyed by file name::

    {"aagfhgtpmv.mp4": {"label": "FAKE", "split": "train", "original": "vudstovrck.mp4"},
     "vudstovrck.mp4": {"label": "REAL", "split": "train", "original": null}}

ROOT is one part folder (``dfdc_train_part_0``), its ``metadata.json``, or a folder of parts.
The metadata does not say which fakes had their audio swapped, so both label modes use the
official label (docs/datasets.md explains what that means for a lip-sync detector).
"""
from __future__ import annotations

from pathlib import Path

from avsync.evaluation.adapters import read_json, register_adapter
from avsync.evaluation.manifest import ManifestError, Row


def _metadata_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if (root / "metadata.json").is_file():
        return [root / "metadata.json"]
    found = sorted(p / "metadata.json" for p in root.iterdir() if (p / "metadata.json").is_file())
    if not found:
        raise ManifestError(f"{root}: no metadata.json in it or in its part folders")
    return found


@register_adapter("dfdc", splits=("train", "test"), description="DFDC (each part's metadata.json)")
def load(root: Path, split: str | None = None, labels: str = "lipsync") -> list[Row]:
    rows = []
    for meta in _metadata_files(root):
        entries = read_json(meta)
        if not isinstance(entries, dict):
            raise ManifestError(f"{meta}: expected a JSON object keyed by file name")
        for name, e in sorted(entries.items()):
            try:
                label = {"FAKE": 1, "REAL": 0}[str(e["label"]).upper()]
            except (KeyError, TypeError):
                raise ManifestError(f"{meta}: {name}: label must be FAKE or REAL") from None
            if split is not None and e.get("split") != split:
                continue
            rows.append(Row(
                path=str(meta.parent / name),
                label=label,
                group=meta.parent.name,
                meta={"dataset": "dfdc", "official_label": label, "split": e.get("split"),
                      "original": e.get("original")},
            ))
    return rows
