"""Labelled sets to evaluate: one :class:`Row` per video, read from CSV or JSONL manifests.

A manifest has a ``path`` column (``file`` is accepted too), a label (``label``: real/fake or
0/1), and optional ``audio`` and ``group`` columns. JSONL rows may also carry ``fake_periods``
(``[[start_s, end_s], ...]``) for segment scoring. Relative paths are relative to the manifest.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

FAKE_WORDS = {"fake", "1", "true", "yes", "spoof", "manipulated"}
REAL_WORDS = {"real", "0", "false", "no", "bonafide", "bona-fide", "genuine", "pristine"}
PATH_KEYS = ("path", "file")


class ManifestError(ValueError):
    """A manifest or dataset metadata file that cannot be used; the message names the place."""


@dataclass
class Row:
    """One video to score. ``label`` is 1 for fake, 0 for real, None for "score but leave out of
    the binary metrics" (see docs/datasets.md for which benchmark items get None)."""

    path: str
    label: int | None
    audio: str | None = None
    group: str | None = None
    fake_periods: list[list[float]] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def parse_label(value: Any) -> int:
    """real/fake, 0/1, true/false (any case) -> 0/1; anything else raises ValueError."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    text = str(value).strip().lower()
    if text in FAKE_WORDS:
        return 1
    if text in REAL_WORDS:
        return 0
    raise ValueError(f"label {value!r} is not real/fake or 0/1")


def read_manifest(path: str | Path) -> list[Row]:
    """Read a CSV or JSONL manifest (JSONL when the name ends in .jsonl/.ndjson/.json)."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found")
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        records = _read_jsonl(path)
    else:
        records = _read_csv(path)
    rows = [_to_row(record, where, path.parent) for where, record in records]
    if not rows:
        raise ManifestError(f"{path}: manifest has no rows")
    return rows


def _read_csv(path: Path) -> Iterable[tuple[str, dict[str, Any]]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        if not any(k in fields for k in PATH_KEYS):
            raise ManifestError(f"{path}: needs a 'path' column (found: {', '.join(fields) or 'nothing'})")
        if "label" not in fields:
            raise ManifestError(f"{path}: needs a 'label' column (found: {', '.join(fields)})")
        out = []
        for line, record in enumerate(reader, start=2):
            record = {(k or "").strip().lower(): (v.strip() if isinstance(v, str) else v)
                      for k, v in record.items()}
            if not any(record.values()):
                continue
            out.append((f"{path}:{line}", record))
        return out


def _read_jsonl(path: Path) -> Iterable[tuple[str, dict[str, Any]]]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ManifestError(f"{path}:{line}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise ManifestError(f"{path}:{line}: each line must be a JSON object")
            out.append((f"{path}:{line}", {str(k).lower(): v for k, v in record.items()}))
    return out


def _to_row(record: dict[str, Any], where: str, base: Path) -> Row:
    video = next((record[k] for k in PATH_KEYS if record.get(k)), None)
    if not video:
        raise ManifestError(f"{where}: empty path")
    if record.get("label") in (None, ""):
        raise ManifestError(f"{where}: empty label")
    try:
        label = parse_label(record["label"])
    except ValueError as exc:
        raise ManifestError(f"{where}: {exc}") from None
    audio = record.get("audio") or None
    periods = record.get("fake_periods")
    if isinstance(periods, str):
        periods = json.loads(periods) if periods.strip() else None
    group = record.get("group")
    extra = {k: v for k, v in record.items()
             if k not in (*PATH_KEYS, "label", "audio", "group", "fake_periods")}
    return Row(
        path=_resolve(video, base),
        label=label,
        audio=_resolve(audio, base) if audio else None,
        group=str(group) if group not in (None, "") else None,
        fake_periods=[[float(a), float(b)] for a, b in periods] if periods is not None else None,
        meta=extra,
    )


def _resolve(value: str, base: Path) -> str:
    p = Path(str(value)).expanduser()
    return str(p if p.is_absolute() else base / p)

