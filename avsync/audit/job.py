"""One audit from start to finish: inputs -> resume -> workers -> results.jsonl, summary.csv, report.html."""
from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from avsync.audit.config import AuditConfig
from avsync.audit.html_report import write_report
from avsync.audit.keys import file_key
from avsync.audit.shard import shard
from avsync.audit.runner import RunnerOptions, default_workers, run_items
from avsync.audit.store import ResultStore
from avsync.audit.summary import record_id, slim, write_summary
from avsync.sources import Clip, SourceError, read_sources


@dataclass
class AuditOptions:
    inputs: list[str]
    out: str
    workers: int | None = None
    time_limit_s: float | None = None
    memory_limit_mb: float | None = None
    shard: tuple[int, int] | None = None
    content_hash: bool = False
    retry_errors: bool = False
    fail_on: list[str] | None = None
    quiet: bool = False
    config_dir: str | None = None
    model: str | None = None


@dataclass
class AuditResult:
    out: Path
    selected: int
    skipped: int
    checked: int
    counts: dict[str, int] = field(default_factory=dict)
    failing: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failing else 0


def run_audit(opts: AuditOptions, log: Callable[[str], None] | None = None) -> AuditResult:
    log = log or _stderr
    cfg = AuditConfig.load(opts.config_dir)
    fail_on = set(cfg.fail_on if opts.fail_on is None else opts.fail_on)
    items = read_sources(opts.inputs)
    if not items:  # a wrong folder must not pass as a clean audit; an empty shard of found videos may
        raise SourceError(f"no videos found in {' '.join(map(str, opts.inputs))}")
    total_found = len(items)
    if opts.shard:
        items = shard(items, *opts.shard)
    keys = _keys(items, opts.content_hash, opts.workers or default_workers())

    store = ResultStore(opts.out)
    store.open("sha256" if opts.content_hash else "stat")
    try:
        wanted = {it.id: keys[it.id] for it in items}

        def redo(record: dict) -> bool:
            rid = record_id(record)
            if rid not in wanted:
                return False  # not part of this run: keep as is
            stale = record.get("key") != wanted[rid]
            return stale or (opts.retry_errors and record.get("verdict") == "error")

        records: list[dict] = []  # slimmed: what summary.csv and report.html need
        dropped = 0
        for record in store.records():
            if redo(record):
                dropped += 1
            else:
                records.append(slim(record, fail_on))
        if dropped:
            store.drop(redo)
        done = {record_id(r) for r in records}
        todo = [it for it in items if it.id not in done]
        where = f" (shard {opts.shard[0]}/{opts.shard[1]} of {total_found})" if opts.shard else ""
        log(f"avsync audit: {len(items)} videos{where}; {len(items) - len(todo)} already done"
            f"{f', {dropped} to redo' if dropped else ''}; checking {len(todo)} -> {store.dir}")

        workers = max(1, min(opts.workers or default_workers(), len(todo) or 1))
        runner_opts = RunnerOptions(
            workers=workers,
            time_limit_s=float(opts.time_limit_s if opts.time_limit_s is not None else cfg.time_limit_s),
            memory_limit_mb=float(opts.memory_limit_mb if opts.memory_limit_mb is not None else cfg.memory_limit_mb),
            threads_per_worker=max(1, default_workers() // workers),
            worker_log=str(store.dir / "workers.log"),
            check_options={"model": opts.model, "config_dir": opts.config_dir, "thumbnails": True},
        )
        progress = _Progress(len(todo), fail_on, opts.quiet, log)

        def on_record(index: int, record: dict) -> None:
            item = todo[index]
            record["key"] = keys[item.id]
            store.append(record)
            records.append(slim(record, fail_on))
            progress.update(item, record)

        try:
            run_items(todo, runner_opts, on_record)
        finally:
            progress.close()
    finally:
        store.close()

    write_outputs(store.dir, records, fail_on)
    selected = [r for r in records if record_id(r) in wanted]
    failing = sorted(record_id(r) for r in selected if r.get("verdict") in fail_on)
    result = AuditResult(store.dir, len(items), len(items) - len(todo), len(todo),
                         _count(selected), failing)
    log(f"avsync audit: {_count_text(result.counts)}; {len(failing)} failing ({', '.join(sorted(fail_on)) or 'none'})"
        f"; report: {store.dir / 'report.html'}")
    return result


def write_outputs(out: Path, records: list[dict], fail_on: set[str]) -> None:
    write_summary(out / "summary.csv", records)
    write_report(out / "report.html", records, fail_on, title=f"avsync audit: {out.resolve().name}")


def _keys(items: list[Clip], content_hash: bool, threads: int) -> dict[str, str]:
    if not content_hash:
        return {it.id: file_key(it, False) for it in items}
    # hashlib releases the GIL, so threads read and hash files in parallel
    pool = ThreadPoolExecutor(max_workers=max(1, threads))
    try:
        keys = list(pool.map(lambda it: file_key(it, True), items))
    except BaseException:  # Ctrl-C or SIGTERM: stop now, without waiting for files being read
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return {it.id: k for it, k in zip(items, keys)}


def _count(records: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in records:
        counts[str(r.get("verdict"))] = counts.get(str(r.get("verdict")), 0) + 1
    return counts


def _count_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{v} {n}" for v, n in sorted(counts.items(), key=lambda kv: -kv[1])) or "no videos"


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class _Progress:
    """A tqdm bar with rate and ETA, or one plain log line per video with ``--quiet``."""

    def __init__(self, total: int, fail_on: set[str], quiet: bool, log: Callable[[str], None]):
        self.total, self.fail_on, self.quiet, self.log = total, fail_on, quiet, log
        self.n = self.flagged = self.errors = 0
        self.bar = None
        if not quiet and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="video", dynamic_ncols=True, smoothing=0.1, file=sys.stderr)

    def update(self, item: Clip, record: dict) -> None:
        self.n += 1
        verdict = record.get("verdict")
        self.errors += verdict == "error"
        self.flagged += verdict in self.fail_on and verdict != "error"
        if self.bar is not None:
            self.bar.set_postfix(flagged=self.flagged, errors=self.errors, refresh=False)
            self.bar.update(1)
        else:
            error = record.get("error") or {}
            detail = f" {error.get('code')}: {error.get('message')}" if verdict == "error" else ""
            offset = record.get("av_offset_ms")
            offset_text = f" offset {offset:+.0f} ms" if isinstance(offset, (int, float)) else ""
            named = "" if item.id in detail else f" {item.id}"  # most error messages end with the path
            line = f"[{self.n}/{self.total}] {verdict}{offset_text}{detail}{named}"
            self.log(line.replace("\r", "\\r").replace("\n", "\\n"))  # one line per video, whatever the name

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
