"""FakeAVCeleb (v1.2): ``meta_data.csv`` as published.

The published header is ``source,target1,target2,method,category,type,race,gender,path,`` (nine
names and a trailing comma) while every row has ten values: the ninth is the file name and the
tenth the folder, e.g.::

    id00076,-,-,real,A,RealVideo-RealAudio,African,men,00109.mp4,FakeAVCeleb/RealVideo-RealAudio/African/men/id00076

so columns are read by position. The folder starts with ``FakeAVCeleb/`` while the archive
unpacks as ``FakeAVCeleb_v1.2/``; the video is looked for under the folder holding
``meta_data.csv`` with and without that first component (and beside that folder).
"""
from __future__ import annotations

import csv
from pathlib import Path

from avsync.evaluation.adapters import metadata_file, register_adapter
from avsync.evaluation.manifest import ManifestError, Row

NAMED = ("source", "target1", "target2", "method", "category", "type", "race", "gender")
CATEGORIES = {
    "A": "RealVideo-RealAudio",
    "B": "RealVideo-FakeAudio",
    "C": "FakeVideo-RealAudio",
    "D": "FakeVideo-FakeAudio",
}


def lipsync_label(kind: str, method: str) -> int | None:
    """1: the audio no longer belongs to the mouth; 0: it still does; None: the mouth was
    re-generated from the shipped audio (Wav2Lip), consistent by construction (docs/datasets.md)."""
    if kind == "RealVideo-RealAudio":
        return 0
    if "wav2lip" in method.lower():
        return None
    if kind == "RealVideo-FakeAudio":
        return 1  # cloned voice over the untouched original mouth
    if kind == "FakeVideo-RealAudio":
        return 0  # face swap: the mouth still follows the original speech, which is kept
    if kind == "FakeVideo-FakeAudio":
        return 1  # cloned voice over a swapped face whose mouth follows the original speech
    raise ValueError(kind)


def _resolve(root: Path, folder: str, name: str) -> str:
    parts = Path(folder).parts
    candidates = [root / Path(*parts[1:]) / name if len(parts) > 1 else root / name,
                  root / folder / name, root.parent / folder / name]
    return str(next((c for c in candidates if c.is_file()), candidates[0]))


@register_adapter("fakeavceleb", description="FakeAVCeleb v1.2 (meta_data.csv)")
def load(root: Path, split: str | None = None, labels: str = "lipsync") -> list[Row]:
    meta = metadata_file(root, "meta_data.csv")
    base = meta.parent
    rows = []
    with open(meta, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, [])]
        while header and not header[-1]:
            header.pop()
        if tuple(header[:8]) != NAMED:
            raise ManifestError(f"{meta}: header {','.join(header)!r} is not FakeAVCeleb's "
                                f"({','.join(NAMED)},path,)")
        for line, values in enumerate(reader, start=2):
            values = [v.strip() for v in values]
            while values and not values[-1]:
                values.pop()
            if not values:
                continue
            if len(values) < 10:
                raise ManifestError(f"{meta}:{line}: expected 10 values (…,gender,filename,folder), got {len(values)}")
            rec = dict(zip(NAMED, values))
            name, folder = values[8], values[9]
            kind = rec["type"] or CATEGORIES.get(rec["category"], "")
            if kind not in CATEGORIES.values():
                raise ManifestError(f"{meta}:{line}: unknown type {kind!r}")
            official = int(kind != "RealVideo-RealAudio")
            label = official if labels == "official" else lipsync_label(kind, rec["method"])
            rows.append(Row(
                path=_resolve(base, folder, name),
                label=label,
                group=f"{kind}:{rec['method']}",
                meta={"dataset": "fakeavceleb", "official_label": official, "category": kind,
                      **{k: rec[k] for k in ("source", "target1", "target2", "method", "race", "gender")}},
            ))
    return rows
