"""``avsync calibrate``: fit the mismatch threshold and p_sync per scorer, write configs/verdict.yaml."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from avsync.cli.offsets import fail, load_entries, load_scorers, load_settings, open_cache


@click.command("calibrate")
@click.argument("manifest", type=click.Path())
@click.option("--split", multiple=True, default=("dev",), show_default=True, help="manifest split(s) to fit on")
@click.option("--category", multiple=True, default=("real", "generated"), show_default=True,
              help="manifest categories counted as genuine with their own audio")
@click.option("--model", "models", multiple=True,
              help="scorer(s) to calibrate (repeatable, sharing one front-end pass; default: the default model)")
@click.option("--target-flag-rate", type=click.FloatRange(0.0, 1.0), default=0.02, show_default=True,
              help="at most this fraction of genuine clips may be called mismatch")
@click.option("--config-dir", type=click.Path(file_okay=False), default=None,
              help="folder whose verdict.yaml is read and rewritten (default: the package's configs/)")
@click.option("--negatives", type=click.IntRange(min=1), default=3, show_default=True,
              help="other clips' audio tried per clip (the mismatched examples)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed for pairing clips with other audio")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False),
              help="keep front-end analyses in this folder and reuse them on later runs")
@click.option("--jobs", type=int, default=None, help="processes for the face front-end (default: all cores)")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="also write every score and result as JSON")
@click.option("--dry-run", is_flag=True, help="print the fitted values; do not write verdict.yaml")
@click.option("--progress/--no-progress", default=None, help="progress bar (default: on a terminal)")
def command(manifest, split, category, models, target_flag_rate, config_dir, negatives, seed, cache_dir, jobs,
            json_out, dry_run, progress):
    """Choose each scorer's mismatch threshold so that at most --target-flag-rate of the genuine clips
    in MANIFEST are flagged, fit the calibrated probability p_sync, and store both with the data and
    date they came from in verdict.yaml.
    """
    from avsync.calibration import (calibrate_scorer, collect, format_summary, provenance,
                                    write_verdict_config)
    from avsync.config import CONFIG_DIR

    config_dir = Path(config_dir) if config_dir else CONFIG_DIR
    settings = load_settings(config_dir)
    entries = load_entries(manifest, split, category)
    scorers = load_scorers(models)
    cache = open_cache(cache_dir)
    if progress is None:
        progress = sys.stderr.isatty()
    collected = collect(entries, scorers, settings, negatives, seed, jobs, cache, progress)
    if Path(manifest).is_dir() and not (Path(manifest) / "manifest.csv").exists():
        split, category = (), ()  # a plain folder has no splits or categories: every clip was used
    results, fitted_on = [], {}
    for scorer in scorers:
        try:
            res = calibrate_scorer(scorer.name, collected["scores"][scorer.name], settings.verdict, target_flag_rate)
        except ValueError as exc:
            fail(f"cannot calibrate {scorer.name}: {exc}")
        results.append(res)
        fitted_on[scorer.name] = provenance(res, manifest, list(split), list(category), negatives, seed,
                                            target_flag_rate)
    click.echo(format_summary(results, collected["skipped"]))
    if json_out:
        Path(json_out).write_text(json.dumps({"results": results, "fitted_on": fitted_on, **collected}, indent=1))
    if dry_run:
        click.echo("dry run: verdict.yaml not written", err=True)
        return
    try:
        path = write_verdict_config(config_dir, results, fitted_on)
    except (OSError, ValueError) as exc:
        fail(f"cannot write {config_dir}/verdict.yaml: {exc}")
    click.echo(f"wrote {path}")
