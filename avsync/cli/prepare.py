"""``avsync prepare``: build the training cache."""
from __future__ import annotations

import logging
import os
import sys

import click


@click.command("prepare")
@click.argument("source", type=click.Path(exists=True))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="cache folder")
@click.option("--split", "splits", multiple=True, help="only these manifest splits (repeatable)")
@click.option("--category", "categories", multiple=True, help="only these manifest categories (repeatable)")
@click.option("--jobs", type=int, default=os.cpu_count(), show_default=True, help="clips processed in parallel")
def command(source, out_dir, splits, categories, jobs):
    """Cache mouth crops, lip landmarks and MFCC for SOURCE (a manifest.csv or a folder of videos).

    Resumes after interruption; clips that cannot be used are skipped with a logged reason.
    """
    from avsync.corpus import read_clips
    from avsync.train.prepare import prepare

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    entries = read_clips(source, set(splits) or None, set(categories) or None)
    if not entries:
        click.echo(f"avsync: error: no clips found in {source}", err=True)
        sys.exit(3)
    counts = prepare(entries, out_dir, jobs=jobs, progress=sys.stderr.isatty())
    click.echo(f"prepared {counts['ok']} clips, skipped {counts['skipped']}, "
               f"{counts['done_before']} already done -> {out_dir}")
