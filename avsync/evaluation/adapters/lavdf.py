"""LAV-DF: ``metadata.json`` (or ``metadata.min.json``) as published.

A JSON list with one object per video, e.g.::

    {"file": "train/000001.mp4", "n_fakes": 1, "fake_periods": [[2.44, 3.88]], "duration": 8.52,
     "original": "train/000000.mp4", "modify_video": true, "modify_audio": false,
     "split": "train", "video_frames": 213, "audio_channels": 1, "audio_frames": 136320, ...}

``file`` is relative to the dataset root; ``fake_periods`` are seconds.
"""
from __future__ import annotations

from pathlib import Path

from avsync.evaluation.adapters import metadata_file, read_json, register_adapter
from avsync.evaluation.manifest import ManifestError, Row


def modification(video: bool, audio: bool) -> str:
    return {(False, False): "real", (True, False): "visual_modified",
            (False, True): "audio_modified", (True, True): "both_modified"}[(bool(video), bool(audio))]


def lipsync_label(kind: str) -> int | None:
    """Replaced words: audio-only or video-only replacement leaves mouth and speech disagreeing
    (1); replacing both re-generates the mouth from the new audio, consistent by construction
    (None, scored but kept out of the binary metrics; docs/datasets.md)."""
    return {"real": 0, "visual_modified": 1, "audio_modified": 1, "both_modified": None}[kind]


@register_adapter("lavdf", splits=("train", "dev", "test"), description="LAV-DF (metadata.json)")
def load(root: Path, split: str | None = None, labels: str = "lipsync") -> list[Row]:
    meta = metadata_file(root, "metadata.json", "metadata.min.json")
    entries = read_json(meta)
    if not isinstance(entries, list):
        raise ManifestError(f"{meta}: expected a JSON list of videos")
    rows = []
    for i, e in enumerate(entries):
        try:
            if split is not None and e["split"] != split:
                continue
            kind = modification(e["modify_video"], e["modify_audio"])
            periods = [[float(a), float(b)] for a, b in e["fake_periods"]]
            official = int(kind != "real")
            rows.append(Row(
                path=str(meta.parent / e["file"]),
                label=official if labels == "official" else lipsync_label(kind),
                group=kind,
                fake_periods=periods,
                meta={"dataset": "lavdf", "file": e["file"], "split": e["split"], "official_label": official,
                      "original": e.get("original"), "duration": e.get("duration")},
            ))
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"{meta}: entry {i} ({e.get('file', '?') if isinstance(e, dict) else e!r}): "
                                f"bad or missing field {exc}") from None
    return rows
