"""Score many videos with ``avsync.pipeline.check``, through the report cache, with a progress bar.

Every function takes an optional ``checker(path, audio=...) -> SyncReport`` so the evaluation
logic can be exercised without decoding video.
"""
from __future__ import annotations

import hashlib
import os
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

from tqdm import tqdm

import avsync
from avsync.evaluation.cache import ReportCache
from avsync.report import SyncReport

Checker = Callable[..., SyncReport]


_SCORERS: dict = {}  # model spec -> scorer, so each process loads weights once


def _scorer(model: str | None):
    from avsync.pipeline import resolve_scorer  # resolved late: it imports the model code

    key = model or "default"
    if key not in _SCORERS:
        _SCORERS[key] = resolve_scorer(key)
    return _SCORERS[key]


def pipeline_check(path: str, audio: str | None = None, model: str | None = None,
                   protocol_search: bool = False) -> SyncReport:
    """The default checker: one video, one worker (parallelism is across videos here).
    ``protocol_search``: the literature's ±15-frame search (``lse``) instead of ``check``'s ±2 s."""
    from avsync.pipeline import check

    return check(path, audio=audio, scorer=_scorer(model), jobs=1, protocol_search=protocol_search)


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


def scorer_identity(model: str | None = None) -> dict[str, str]:
    """Name and version of the scorer ``--model`` names, for cache keys. The version joins the
    scorer's own (a weights digest for learned models) with a fingerprint of the package version
    and the YAML configs, since thresholds and calibration decide verdicts and p_sync too."""
    from avsync.config import CONFIG_DIR

    ident = _scorer(model).describe()
    digest = hashlib.sha256(f"{avsync.__version__}|{model or 'default'}|{ident.get('calibration')}".encode())
    folder = Path(CONFIG_DIR)
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
    if not Path(path).is_file():
        return SyncReport.failure(path, "not_found", f"no such file: {path}")
    if audio and not Path(audio).is_file():
        return SyncReport.failure(path, "not_found", f"no such audio file: {audio}")
    try:
        return checker(path, audio=audio)
    except Exception as exc:  # one bad file must not end a batch of thousands
        return SyncReport.failure(path, "internal", f"{type(exc).__name__}: {exc}")


def score_videos(items: Sequence[tuple[str, str | None]], checker: Checker | None = None,
                 cache: ReportCache | None = None, jobs: int = 1, progress: bool = True,
                 desc: str = "scoring", model: str | None = None) -> list[Scored]:
    """Reports for ``(path, audio)`` pairs, in input order. Cached reports are reused; new ones
    are cached as soon as they finish, so an interrupted run resumes where it stopped.
    Without ``checker``, videos go through ``avsync.pipeline.check`` with the ``model`` scorer."""
    checker = checker or partial(pipeline_check, model=model)
    out: list[Scored | None] = [None] * len(items)
    todo = []
    for i, (path, audio) in enumerate(items):
        hit = cache.get(path, audio) if cache else None
        if hit is not None:
            out[i] = Scored(path, audio, hit, from_cache=True)
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
        if jobs <= 1 or len(todo) <= 1:
            for i in todo:
                done(i, _run_one(checker, *items[i]))
        else:
            # spawn: a forked child inherits torch's and MediaPipe's thread state and can deadlock
            with ProcessPoolExecutor(max_workers=min(jobs, len(todo), os.cpu_count() or 1),
                                     mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = {pool.submit(_run_one, checker, *items[i]): i for i in todo}
                for fut in as_completed(futures):
                    i = futures[fut]
                    try:
                        report = fut.result()
                    except Exception as exc:  # a worker that died (e.g. killed for memory)
                        report = SyncReport.failure(items[i][0], "internal", f"{type(exc).__name__}: {exc}")
                    done(i, report)
    finally:
        bar.close()
    return out  # type: ignore[return-value]
