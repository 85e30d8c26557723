"""Per-video report cache, so a second evaluation (other labels, other groups) decodes nothing.

A report is stored as JSON under ``ROOT/<scorer>/<kk>/<key>.json``. The key hashes the video's
absolute path, size and modification time (and the same for a separate audio file) together with
the scorer's name and version, so an edited file or another model is a miss, never a stale hit.
Reports with verdict ``error`` are not stored: the next run tries those files again.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from avsync.report import SyncReport


def default_cache_dir() -> Path:
    """``$AVSYNC_CACHE_DIR``, else ``$XDG_CACHE_HOME/avsync/reports`` (``~/.cache/avsync/reports``)."""
    env = os.environ.get("AVSYNC_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "avsync" / "reports"


def file_identity(path: str | os.PathLike | None) -> list | None:
    """[absolute path, size, mtime_ns], or None when there is no such file."""
    if path is None:
        return None
    p = Path(path).expanduser().resolve()
    try:
        st = p.stat()
    except OSError:
        return None
    return [str(p), st.st_size, st.st_mtime_ns]


class ReportCache:
    """Reports of one scorer (``scorer = {"name": ..., "version": ...}``) keyed by input files."""

    def __init__(self, root: str | os.PathLike, scorer: dict[str, str]):
        self.scorer = {"name": str(scorer.get("name", "")), "version": str(scorer.get("version", ""))}
        tag = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{self.scorer['name']}-{self.scorer['version']}")
        self.root = Path(root).expanduser() / tag
        self.hits = 0
        self.misses = 0

    def key(self, path, audio=None) -> str | None:
        video = file_identity(path)
        if video is None:
            return None
        blob = json.dumps({"video": video, "audio": file_identity(audio) if audio else None,
                           "scorer": self.scorer}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _file(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, path, audio=None) -> SyncReport | None:
        key = self.key(path, audio)
        if key is None or not self._file(key).is_file():
            self.misses += 1
            return None
        try:
            data = json.loads(self._file(key).read_text())
            report = SyncReport.from_dict(data)
        except (OSError, ValueError, TypeError):
            self.misses += 1  # a torn or foreign file: score again and overwrite it
            return None
        self.hits += 1
        return report

    def put(self, path, report: SyncReport, audio=None) -> bool:
        """Store ``report`` (atomically); False when it is not cacheable."""
        if report.verdict == "error":
            return False
        key = self.key(path, audio)
        if key is None:
            return False
        target = self._file(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(report.to_json())
        os.replace(tmp, target)
        return True
