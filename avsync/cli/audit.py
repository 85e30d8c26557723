"""``avsync audit`` and ``avsync merge``."""
from __future__ import annotations

import signal
import sys

import click

from avsync import exit_codes
from avsync.report import VERDICTS

EXIT_BAD_INPUT = 2
EXIT_NO_CHECKER = 3
EXIT_INTERRUPTED = 130


class _Terminated(BaseException):
    """SIGTERM (Slurm preemption, ``kubectl delete``): stop like Ctrl-C; finished records are kept."""


def _parse_fail_on(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    if names in ([], ["none"]):
        return []
    unknown = sorted(set(names) - set(VERDICTS))
    if unknown:
        raise click.BadParameter(f"unknown verdict(s) {', '.join(unknown)}; choose from {', '.join(VERDICTS)} or none")
    return names


@click.command("audit", short_help="Check many videos; resumable, parallel, with an HTML report.")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False),
              help="Results folder: results.jsonl, summary.csv, report.html. Rerun with the same folder to resume.")
@click.option("--workers", "-j", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the number of CPU cores available).")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Per-video time limit (default: time_limit_s in configs/audit.yaml).")
@click.option("--memory-limit", type=click.FloatRange(min=0), default=None, metavar="MIB",
              help="Per-worker memory limit in MiB, 0 = none (default: memory_limit_mb in configs/audit.yaml).")
@click.option("--shard", default=None, metavar="I/N",
              help="Check only shard I of N (0 <= I < N), chosen by a stable hash of each video's id.")
@click.option("--hash", "content_hash", is_flag=True,
              help="Recognise finished videos by content SHA-256 instead of path + size + mtime.")
@click.option("--retry-errors", is_flag=True, help="Check again the videos whose record is an error.")
@click.option("--fail-on", default=None, metavar="VERDICTS",
              help="Comma-separated verdicts that make the exit code 1 (default: out_of_sync,mismatch,error; 'none').")
@click.option("--quiet", "-q", is_flag=True, help="One log line per video instead of a progress bar.")
def audit(inputs, out, workers, time_limit, memory_limit, shard, content_hash, retry_errors, fail_on, quiet):
    """Check many videos: INPUT is a folder (searched recursively), a glob, a video, or a CSV/JSONL
    manifest with a `path` column and optional `audio` and `id` columns.

    Exit code: 0 when no video has a --fail-on verdict, 1 when one has, 2 for bad input,
    3 when the checker cannot run, 130 when interrupted (rerun the same command to resume).
    """
    from avsync.audit.inputs import InputError
    from avsync.audit.shard import parse_shard
    from avsync.audit.job import AuditOptions, run_audit
    from avsync.audit.runner import CheckerUnavailable
    from avsync.audit.store import CannotCreate, StoreError, WriteFailed

    try:
        options = AuditOptions(
            inputs=list(inputs), out=out, workers=workers, time_limit_s=time_limit, memory_limit_mb=memory_limit,
            shard=parse_shard(shard) if shard else None, content_hash=content_hash, retry_errors=retry_errors,
            fail_on=_parse_fail_on(fail_on), quiet=quiet)
        with _sigterm_as_exception():
            result = run_audit(options)
    except CannotCreate as exc:
        _fail(f"avsync audit: error: {exc}", exit_codes.CANT_CREATE)
    except WriteFailed as exc:
        _fail(f"avsync audit: error: {exc}", exit_codes.IO_ERROR)
    except (InputError, StoreError) as exc:
        _fail(f"avsync audit: error: {exc}", EXIT_BAD_INPUT)
    except CheckerUnavailable as exc:
        _fail(f"avsync audit: error: {exc}", EXIT_NO_CHECKER)
    except (KeyboardInterrupt, _Terminated):
        _fail(f"avsync audit: interrupted; finished records are saved in {out}; "
              "rerun the same command to finish", EXIT_INTERRUPTED)
    sys.exit(result.exit_code)


@click.command("merge", short_help="Combine audit result folders (e.g. shards) into one report.")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False), metavar="DIR...")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False), help="Folder for the merged results.")
@click.option("--fail-on", default=None, metavar="VERDICTS",
              help="Comma-separated verdicts that make the exit code 1 and are flagged in the report.")
def merge(dirs, out, fail_on):
    """Combine audit result folders (e.g. one per shard) into one results.jsonl, summary.csv and report.html.

    Each video appears once: a real verdict beats an error, otherwise the newest record wins.
    """
    from avsync.audit.merge import merge_dirs
    from avsync.audit.store import CannotCreate, StoreError, WriteFailed

    try:
        result = merge_dirs(list(dirs), out, fail_on=_parse_fail_on(fail_on))
    except CannotCreate as exc:
        _fail(f"avsync merge: error: {exc}", exit_codes.CANT_CREATE)
    except WriteFailed as exc:
        _fail(f"avsync merge: error: {exc}", exit_codes.IO_ERROR)
    except StoreError as exc:
        _fail(f"avsync merge: error: {exc}", EXIT_BAD_INPUT)
    click.echo(f"avsync merge: {result.selected} videos from {len(dirs)} folders; {len(result.failing)} failing; "
               f"report: {result.out / 'report.html'}", err=True)
    sys.exit(result.exit_code)


def _fail(message: str, code: int):
    click.echo(message, err=True)
    sys.exit(code)


class _sigterm_as_exception:
    def __enter__(self):
        def handler(signum, frame):
            raise _Terminated()

        self._previous = signal.signal(signal.SIGTERM, handler)

    def __exit__(self, *exc):
        signal.signal(signal.SIGTERM, self._previous)
        return False


commands = [audit, merge]


@click.group()
def _standalone():
    """avsync audit/merge without the rest of the CLI (``python -m avsync.cli.audit audit ...``)."""


for _cmd in commands:
    _standalone.add_command(_cmd)

if __name__ == "__main__":
    _standalone()
