"""The ``avsync`` command: one click group, one module per concern.

Importing this module stays cheap: the command modules import torch, MediaPipe and the pipeline
inside their functions, so ``avsync --help`` or a usage error costs no model loading.
"""
from __future__ import annotations

from avsync.native_threads import cli_defaults

cli_defaults()  # before any command module imports numpy

import click  # noqa: E402

from avsync.cli import audit, calibrate, check, demo, evaluate, lse, offsets, prepare, train
from avsync.cli.options import Group
from avsync.version import __version__


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="avsync")
def cli() -> None:
    """Audio-visual lip-sync consistency detector."""


for _command in (check.command, audit.audit, audit.merge, evaluate.command, lse.command, offsets.command,
                 calibrate.command, prepare.command, train.train, demo.command):
    cli.add_command(_command)


def main() -> None:
    cli()
