"""``avsync calibrate``: fit the mismatch threshold and p_sync per scorer, write configs/verdict.yaml."""
from __future__ import annotations

import json
from pathlib import Path

import click

from avsync.cli import options
from avsync.cli.resources import load_scorers, load_settings, open_analysis_cache, read_inputs
from avsync.exit_codes import CANT_CREATE


def _plain_videos(source: str) -> bool:
    """A folder without manifest.csv, or one video: no splits or categories to select."""
    from avsync.sources import FOLDER_MANIFEST, is_manifest

    path = Path(source)
    return (path.is_dir() and not (path / FOLDER_MANIFEST).is_file()) or (path.is_file() and not is_manifest(path))


@options.command("calibrate")
@click.argument("manifest", type=click.Path())
@options.selection(split_default=("dev",), category_default=("real", "generated"))
@options.model(multiple=True)
@click.option("--target-flag-rate", type=click.FloatRange(0.0, 1.0), default=0.02, show_default=True,
              help="at most this fraction of genuine clips may be called mismatch")
@click.option("--negatives", type=click.IntRange(min=1), default=3, show_default=True,
              help="other clips' audio tried per clip (the mismatched examples)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed for pairing clips with other audio")
@options.analysis_cache
@options.jobs
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="also write every score and result as JSON")
@click.option("--dry-run", is_flag=True, help="print the fitted values; do not write verdict.yaml")
@options.progress
@options.common
def command(manifest, split, category, models, target_flag_rate, negatives, seed, analysis_cache_dir, jobs,
            json_out, dry_run, progress, config_dir):
    """Choose each scorer's mismatch threshold so that at most --target-flag-rate of the genuine clips
    in MANIFEST are flagged, fit the calibrated probability p_sync, and store both with the data and
    date they came from in verdict.yaml (of --config-dir, default the package's configs/).

    MANIFEST is a corpus manifest.csv, any CSV/JSONL manifest, or a folder of genuine videos
    (then every clip is used and --split/--category do not apply).
    """
    from avsync.calibration import calibrate_scorer, collect, format_summary, provenance, write_verdict_config
    from avsync.config import CONFIG_DIR

    config_dir = Path(config_dir) if config_dir else CONFIG_DIR
    settings = load_settings(config_dir)
    if _plain_videos(manifest):
        split, category = (), ()
    clips = read_inputs([manifest], split, category)
    scorers = load_scorers(models)
    cache = open_analysis_cache(analysis_cache_dir)
    collected = collect(clips, scorers, settings, negatives, seed, jobs, cache, options.show_progress(progress))
    results, fitted_on = [], {}
    for scorer in scorers:
        try:
            res = calibrate_scorer(scorer.name, collected["scores"][scorer.name], settings.verdict, target_flag_rate)
        except ValueError as exc:
            options.fail(f"cannot calibrate {scorer.name}: {exc}")
        results.append(res)
        fitted_on[scorer.name] = provenance(res, manifest, list(split), list(category), negatives, seed,
                                            target_flag_rate)
    click.echo(format_summary(results, collected["skipped"]))
    if json_out:
        try:
            Path(json_out).write_text(json.dumps({"results": results, "fitted_on": fitted_on, **collected}, indent=1))
        except OSError as exc:
            options.fail(f"cannot write {json_out}: {exc.strerror or exc}", CANT_CREATE)
    if dry_run:
        click.echo("dry run: verdict.yaml not written", err=True)
        return
    try:
        path = write_verdict_config(config_dir, results, fitted_on)
    except (OSError, ValueError) as exc:
        options.fail(f"cannot write {config_dir}/verdict.yaml: {exc}", CANT_CREATE)
    click.echo(f"wrote {path}")
