"""``avsync lse``: the LSE-D / LSE-C table of talking-head papers, on CPU, one number per video."""
from __future__ import annotations

from pathlib import Path

import click

from avsync.cli import options
from avsync.cli.resources import open_report_cache, read_inputs, scorer_identity
from avsync.exit_codes import CANT_CREATE


@options.command("lse")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="INPUT...")
@options.selection()
@click.option("--all-tracks", is_flag=True, help="Also list every face track of each video.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "csv", "json"]), default=None,
              help="Output format (default: Markdown on the terminal; from --out's extension).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the table to FILE (CSV, JSON or Markdown); the Markdown still goes to the terminal.")
@options.model()
@options.workers
@options.limits
@options.report_cache
@options.progress
@options.common
def command(inputs, split, category, all_tracks, fmt, out, model, workers, time_limit, memory_limit,
            report_cache_dir, no_report_cache, progress, config_dir):
    """LSE-D (lower = better sync) and LSE-C (higher = more confident sync) per video, and their
    mean ± std over the set.

    INPUT is a video, a folder of videos, a glob, a manifest (CSV/JSONL with a path, video or file
    column), or a folder holding manifest.csv (such as the shared corpus), where --split and
    --category select rows. Each video gives one number: its headline (speaking) track;
    --all-tracks lists every track. Videos with no score (no face, no speech, errors) are listed
    and left out of the mean.
    """
    from avsync.audit.runner import CheckerUnavailable, default_workers
    from avsync.evaluation import lse
    from avsync.evaluation.runner import BatchOptions, score_videos

    clips = read_inputs(inputs, split, category)
    cache = open_report_cache(report_cache_dir, no_report_cache, scorer_identity(model, config_dir))
    batch = BatchOptions(workers=workers or default_workers(), time_limit_s=time_limit,
                         memory_limit_mb=memory_limit, model=model, config_dir=config_dir,
                         protocol_search=True)
    try:
        # lse keeps the literature's ±15-frame search (LSE-C is a median over the searched offsets)
        scored = score_videos([(c.video, c.audio) for c in clips], cache=cache, batch=batch,
                              progress=options.show_progress(progress), desc="lse")
    except CheckerUnavailable as exc:
        options.fail(str(exc))
    reports = [s.report for s in scored]
    rows = lse.lse_rows([c.name for c in clips], reports, all_tracks=all_tracks)
    summ = lse.summary(reports)

    render = {"markdown": lambda: lse.to_markdown(rows, summ, all_tracks), "csv": lambda: lse.to_csv(rows, summ),
              "json": lambda: lse.to_json(rows, summ)}
    if out is not None:
        kind = fmt or {".json": "json", ".md": "markdown"}.get(out.suffix.lower(), "csv")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            # a file name that is not UTF-8 holds lone surrogates: written as \udcXX, not refused
            out.write_text(render[kind]() + ("\n" if kind == "markdown" else ""), errors="backslashreplace")
        except OSError as exc:
            options.fail(f"cannot write {out}: {exc.strerror or exc}", CANT_CREATE)
        click.echo(render["markdown"]())
        click.echo(f"\nwrote {out}", err=True)
    else:
        click.echo(render[fmt or "markdown"]())
