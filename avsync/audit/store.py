"""``results.jsonl``: one record per video, appended and fsynced as each video finishes.

Only the audit's main process writes it, so every line is whole except, after a crash or
``kill -9`` in the middle of a write, a torn last line, which :meth:`ResultStore.open` cuts off.
Records are streamed, never all held in memory: a folder may hold tens of thousands.
"""
from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

RESULTS = "results.jsonl"
META = "audit.json"
LOCK = ".audit.lock"
META_SCHEMA = "avsync.audit/1"


class StoreError(RuntimeError):
    """The results folder cannot be used; the message is one line meant for the user."""


class CannotCreate(StoreError):
    """The results folder or a file in it cannot be created (read-only, under a regular file, ...)."""


class WriteFailed(StoreError):
    """A write into the results folder failed part way (disk full); what was written is whole."""


def write_error(path: Path, exc: OSError) -> WriteFailed:
    what = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else exc.strerror or str(exc)
    return WriteFailed(f"cannot write {path}: {what}; finished records are saved, "
                       "rerun the same command to finish")


def scan(path: str | Path) -> Iterator[tuple[bytes, dict, int]]:
    """Yield (raw line, record, end offset) for each whole record line of a results file.

    A last line without its newline is torn and is not yielded. Any other line that is not a
    JSON object means the file was edited by something else: that stops with a clear error.
    """
    path = Path(path)
    if not path.exists():
        return
    size = path.stat().st_size
    offset = 0
    with open(path, "rb") as fh:
        for raw in fh:
            end = offset + len(raw)
            if not raw.endswith(b"\n"):
                return
            text = raw.strip()
            if text:
                try:
                    record = json.loads(text)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    record = None
                if not isinstance(record, dict):
                    if end >= size:
                        return  # a torn tail that happens to end in a newline byte
                    raise StoreError(f"{path}: the line at byte {offset} is not a JSON record; fix or remove it")
                yield raw, record, end
            offset = end


def read_records(path: str | Path) -> list[dict]:
    return [record for _, record, _ in scan(path)]


class ResultStore:
    """The results folder of one audit: results.jsonl, audit.json (key mode), a lock."""

    def __init__(self, out_dir: str | Path):
        self.dir = Path(out_dir)
        self.path = self.dir / RESULTS
        self._fd: int | None = None
        self._lock = None

    def open(self, key_mode: str) -> None:
        """Lock the folder, check the key mode and cut off a torn last line."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.dir / LOCK, "w")
        except OSError as exc:
            raise CannotCreate(f"cannot create the results folder {self.dir}: {os_reason(exc)}") from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise StoreError(f"another audit is writing to {self.dir}") from None
        self._check_meta(key_mode)
        if self.path.exists():
            good_end = 0
            for _, _, end in scan(self.path):
                good_end = end
            if good_end < self.path.stat().st_size:
                with open(self.path, "r+b") as fh:
                    fh.truncate(good_end)
                    os.fsync(fh.fileno())
        self._fd = self._open_append()

    def _open_append(self) -> int:
        try:
            return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise CannotCreate(f"cannot create {self.path}: {os_reason(exc)}") from None

    def records(self) -> Iterator[dict]:
        for _, record, _ in scan(self.path):
            yield record

    def _check_meta(self, key_mode: str) -> None:
        meta_path = self.dir / META
        if meta_path.exists():
            try:
                prior = json.loads(meta_path.read_text()).get("key_mode")
            except (json.JSONDecodeError, AttributeError):
                prior = None
            if prior in ("stat", "sha256") and prior != key_mode:
                how = "with --hash" if prior == "sha256" else "without --hash"
                raise StoreError(f"{self.dir} was audited {how}; rerun {how} or choose another --out")
            if prior is not None:
                return
        write_meta(self.dir, key_mode)

    def append(self, record: dict) -> None:
        """Write one whole line or nothing: a failed write (disk full) is cut off again."""
        line = dumps_record(record)
        start = os.fstat(self._fd).st_size
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view):]
            os.fsync(self._fd)
        except OSError as exc:
            try:
                os.ftruncate(self._fd, start)
            except OSError:
                pass  # the next open cuts off the torn line
            raise write_error(self.path, exc) from None

    def drop(self, unwanted: Callable[[dict], bool]) -> int:
        """Atomically rewrite results.jsonl without the records ``unwanted`` picks; kept lines stay byte-identical."""
        os.close(self._fd)
        self._fd = None
        doomed = 0

        def kept():
            nonlocal doomed
            for raw, record, _ in scan(self.path):
                if unwanted(record):
                    doomed += 1
                else:
                    yield raw

        _write_atomic(self.path, kept())
        self._fd = self._open_append()
        return doomed

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        if self._lock:
            self._lock.close()
        self._fd = self._lock = None


def write_records(path: Path, records) -> None:
    """Write a whole results file atomically (used by ``avsync merge``)."""
    _write_atomic(path, (dumps_record(record) for record in records))


def write_meta(out_dir: Path, key_mode: str, **extra) -> None:
    meta = {"schema": META_SCHEMA, "key_mode": key_mode,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), **extra}
    write_text_atomic(out_dir / META, json.dumps(meta, indent=2) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    # a file name that is not UTF-8 reaches Python with lone surrogates: written as \udcXX, not refused
    _write_atomic(path, [text.encode("utf-8", "backslashreplace")])


def _write_atomic(path: Path, chunks) -> None:
    """Write ``chunks`` (bytes) to a temporary file beside ``path``, fsync it, then rename it over."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_error(path, exc) from None
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def os_reason(exc: OSError) -> str:
    if isinstance(exc, (NotADirectoryError, FileExistsError)):
        return "a regular file is in the way"
    return exc.strerror or str(exc)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps_record(record: dict) -> bytes:
    """One JSON line; NaN/inf become null and numpy values plain lists/numbers (strict JSON).

    A file name that is not UTF-8 (an old archive's Latin-1, say) reaches Python with lone
    surrogates (surrogateescape), which UTF-8 cannot hold: they are written as ``\\udcXX`` escapes,
    so the line stays UTF-8 and ``json.loads`` gives the same name back (a rerun finds the video done)."""
    text = json.dumps(_clean(record), ensure_ascii=False, allow_nan=False)
    return (_LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n").encode("utf-8")


def _clean(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _clean(value.tolist())
    return value
