"""Labelled sets to evaluate: one :class:`Row` per video, read from CSV or JSONL manifests.

A manifest has a ``path`` column (``file`` is accepted too), a label (``label``: real/fake or
0/1), and optional ``audio`` and ``group`` columns. JSONL rows may also carry ``fake_periods``
(``[[start_s, end_s], ...]``) for segment scoring. Relative paths are relative to the manifest.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avsync.sources import Clip, SourceError, parse_label, read_sources

__all__ = ["ManifestError", "Row", "parse_label", "read_manifest"]


class ManifestError(SourceError):
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


def read_manifest(path: str | Path) -> list[Row]:
    """The rows of a labelled CSV or JSONL manifest (read by :func:`avsync.sources.read_sources`)."""
    try:
        clips = read_sources([path], require=("label",))
    except SourceError as exc:
        raise ManifestError(str(exc)) from None
    if not clips:
        raise ManifestError(f"{path}: manifest has no rows")
    return [_to_row(clip) for clip in clips]


def _to_row(clip: Clip) -> Row:
    extra = dict(clip.extra)
    periods = extra.pop("fake_periods", None)
    if isinstance(periods, str):
        try:
            periods = json.loads(periods) if periods.strip() else None
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{clip.video}: fake_periods is not JSON ({exc.msg})") from None
    return Row(path=clip.video, label=clip.label, audio=clip.audio, group=clip.group,
               fake_periods=[[float(a), float(b)] for a, b in periods] if periods is not None else None,
               meta=extra)
