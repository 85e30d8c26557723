"""``avsync merge``: combine result folders (e.g. one per shard) into one folder and one report."""
from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from avsync.audit.config import AuditConfig
from avsync.audit.job import AuditResult, write_outputs
from avsync.audit.store import (LOCK, META, RESULTS, CannotCreate, StoreError, _fsync_dir, os_reason, write_error, scan,
                                 write_meta)
from avsync.audit.summary import record_id, slim


def merge_dirs(dirs: list[str], out: str, fail_on: list[str] | None = None,
               config_dir: str | None = None) -> AuditResult:
    """One record per video id across ``dirs``.

    When folders disagree about a video, a real verdict beats an ``error`` and, between equals,
    the record that finished last wins (folder order breaks ties).
    """
    cfg = AuditConfig.load(config_dir)
    flagged = set(cfg.fail_on if fail_on is None else fail_on)
    sources = [Path(d) / RESULTS for d in dirs]
    for d, src in zip(dirs, sources):
        if not src.exists():
            raise StoreError(f"{d} holds no {RESULTS}")

    best: dict[str, tuple[tuple, int, int]] = {}
    for si, src in enumerate(sources):
        for li, (_, record, _) in enumerate(scan(src)):
            rank = (record.get("verdict") != "error", str((record.get("audit") or {}).get("finished_at") or ""), si)
            rid = record_id(record)
            if rid not in best or rank >= best[rid][0]:
                best[rid] = (rank, si, li)
    winners = {(si, li) for _, si, li in best.values()}

    out_dir = Path(out)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        lock = open(out_dir / LOCK, "w")
    except OSError as exc:
        raise CannotCreate(f"cannot create the results folder {out_dir}: {os_reason(exc)}") from None
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(f"an audit is writing to {out_dir}") from None
        records = []
        tmp = out_dir / (RESULTS + ".tmp")
        try:
            with open(tmp, "wb") as fh:
                for si, src in enumerate(sources):
                    for li, (raw, record, _) in enumerate(scan(src)):
                        if (si, li) in winners:
                            fh.write(raw)
                            records.append(slim(record, flagged))
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise write_error(out_dir / RESULTS, exc) from None
        os.replace(tmp, out_dir / RESULTS)
        _fsync_dir(out_dir)
        write_meta(out_dir, _key_mode(dirs), merged_from=[str(Path(d).resolve()) for d in dirs])
        write_outputs(out_dir, records, flagged)
    failing = sorted(record_id(r) for r in records if r.get("verdict") in flagged)
    counts: dict[str, int] = {}
    for r in records:
        counts[str(r.get("verdict"))] = counts.get(str(r.get("verdict")), 0) + 1
    return AuditResult(out_dir, len(records), 0, 0, counts, failing)


def _key_mode(dirs: list[str]) -> str:
    modes = set()
    for d in dirs:
        try:
            modes.add(json.loads((Path(d) / META).read_text()).get("key_mode") or "unknown")
        except (OSError, json.JSONDecodeError, AttributeError):
            modes.add("unknown")
    return modes.pop() if len(modes) == 1 else "mixed"
