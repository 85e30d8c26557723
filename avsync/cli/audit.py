"""``avsync audit`` and ``avsync merge``."""
from __future__ import annotations

import signal
import sys

import click

from avsync.cli import options
from avsync.exit_codes import BAD_INPUT, CANT_CREATE, INTERRUPTED, IO_ERROR
from avsync.report import VERDICTS


class _Terminated(BaseException):
    """SIGTERM (Slurm preemption, ``kubectl delete``): stop like Ctrl-C; finished records are kept."""


def _parse_fail_on(ctx, param, text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    if names in ([], ["none"]):
        return []
    unknown = sorted(set(names) - set(VERDICTS))
    if unknown:
        raise click.BadParameter(f"unknown verdict(s) {', '.join(unknown)}; choose from {', '.join(VERDICTS)} or none")
    return names


def _parse_shard(ctx, param, text: str | None) -> tuple[int, int] | None:
    from avsync.audit.shard import parse_shard

    try:
        return parse_shard(text) if text else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


FAIL_ON = click.option("--fail-on", default=None, metavar="VERDICTS", callback=_parse_fail_on,
                       help="Comma-separated verdicts that make the exit code 1 (default: out_of_sync,mismatch,error; "
                            "'none').")


@options.command("audit", short_help="Check many videos; resumable, parallel, with an HTML report.")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False),
              help="Results folder: results.jsonl, summary.csv, report.html. Rerun with the same folder to resume.")
@options.model()
@options.workers
@options.limits
@click.option("--shard", default=None, metavar="I/N", callback=_parse_shard,
              help="Check only shard I of N (0 <= I < N), chosen by a stable hash of each video's id.")
@click.option("--hash", "content_hash", is_flag=True,
              help="Recognise finished videos by content SHA-256 instead of path + size + mtime.")
@click.option("--retry-errors", is_flag=True, help="Check again the videos whose record is an error.")
@FAIL_ON
@options.progress
@options.common
def audit(inputs, out, model, workers, time_limit, memory_limit, shard, content_hash, retry_errors, fail_on,
          progress, config_dir):
    """Check many videos: INPUT is a folder (searched recursively; one holding manifest.csv is read
    through it), a glob, a video, or a CSV/JSONL manifest with a `path` column and optional `audio`
    and `id` columns. --no-progress (-q) logs one line per video instead of a progress bar.

    Exit code: 0 when no video has a --fail-on verdict, 1 when one has, 3 for bad input or when
    the checker cannot run, 130 when interrupted (rerun the same command to resume).
    """
    from avsync.audit.job import AuditOptions, run_audit
    from avsync.audit.runner import CheckerUnavailable
    from avsync.audit.store import CannotCreate, StoreError, WriteFailed
    from avsync.config import ConfigError
    from avsync.sources import SourceError

    try:
        audit_options = AuditOptions(
            inputs=list(inputs), out=out, workers=workers, time_limit_s=time_limit, memory_limit_mb=memory_limit,
            shard=shard, content_hash=content_hash, retry_errors=retry_errors, fail_on=fail_on,
            quiet=not options.show_progress(progress), config_dir=config_dir, model=model)
        with _sigterm_as_exception():
            result = run_audit(audit_options)
    except CannotCreate as exc:
        options.fail(str(exc), CANT_CREATE)
    except WriteFailed as exc:
        options.fail(str(exc), IO_ERROR)
    except (SourceError, StoreError, ConfigError, CheckerUnavailable) as exc:
        options.fail(str(exc), BAD_INPUT)
    except (KeyboardInterrupt, _Terminated):
        options.fail(f"audit interrupted; finished records are saved in {out}; rerun the same command to finish",
                     INTERRUPTED)
    sys.exit(result.exit_code)


@options.command("merge", short_help="Combine audit result folders (e.g. shards) into one report.")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False), metavar="DIR...")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False), help="Folder for the merged results.")
@FAIL_ON
@options.common
def merge(dirs, out, fail_on, config_dir):
    """Combine audit result folders (e.g. one per shard) into one results.jsonl, summary.csv and report.html.

    Each video appears once: a real verdict beats an error, otherwise the newest record wins.
    """
    from avsync.audit.merge import merge_dirs
    from avsync.audit.store import CannotCreate, StoreError, WriteFailed
    from avsync.config import ConfigError

    try:
        result = merge_dirs(list(dirs), out, fail_on=fail_on, config_dir=config_dir)
    except CannotCreate as exc:
        options.fail(str(exc), CANT_CREATE)
    except WriteFailed as exc:
        options.fail(str(exc), IO_ERROR)
    except (StoreError, ConfigError) as exc:
        options.fail(str(exc), BAD_INPUT)
    click.echo(f"avsync merge: {result.selected} videos from {len(dirs)} folders; {len(result.failing)} failing; "
               f"report: {result.out / 'report.html'}", err=True)
    sys.exit(result.exit_code)


class _sigterm_as_exception:
    def __enter__(self):
        def handler(signum, frame):
            raise _Terminated()

        self._previous = signal.signal(signal.SIGTERM, handler)

    def __exit__(self, *exc):
        signal.signal(signal.SIGTERM, self._previous)
        return False
