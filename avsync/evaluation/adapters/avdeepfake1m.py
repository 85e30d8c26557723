"""AV-Deepfake1M: the per-split metadata JSON as published (``train_metadata.json``,
``val_metadata.json``), each a list of objects such as::

    {"file": "id00012/abc/00001/fake_video_fake_audio.mp4", "original": "id00012/abc/00001/real.mp4",
     "split": "val", "modify_type": "both_modified", "audio_model": "YourTTS",
     "fake_segments": [[1.2, 1.6]], "audio_fake_segments": [[1.2, 1.6]],
     "visual_fake_segments": [[1.2, 1.6]], "video_frames": 120, "audio_frames": 76800}

Videos live in ``ROOT/<split>/<file>``. The test split ships no labels and is not read.
"""
from __future__ import annotations

from pathlib import Path

from avsync.evaluation.adapters import read_json, register_adapter
from avsync.evaluation.manifest import ManifestError, Row

KINDS = ("real", "visual_modified", "audio_modified", "both_modified")
SPLITS = ("train", "val")


def lipsync_label(kind: str) -> int | None:
    """As LAV-DF (same authors, same word-replacement design): one modality replaced -> 1,
    both re-generated together -> None (consistent by construction), real -> 0."""
    return {"real": 0, "visual_modified": 1, "audio_modified": 1, "both_modified": None}[kind]


@register_adapter("avdeepfake1m", splits=SPLITS, description="AV-Deepfake1M ({split}_metadata.json)")
def load(root: Path, split: str | None = None, labels: str = "lipsync") -> list[Row]:
    if root.is_file():
        files = {root.name.replace("_metadata.json", ""): root}
        base = root.parent
    else:
        base = root
        files = {s: root / f"{s}_metadata.json" for s in ([split] if split else SPLITS)
                 if (root / f"{s}_metadata.json").is_file()}
        if not files:
            want = f"{split}_metadata.json" if split else "train_metadata.json or val_metadata.json"
            raise ManifestError(f"{root}: {want} not found")
    rows = []
    for name, meta in files.items():
        entries = read_json(meta)
        if not isinstance(entries, list):
            raise ManifestError(f"{meta}: expected a JSON list of videos")
        for i, e in enumerate(entries):
            try:
                folder = e.get("split") or name
                if split is not None and folder != split:
                    continue
                kind = str(e["modify_type"]).replace("-", "_")
                if kind not in KINDS:
                    raise ValueError(f"modify_type {e['modify_type']!r}")
                official = int(kind != "real")
                rows.append(Row(
                    path=str(base / folder / e["file"]),
                    label=official if labels == "official" else lipsync_label(kind),
                    group=kind,
                    fake_periods=[[float(a), float(b)] for a, b in e["fake_segments"]],
                    meta={"dataset": "avdeepfake1m", "file": e["file"], "split": folder,
                          "official_label": official, "audio_model": e.get("audio_model"),
                          "original": e.get("original")},
                ))
            except (KeyError, TypeError, ValueError) as exc:
                raise ManifestError(f"{meta}: entry {i}: bad or missing field {exc}") from None
    return rows
