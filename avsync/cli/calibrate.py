"""``avsync calibrate``: fit a model's calibration on labelled clips and store it beside its weights."""
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
@click.option("--dry-run", is_flag=True, help="print the fitted values; do not write the sidecar")
@options.progress
@options.common
def command(manifest, split, category, models, target_flag_rate, negatives, seed, analysis_cache_dir, jobs,
            json_out, dry_run, progress, config_dir):
    """Fit each model's mismatch threshold (at most --target-flag-rate of the genuine clips in
    MANIFEST flagged), its p_sync map, its offset bias and offset error, report them out of fold
    (each source judged by a fit on the other sources), and store the fit on every clip in the
    model's sidecar JSON, keyed by the weights' sha256. --config-dir gives the verdict policy
    (tolerance, interval level).

    MANIFEST is a corpus manifest.csv, any CSV/JSONL manifest, or a folder of genuine videos
    (then every clip is used and --split/--category do not apply).
    """
    from avsync.calibration import clip_groups, collect, cross_fit, fit_calibration, format_summary, provenance, \
        verdict_rates
    from avsync.scoring.sidecar import write_calibration

    settings = load_settings(config_dir)
    if _plain_videos(manifest):
        split, category = (), ()
    clips = read_inputs([manifest], split, category)
    scorers = load_scorers(models)
    cache = open_analysis_cache(analysis_cache_dir)
    groups = clip_groups(clips)
    collected = collect(clips, scorers, settings, groups, negatives, seed, jobs, cache, options.show_progress(progress))
    results = {}
    for scorer in scorers:
        scores = collected["scores"][scorer.name]
        if scorer.weights_digest is None or scorer.calibration_path is None:
            options.fail(f"{scorer.name} has no weights file to store a calibration beside")
        try:
            folds = cross_fit(scores, settings.verdict, target_flag_rate, scorer.weights_digest)
            calibration = fit_calibration(scores["genuine"], scores["mismatched"], settings.verdict,
                                          target_flag_rate, scorer.weights_digest)
        except ValueError as exc:
            options.fail(f"cannot calibrate {scorer.name}: {exc}")
        out_of_fold = verdict_rates(scores, folds, settings.verdict)
        calibration.fitted_on = calibration.fitted_on | provenance(scores, manifest, list(split), list(category),
                                                                   negatives, seed, target_flag_rate,
                                                                   settings.verdict, out_of_fold)
        results[scorer.name] = (scorer, calibration, folds)
        click.echo(format_summary(scorer.name, calibration, out_of_fold, collected["skipped"]))
    if json_out:
        dump = {name: {"calibration": cal.to_dict(), "folds": {g: c.to_dict() for g, c in folds.items()},
                       **collected["scores"][name]} for name, (_, cal, folds) in results.items()}
        try:
            Path(json_out).write_text(json.dumps({"results": dump, "skipped": collected["skipped"]}, indent=1))
        except OSError as exc:
            options.fail(f"cannot write {json_out}: {exc.strerror or exc}", CANT_CREATE)
    if dry_run:
        click.echo("dry run: no sidecar written", err=True)
        return
    for scorer, calibration, _ in results.values():
        try:
            path = write_calibration(scorer.calibration_path, calibration)
        except (OSError, ValueError) as exc:
            options.fail(f"cannot write {scorer.calibration_path}: {exc}", CANT_CREATE)
        click.echo(f"wrote {path}")
