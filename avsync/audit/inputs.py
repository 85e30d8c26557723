"""Turn the audit's INPUT arguments (folders, globs, files, CSV/JSONL manifests) into work items."""
from __future__ import annotations

import csv
import glob
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

MANIFEST_SUFFIXES = (".csv", ".jsonl", ".ndjson")
GLOB_CHARS = set("*?[")


class InputError(ValueError):
    """A bad INPUT argument or manifest; the message is one line meant for the user."""


@dataclass(frozen=True)
class Item:
    """One video to audit. ``id`` names it in results (manifest ``id``, else its absolute path)."""

    id: str
    path: str
    audio: str | None = None


def collect(inputs: list[str], extensions: list[str]) -> list[Item]:
    """Expand INPUT arguments into items, in a deterministic order, each id once."""
    exts = tuple("." + e.lower().lstrip(".") for e in extensions)
    items: list[Item] = []
    for arg in inputs:
        items.extend(_expand(arg, exts))
    return _dedupe(items)


def _expand(arg: str, exts: tuple[str, ...]) -> list[Item]:
    path = Path(arg)
    if path.is_dir():
        return [_item(p) for p in _walk(path, exts)]
    if path.is_file():
        if path.suffix.lower() in MANIFEST_SUFFIXES:
            return read_manifest(path)
        return [_item(path)]
    if path.exists():  # a FIFO or a device: the checker gives it a not_a_regular_file record
        return [_item(path)]
    if GLOB_CHARS & set(arg):
        matches = sorted(glob.glob(arg, recursive=True))
        if not matches:
            raise InputError(f"no files match {arg!r}")
        out: list[Item] = []
        for match in matches:
            m = Path(match)
            out.extend([_item(p) for p in _walk(m, exts)] if m.is_dir() else [_item(m)])
        return out
    raise InputError(f"no such file or folder: {arg}")


def _walk(root: Path, exts: tuple[str, ...]) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(exts) and not name.startswith("."):
                found.append(Path(folder) / name)
    return found


def _item(path: Path, audio: str | None = None, id_: str | None = None) -> Item:
    full = os.path.abspath(path)
    return Item(id=id_ or full, path=full, audio=os.path.abspath(audio) if audio else None)


PATH_COLUMNS = ("path", "video", "file")  # the first one a manifest has names the videos


def read_manifest(path: Path) -> list[Item]:
    """CSV or JSONL with a ``path`` column (or ``video`` / ``file``) and optional ``audio`` and ``id``.

    Relative paths are relative to the manifest's folder.
    """
    rows = _read_rows(path)
    base = path.parent
    items = []
    for n, row in enumerate(rows, start=2 if path.suffix.lower() == ".csv" else 1):
        column = next((c for c in PATH_COLUMNS if c in row), "path")
        video = str(row.get(column) or "").strip()
        if not video:
            raise InputError(f"{path}:{n}: empty `{column}`")
        audio = str(row.get("audio") or "").strip() or None
        id_ = row.get("id")
        id_ = str(id_).strip() if id_ not in (None, "") else None
        items.append(_item(base / str(video), base / str(audio) if audio else None, id_))
    return items


def _read_rows(path: Path) -> list[dict]:
    try:
        if path.suffix.lower() == ".csv":
            with open(path, newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                if not reader.fieldnames or not set(PATH_COLUMNS) & set(reader.fieldnames):
                    raise InputError(f"manifest {path} has no `path` column (columns: path, audio, id)")
                return list(reader)
        rows = []
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
                if not isinstance(row, dict) or not set(PATH_COLUMNS) & set(row):
                    raise InputError(f"{path}:{n}: each line needs an object with a `path` key")
                rows.append(row)
        return rows
    except UnicodeDecodeError:
        raise InputError(f"manifest {path} is not UTF-8 text") from None


def _dedupe(items: list[Item]) -> list[Item]:
    seen: dict[str, Item] = {}
    for item in items:
        prior = seen.get(item.id)
        if prior is None:
            seen[item.id] = item
        elif prior != item:
            raise InputError(f"id {item.id!r} names two different inputs: {prior.path} and {item.path}")
    return list(seen.values())


def file_key(item: Item, content_hash: bool) -> str:
    """What makes an item "already done": path+size+mtime, or the content's SHA-256 with --hash."""
    parts = [_fingerprint(item.path, content_hash)]
    if item.audio:
        parts.append("audio " + _fingerprint(item.audio, content_hash))
    return " | ".join(parts)


def _fingerprint(path: str, content_hash: bool) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return f"missing:{path}"
    if not content_hash or not stat.S_ISREG(st.st_mode):  # reading a FIFO blocks, /dev/zero never ends
        return f"{path}:{st.st_size}:{st.st_mtime_ns}"
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return f"unreadable:{path}"
    return "sha256:" + digest.hexdigest()
