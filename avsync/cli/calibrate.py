"""``avsync calibrate``: fit a model's calibration on labelled clips and store it beside its weights."""
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
              help="read the verdict policy (tolerance, interval level) from this folder")
@click.option("--negatives", type=click.IntRange(min=1), default=3, show_default=True,
              help="other clips' audio tried per clip (the mismatched examples)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed for pairing clips with other audio")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False),
              help="keep front-end analyses in this folder and reuse them on later runs")
@click.option("--jobs", type=int, default=None, help="processes for the face front-end (default: all cores)")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="also write every score and result as JSON")
@click.option("--dry-run", is_flag=True, help="print the fitted values; do not write the sidecar")
@click.option("--progress/--no-progress", default=None, help="progress bar (default: on a terminal)")
def command(manifest, split, category, models, target_flag_rate, config_dir, negatives, seed, cache_dir, jobs,
            json_out, dry_run, progress):
    """Fit each model's mismatch threshold (at most --target-flag-rate of the genuine clips in
    MANIFEST flagged), its p_sync map, its offset bias and offset error, report them out of fold
    (each source judged by a fit on the other sources), and store the fit on every clip in the
    model's sidecar JSON, keyed by the weights' sha256.
    """
    from avsync.calibration import clip_groups, collect, cross_fit, fit_calibration, format_summary, provenance, \
        verdict_rates
    from avsync.scoring.sidecar import write_calibration

    settings = load_settings(config_dir)
    entries = load_entries(manifest, split, category)
    scorers = load_scorers(models)
    cache = open_cache(cache_dir)
    if progress is None:
        progress = sys.stderr.isatty()
    groups = clip_groups(manifest, entries)
    collected = collect(entries, scorers, settings, groups, negatives, seed, jobs, cache, progress)
    if Path(manifest).is_dir() and not (Path(manifest) / "manifest.csv").exists():
        split, category = (), ()  # a plain folder has no splits or categories: every clip was used
    results = {}
    for scorer in scorers:
        scores = collected["scores"][scorer.name]
        if scorer.weights_digest is None or scorer.calibration_path is None:
            fail(f"{scorer.name} has no weights file to store a calibration beside")
        try:
            folds = cross_fit(scores, settings.verdict, target_flag_rate, scorer.weights_digest)
            calibration = fit_calibration(scores["genuine"], scores["mismatched"], settings.verdict,
                                          target_flag_rate, scorer.weights_digest)
        except ValueError as exc:
            fail(f"cannot calibrate {scorer.name}: {exc}")
        out_of_fold = verdict_rates(scores, folds, settings.verdict)
        calibration.fitted_on = calibration.fitted_on | provenance(scores, manifest, list(split), list(category), negatives, seed,
                                           target_flag_rate, settings.verdict, out_of_fold)
        results[scorer.name] = (scorer, calibration, folds)
        click.echo(format_summary(scorer.name, calibration, out_of_fold, collected["skipped"]))
    if json_out:
        dump = {name: {"calibration": cal.to_dict(), "folds": {g: c.to_dict() for g, c in folds.items()},
                       **collected["scores"][name]} for name, (_, cal, folds) in results.items()}
        Path(json_out).write_text(json.dumps({"results": dump, "skipped": collected["skipped"]}, indent=1))
    if dry_run:
        click.echo("dry run: no sidecar written", err=True)
        return
    for scorer, calibration, _ in results.values():
        try:
            path = write_calibration(scorer.calibration_path, calibration)
        except (OSError, ValueError) as exc:
            fail(f"cannot write {scorer.calibration_path}: {exc}")
        click.echo(f"wrote {path}")
