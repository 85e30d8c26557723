"""The ``avsync`` command: one click group, one module per concern."""
from __future__ import annotations

import os
import sys

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import click

from avsync.version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="avsync")
def cli() -> None:
    """Audio-visual lip-sync consistency detector."""


def _register() -> None:
    from avsync.cli import check

    cli.add_command(check.command)
    # Optional command modules: each defines ``command`` (or ``commands``).
    import importlib

    for name in ("prepare", "audit", "evaluate", "lse", "train", "offsets", "calibrate"):
        try:
            module = importlib.import_module(f"avsync.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"avsync.cli.{name}":
                raise
            continue
        for cmd in getattr(module, "commands", [getattr(module, "command", None)]):
            if cmd is not None:
                cli.add_command(cmd)


def main() -> None:
    from avsync.exit_codes import INTERRUPTED, USAGE

    _register()
    try:
        cli.main(standalone_mode=False)
    except click.UsageError as exc:  # click's own code, 2, reads as the no_face verdict
        exc.show()
        sys.exit(USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("avsync: interrupted", err=True)
        sys.exit(INTERRUPTED)
