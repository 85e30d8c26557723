"""``avsync lse``: the LSE-D / LSE-C table of talking-head papers, on CPU, one number per video."""
from __future__ import annotations

from pathlib import Path

import click

from avsync.evaluation.manifest import ManifestError


@click.command("lse")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--category", default=None,
              help="Only videos whose manifest.csv 'category' is this (e.g. real, generated).")
@click.option("--all-tracks", is_flag=True, help="Also list every face track of each video.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "csv", "json"]), default=None,
              help="Output format (default: Markdown on the terminal; from --out's extension).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the table to FILE (CSV, JSON or Markdown); the Markdown still goes to the terminal.")
@click.option("--model", default=None,
              help="Scorer, as for avsync check: default, baseline, syncnet_v2:PATH or a checkpoint.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="Videos scored in parallel.")
@click.option("--cache", "cache_dir", type=click.Path(path_type=Path), default=None,
              help="Report cache folder (default $AVSYNC_CACHE_DIR or ~/.cache/avsync/reports).")
@click.option("--no-cache", is_flag=True, help="Score every video again and store nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def command(inputs, category, all_tracks, fmt, out, model, jobs, cache_dir, no_cache, quiet):
    """LSE-D (lower = better sync) and LSE-C (higher = more confident sync) per video, and their
    mean ± std over the set.

    INPUT is a video, a folder of videos, a manifest (CSV/JSONL with a file or path column), or a
    folder holding manifest.csv (such as the shared corpus), where --category filters rows.
    Each video gives one number: its headline (speaking) track; --all-tracks lists every track.
    Videos with no score (no face, no speech, errors) are listed and left out of the mean.
    """
    from avsync.evaluation import lse
    from avsync.evaluation.cache import ReportCache, default_cache_dir
    from functools import partial

    from avsync.evaluation.runner import pipeline_check, score_videos, scorer_identity

    try:
        items = lse.collect_inputs(inputs, category)
    except (ManifestError, OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if not items:
        raise click.ClickException("no videos found" + (f" with category {category!r}" if category else ""))

    try:
        scorer = scorer_identity(model)  # loads the model once, so a bad --model fails here
    except (ImportError, ValueError, OSError) as exc:
        raise click.ClickException(f"cannot load the scorer: {exc}") from None
    cache = None if no_cache else ReportCache(cache_dir or default_cache_dir(), scorer)
    # lse keeps the literature's ±15-frame search (LSE-C is a median over the searched offsets)
    scored = score_videos([(v, a) for v, a, _ in items], cache=cache, jobs=jobs, progress=not quiet, desc="lse",
                          checker=partial(pipeline_check, model=model, protocol_search=True))
    reports = [s.report for s in scored]
    rows = lse.lse_rows([name for _, _, name in items], reports, all_tracks=all_tracks)
    summ = lse.summary(reports)

    render = {"markdown": lambda: lse.to_markdown(rows, summ, all_tracks), "csv": lambda: lse.to_csv(rows, summ),
              "json": lambda: lse.to_json(rows, summ)}
    if out is not None:
        kind = fmt or {".json": "json", ".md": "markdown"}.get(out.suffix.lower(), "csv")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render[kind]() + ("\n" if kind == "markdown" else ""))
        click.echo(render["markdown"]())
        click.echo(f"\nwrote {out}", err=True)
    else:
        click.echo(render[fmt or "markdown"]())
