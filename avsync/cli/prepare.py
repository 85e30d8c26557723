"""``avsync prepare``: build the training cache."""
from __future__ import annotations

import logging

import click

from avsync.cli import options
from avsync.cli.resources import load_settings, read_inputs
from avsync.exit_codes import CANT_CREATE


@options.command("prepare")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="cache folder")
@options.selection()
@options.workers
@options.progress
@options.common
def command(inputs, out_dir, split, category, workers, progress, config_dir):
    """Cache mouth crops, lip landmarks and MFCC for INPUT (a corpus manifest.csv, any CSV/JSONL
    manifest, a folder of videos or a glob).

    Resumes after interruption; clips that cannot be used are skipped with a logged reason.
    """
    from avsync.audit.runner import default_workers
    from avsync.train.prepare import prepare

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    settings = load_settings(config_dir)
    clips = read_inputs(inputs, split, category)
    try:
        counts = prepare(clips, out_dir, jobs=workers or default_workers(), progress=options.show_progress(progress),
                         settings=settings)
    except OSError as exc:
        options.fail(f"cannot write the cache in {out_dir}: {exc.strerror or exc}", CANT_CREATE)
    click.echo(f"prepared {counts['ok']} clips, skipped {counts['skipped']}, "
               f"{counts['done_before']} already done -> {out_dir}")
