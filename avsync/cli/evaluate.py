"""``avsync eval``: ROC AUC / AP / EER with bootstrap CIs on a labelled manifest or a benchmark."""
from __future__ import annotations

from pathlib import Path

import click

from avsync.cli import options
from avsync.cli.resources import open_report_cache, scorer_identity
from avsync.evaluation.manifest import ManifestError


def _dataset_names() -> list[str]:
    from avsync.evaluation.adapters import ADAPTERS

    return sorted(ADAPTERS)


@options.command("eval")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--dataset", type=click.Choice(_dataset_names(), case_sensitive=False), default=None,
              help="Read SOURCE as this benchmark's root folder (or metadata file) instead of a manifest.")
@click.option("--split", default=None, help="Benchmark split to evaluate (e.g. dev, test, val).")
@click.option("--labels", type=click.Choice(["lipsync", "official"]), default="lipsync", show_default=True,
              help="Benchmark labels: lip-sync relevance (docs/datasets.md) or the benchmark's own real/fake.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("avsync-eval"), show_default=True,
              help="Folder for metrics.json, scores.csv and roc.png.")
@click.option("--threshold", type=float, default=None,
              help="Call a video fake when 1 - p_sync >= this. Default: configs/evaluation.yaml.")
@click.option("--min-confidence", type=float, default=None,
              help="For scorers without p_sync: call a video fake when confidence <= this. "
                   "Default: 0 (a scorer without p_sync is uncalibrated: no min_confidence).")
@click.option("--bootstrap", type=click.IntRange(min=0), default=None,
              help="Bootstrap resamples for the 95% CIs (0 = none). Default: configs/evaluation.yaml.")
@click.option("--seed", type=int, default=None, help="Bootstrap seed.")
@options.model()
@options.workers
@options.limits
@options.report_cache
@click.option("--skip-missing", is_flag=True,
              help="Leave out listed videos that are not on disk (a partial download) instead of "
                   "listing them as errors.")
@options.progress
@options.common
def command(source, dataset, split, labels, out_dir, threshold, min_confidence, bootstrap, seed, model, workers,
            time_limit, memory_limit, report_cache_dir, no_report_cache, skip_missing, progress, config_dir):
    """Score a labelled set and report ROC AUC, AP and EER (bootstrap 95% CIs), accuracy,
    precision and recall at the threshold, a verdict x label table and per-group results.

    \b
    avsync eval MANIFEST            CSV/JSONL with path, label (real/fake or 0/1), [audio], [group]
    avsync eval --dataset NAME ROOT  fakeavceleb, lavdf, avdeepfake1m or dfdc metadata, as published

    The score is 1 - p_sync (or -confidence when the model gives no p_sync); higher = more
    likely fake. Reports are cached per video, so evaluating again with other labels decodes
    nothing. Videos that fail are counted and listed, and left out of the metrics.
    """
    from avsync.audit.runner import CheckerUnavailable, default_workers
    from avsync.config import ConfigError
    from avsync.evaluation.config import EvalConfig
    from avsync.evaluation.evaluate import evaluate_rows, format_table, write_outputs
    from avsync.evaluation.runner import BatchOptions

    if split and not dataset:
        raise click.UsageError("--split needs --dataset")
    try:
        if dataset:
            from avsync.evaluation.adapters import ADAPTERS

            rows = ADAPTERS[dataset.lower()].load(source, split=split, labels=labels)
        else:
            from avsync.evaluation.manifest import read_manifest

            rows = read_manifest(source)
        cfg = EvalConfig.load(config_dir)
    except (ManifestError, ConfigError, OSError, ValueError) as exc:
        options.fail(str(exc))
    changes = {k: v for k, v in (("threshold", threshold), ("confidence_threshold", min_confidence),
                                 ("bootstrap", bootstrap), ("seed", seed)) if v is not None}
    cfg = cfg.replace(**changes)

    if skip_missing:
        before = len(rows)
        rows = [r for r in rows if Path(r.path).is_file()]
        if before != len(rows):
            click.echo(f"skipping {before - len(rows)} of {before} listed videos not on disk", err=True)
        if not rows:
            options.fail("none of the listed videos is on disk")

    cache = open_report_cache(report_cache_dir, no_report_cache, scorer_identity(model, config_dir))
    batch = BatchOptions(workers=workers or default_workers(), time_limit_s=time_limit,
                         memory_limit_mb=memory_limit, model=model, config_dir=config_dir)
    try:
        result = evaluate_rows(rows, cfg, cache=cache, batch=batch, progress=options.show_progress(progress))
    except CheckerUnavailable as exc:
        options.fail(str(exc))
    result["source"] = {"path": str(source), "dataset": dataset, "split": split, "model": model or "default",
                        "labels": labels if dataset else "manifest"}
    title = f"{dataset or Path(source).name}" + (f" {split}" if split else "")
    paths = write_outputs(result, out_dir, title=f"avsync eval: {title}")
    click.echo(format_table(result))
    if result["excluded"]:
        click.echo(f"\nexcluded ({len(result['excluded'])}):")
        for item in result["excluded"][:20]:
            click.echo(f"  {item['path']}: {item['reason']}")
        if len(result["excluded"]) > 20:
            click.echo(f"  ... {len(result['excluded']) - 20} more in {paths['json']}")
    click.echo(f"\nwrote {paths['json']}, {paths['csv']}, {paths['roc']}")
