"""Score many videos for ``eval`` and ``lse``: through the report cache, on the audit's worker pool.

:func:`score_videos` takes an optional ``checker(path, audio=...) -> SyncReport`` so the
evaluation logic can be exercised without decoding video.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from tqdm import tqdm

from avsync.evaluation.cache import ReportCache
from avsync.report import SyncReport
from avsync.version import __version__

Checker = Callable[..., SyncReport]


def fake_score(report: SyncReport) -> tuple[float | None, str | None]:
    """(score, kind), higher = more likely fake: ``1 - p_sync`` when the report has a calibrated
    p_sync, else ``-confidence`` (LSE-C, larger when in sync). (None, None) when neither exists."""
    if report.verdict == "error":
        return None, None
    if report.p_sync is not None:
        return 1.0 - float(report.p_sync), "1-p_sync"
    if report.confidence is not None:
        return -float(report.confidence), "-confidence"
    return None, None


def scorer_identity(model: str | None = None, config_dir: str | Path | None = None) -> dict[str, str]:
    """Name and version of the scorer ``--model`` names, for cache keys. The version joins the
    scorer's own (a weights digest for learned models) with a fingerprint of the package version
    and the YAML configs, since thresholds and calibration decide verdicts and p_sync too.
    Loads the model, so a bad ``--model`` fails here, before any video is decoded."""
    from avsync.config import CONFIG_DIR
    from avsync.pipeline import resolve_scorer  # resolved late: it imports the model code

    ident = resolve_scorer(model or "default").describe()
    digest = hashlib.sha256(f"{__version__}|{model or 'default'}|{ident.get('calibration')}".encode())
    folder = Path(config_dir or CONFIG_DIR)
    for f in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        digest.update(f.name.encode() + f.read_bytes())
    return {"name": str(ident["name"]), "version": f"{ident['version']}+{digest.hexdigest()[:12]}"}


@dataclass
class Scored:
    """A video with its report (``from_cache`` tells whether it was decoded this run)."""

    path: str
    audio: str | None
    report: SyncReport
    from_cache: bool = False


def _run_one(checker: Checker, path: str, audio: str | None) -> SyncReport:
    try:
        return checker(path, audio=audio)
    except Exception as exc:  # one bad file must not end a batch of thousands
        return SyncReport.failure(path, "internal", f"{type(exc).__name__}: {exc}")


def _missing(path: str, audio: str | None) -> SyncReport | None:
    if not Path(path).is_file():
        return SyncReport.failure(path, "not_found", f"no such file: {path}")
    if audio and not Path(audio).is_file():
        return SyncReport.failure(path, "not_found", f"no such audio file: {audio}")
    return None


@dataclass
class BatchOptions:
    """How the videos of ``eval`` and ``lse`` are checked: the audit's worker pool and limits."""

    workers: int = 1
    time_limit_s: float | None = None  # None: time_limit_s of configs/audit.yaml
    memory_limit_mb: float | None = None  # None: memory_limit_mb of configs/audit.yaml
    model: str | None = None
    config_dir: str | None = None
    protocol_search: bool = False  # the literature's ±15-frame search (lse) instead of check's ±2 s


def score_videos(items: Sequence[tuple[str, str | None]], checker: Checker | None = None,
                 cache: ReportCache | None = None, batch: BatchOptions | None = None, progress: bool = True,
                 desc: str = "scoring") -> list[Scored]:
    """Reports for ``(path, audio)`` pairs, in input order. Cached reports are reused; new ones
    are cached as soon as they finish, so an interrupted run resumes where it stopped.

    Without ``checker`` the videos go through the audit's worker pool (``avsync.audit.runner``):
    ``batch.workers`` fresh processes, each video under the per-video time and memory limits, so
    one hung or runaway file ends as an ``error`` report and the batch goes on. A ``checker``
    (tests) runs in this process, one video after another.
    """
    batch = batch or BatchOptions()
    out: list[Scored | None] = [None] * len(items)
    todo = []
    for i, (path, audio) in enumerate(items):
        hit = cache.get(path, audio) if cache else None
        if hit is not None:
            out[i] = Scored(path, audio, hit, from_cache=True)
        elif (missing := _missing(path, audio)) is not None:
            out[i] = Scored(path, audio, missing)
        else:
            todo.append(i)

    bar = tqdm(total=len(items), initial=len(items) - len(todo), desc=desc, unit="video",
               disable=not progress, dynamic_ncols=True)

    def done(i: int, report: SyncReport) -> None:
        path, audio = items[i]
        if cache:
            cache.put(path, report, audio)
        out[i] = Scored(path, audio, report)
        bar.update(1)

    try:
        if checker is not None:
            for i in todo:
                done(i, _run_one(checker, *items[i]))
        elif todo:
            _run_pool([items[i] for i in todo], batch, lambda k, report: done(todo[k], report))
    finally:
        bar.close()
    return out  # type: ignore[return-value]


def _run_pool(items: Sequence[tuple[str, str | None]], batch: BatchOptions,
              on_report: Callable[[int, SyncReport], None]) -> None:
    from avsync.audit.config import AuditConfig
    from avsync.audit.runner import RunnerOptions, default_workers, run_items
    from avsync.sources import Clip

    cfg = AuditConfig.load(batch.config_dir)
    workers = max(1, min(batch.workers, len(items)))
    options = RunnerOptions(
        workers=workers,
        time_limit_s=float(batch.time_limit_s if batch.time_limit_s is not None else cfg.time_limit_s),
        memory_limit_mb=float(batch.memory_limit_mb if batch.memory_limit_mb is not None else cfg.memory_limit_mb),
        threads_per_worker=max(1, default_workers() // workers),
        check_options={"model": batch.model, "config_dir": batch.config_dir, "thumbnails": False,
                       "protocol_search": batch.protocol_search})
    clips = [Clip(id=str(k), video=path, audio=audio) for k, (path, audio) in enumerate(items)]
    run_items(clips, options, lambda k, record: on_report(k, SyncReport.from_dict(record)))
