"""What every ``avsync`` command shares: its options, one ``fail()``, and the exit codes of errors.

The option names have one meaning each:
- ``--jobs``: processes for the face front-end of one video;
- ``--workers`` / ``-j``: videos checked in parallel, each in its own worker process;
- ``--report-cache``: finished reports (``eval``, ``lse``); ``--analysis-cache``: front-end
  analyses (``eval-offsets``, ``calibrate``).

Usage errors (a bad option value, an unknown option, a missing argument) print one line and exit
``USAGE`` (64), not click's 2, which reads as a verdict (see :mod:`avsync.exit_codes`).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from avsync.exit_codes import BAD_INPUT, INTERRUPTED, USAGE
from avsync.native_logs import NATIVE_LOG_LEVELS, VERBOSE_ENV

MODEL_HELP = "scorer: default, baseline, syncnet_v2:PATH or a checkpoint path that `avsync train` wrote"


class Failure(click.ClickException):
    """An error that ends a command: one line on stderr and ``code`` as the exit status."""

    def __init__(self, message: str, code: int = BAD_INPUT):
        super().__init__(" ".join(str(message).split()) or "failed")
        self.exit_code = code

    def show(self, file=None) -> None:
        click.echo(f"avsync: error: {self.format_message()}", err=True)


def fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    """End the running command with one line on stderr and exit status ``code``."""
    raise Failure(message, code)


class _ExitCodes:
    """``main`` with avsync's exit codes: usage errors 64, failures their code, Ctrl-C 130."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            value = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message(), err=True)
            sys.exit(USAGE)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "avsync"
            message = exc.format_message()
            hint = getattr(exc.ctx.command, "extra_argument_hint", None) if exc.ctx else None
            if hint and message.startswith("Got unexpected extra argument"):
                message += f"; {hint}"
            click.echo(f"{where}: usage error: {message} (see `{where} --help`)", err=True)
            sys.exit(USAGE)
        except Failure as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            Failure(exc.format_message()).show()
            sys.exit(BAD_INPUT)
        except (click.Abort, KeyboardInterrupt):
            click.echo("avsync: interrupted", err=True)
            sys.exit(INTERRUPTED)
        sys.exit(value if isinstance(value, int) else 0)


class Command(_ExitCodes, click.Command):
    """``extra_argument_hint`` follows the usage error for an argument too many (``check a.mp4
    b.mp4``: what to run instead)."""

    def __init__(self, *args, extra_argument_hint: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra_argument_hint = extra_argument_hint


class Group(_ExitCodes, click.Group):
    command_class = Command


def command(name: str, **kwargs):
    """``click.command`` with avsync's exit codes."""
    return click.command(name, cls=Command, **kwargs)


def _verbose(ctx, param, value):
    if value:
        os.environ[VERBOSE_ENV] = "1"
        for var, quiet in NATIVE_LOG_LEVELS.items():
            if os.environ.get(var) == quiet:
                del os.environ[var]
    return value


def _config_dir(ctx, param, value):
    if value is not None and not Path(value).is_dir():
        fail(f"config folder not found: {value}")
    return value


def common(f):
    """``--config-dir`` and ``--verbose``: on every command."""
    f = click.option("--verbose", "-v", is_flag=True, expose_value=False, is_eager=True, callback=_verbose,
                     help="Show the native libraries' log lines (MediaPipe, TensorFlow Lite) on stderr.")(f)
    return click.option("--config-dir", type=click.Path(file_okay=False), default=None, callback=_config_dir,
                        help="Read the YAML configs from this folder (it must exist and hold them; "
                             "default: the package's configs).")(f)


def model(multiple: bool = False):
    if multiple:
        return click.option("--model", "models", multiple=True,
                            help=MODEL_HELP + " (repeatable; all share one front-end pass; default: default)")
    return click.option("--model", default=None, help=MODEL_HELP + " (default: default)")


def jobs(f):
    return click.option("--jobs", type=click.IntRange(min=1), default=None,
                        help="Processes for the face front-end of one video (default: all cores).")(f)


def workers(f):
    return click.option("--workers", "-j", type=click.IntRange(min=1), default=None,
                        help="Videos checked in parallel, each in its own worker process "
                             "(default: the number of CPU cores available).")(f)


def limits(f):
    """Per-video limits of the worker pool (audit, eval, lse)."""
    f = click.option("--memory-limit", type=click.FloatRange(min=0), default=None, metavar="MIB",
                     help="Per-worker memory limit in MiB, 0 = none (default: memory_limit_mb in "
                          "configs/audit.yaml).")(f)
    return click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
                        metavar="SECONDS",
                        help="Per-video time limit (default: time_limit_s in configs/audit.yaml).")(f)


def report_cache(f):
    f = click.option("--no-report-cache", "no_report_cache", is_flag=True,
                     help="Score every video again and store no reports.")(f)
    return click.option("--report-cache", "report_cache_dir", type=click.Path(file_okay=False), default=None,
                        help="Folder of finished reports, reused when a video, its audio, the scorer and "
                             "the configs are unchanged (default $AVSYNC_CACHE_DIR or ~/.cache/avsync/reports).")(f)


def analysis_cache(f):
    return click.option("--analysis-cache", "analysis_cache_dir", type=click.Path(file_okay=False), default=None,
                        help="Keep front-end analyses (faces, mouth crops, audio features) in this folder "
                             "and reuse them on later runs.")(f)


def selection(split_default=(), category_default=()):
    """``--split`` / ``--category``: keep only these manifest rows (repeatable)."""

    def decorate(f):
        f = click.option("--category", multiple=True, default=category_default,
                         show_default=bool(category_default),
                         help="Only manifest rows of this category, e.g. real (repeatable).")(f)
        return click.option("--split", multiple=True, default=split_default, show_default=bool(split_default),
                            help="Only manifest rows of this split, e.g. dev (repeatable).")(f)

    return decorate


def progress(f):
    return click.option("--progress/--no-progress", " /-q", default=None,
                        help="Progress bar (default: when stderr is a terminal).")(f)


def show_progress(value: bool | None) -> bool:
    return sys.stderr.isatty() if value is None else value
