"""Clip lists from a corpus manifest (the ``shared/corpus/manifest.csv`` format) or a plain folder."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

VIDEO_EXTENSIONS = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".m4v", ".flv", ".ts", ".wmv"}


@dataclass
class ClipEntry:
    id: str
    path: str
    audio: str | None = None
    split: str = ""
    category: str = ""
    source: str = ""  # the manifest's ``repo``: training weighs sources by it


def clip_id(relative: str) -> str:
    stem = str(Path(relative).with_suffix(""))
    return stem.replace("/", "__").replace(" ", "_")


def read_clips(source: str | Path, splits: set[str] | None = None, categories: set[str] | None = None) -> list[ClipEntry]:
    """Clips from a manifest CSV, a folder holding ``manifest.csv``, or a plain folder of videos."""
    source = Path(source)
    if source.is_dir() and (source / "manifest.csv").exists():
        source = source / "manifest.csv"
    if source.is_dir():
        return [ClipEntry(clip_id(str(p.relative_to(source))), str(p))
                for p in sorted(source.rglob("*")) if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file()]
    root = source.parent
    driving = driving_audio(root)
    entries = []
    with open(source, newline="") as fh:
        for row in csv.DictReader(fh):
            rel = row.get("file") or row.get("path")
            if not rel:
                continue
            if splits and row.get("split", "") not in splits:
                continue
            if categories and row.get("category", "") not in categories:
                continue
            path = Path(rel) if Path(rel).is_absolute() else root / rel
            audio = row.get("audio") or driving.get(rel)
            if audio and not Path(audio).is_absolute():
                audio = str(root / audio)
            entries.append(ClipEntry(row.get("id") or clip_id(rel), str(path), audio or None,
                                     row.get("split", ""), row.get("category", ""), row.get("repo", "")))
    return entries


def driving_audio(root: Path) -> dict[str, str]:
    """Video -> driving-audio file for generator outputs that have no audio stream."""
    pairs = root / "generated_noaudio_pairs.csv"
    if not pairs.exists():
        return {}
    with open(pairs, newline="") as fh:
        return {row["video"]: row["audio"] for row in csv.DictReader(fh) if row.get("video") and row.get("audio")}
