"""``avsync eval-offsets``: offset accuracy by context length and mismatch AUC/EER (SyncNet protocol)."""
from __future__ import annotations

import json
from pathlib import Path

import click

from avsync.cli import options
from avsync.cli.resources import load_scorers, load_settings, open_analysis_cache, read_inputs
from avsync.exit_codes import CANT_CREATE


@options.command("eval-offsets")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@options.selection()
@options.model(multiple=True)
@click.option("--out", type=click.Path(dir_okay=False), help="write the full results as JSON to this file")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="accuracy by context length as PNG")
@options.jobs
@click.option("--max-shift", type=click.IntRange(1, 15), default=15, show_default=True,
              help="true offsets tested: -N..N frames of audio shift")
@click.option("--stride", type=click.IntRange(min=1), default=5, show_default=True,
              help="frames between the start positions of sampled contexts")
@click.option("--negatives", type=click.IntRange(min=0), default=3, show_default=True,
              help="other clips' audio tried per clip for the mismatch AUC")
@click.option("--seed", type=int, default=0, show_default=True, help="seed for pairing clips with other audio")
@options.analysis_cache
@options.progress
@options.common
def command(inputs, split, category, models, out, plot_path, jobs, max_shift, stride, negatives, seed,
            analysis_cache_dir, progress, config_dir):
    """Offset accuracy (within ±1 frame) at context lengths 5-15 frames and for whole clips, and ROC
    AUC / EER of genuine against another clip's audio, over INPUT: a corpus manifest.csv, any
    CSV/JSONL manifest, a folder of videos (e.g. LRS2 test) or a glob.

    Each clip's audio is shifted by every offset in ±15 frames; the face front-end and the scorer
    run once per clip. Exit code 3 on bad input.
    """
    from avsync.evaluation.offsets import evaluate_offsets, format_table, plot_accuracy

    settings = load_settings(config_dir)
    clips = read_inputs(inputs, split, category)
    scorers = load_scorers(models)
    cache = open_analysis_cache(analysis_cache_dir)
    result = evaluate_offsets(clips, scorers, settings, max_shift=max_shift, stride=stride, negatives=negatives,
                              seed=seed, jobs=jobs, cache=cache, progress=options.show_progress(progress),
                              source=" ".join(map(str, inputs)))
    result["selection"] = {"split": list(split), "category": list(category)}
    skipped = [c for c in result["clips"] if c["status"] != "ok"]
    for clip in skipped:
        click.echo(f"skipped {Path(clip['file']).name}: {clip['reason']}", err=True)
    try:
        if out:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            Path(out).write_text(json.dumps(result, indent=1))
        if plot_path:
            plot_accuracy(result, plot_path)
    except OSError as exc:
        options.fail(f"cannot write {exc.filename or out}: {exc.strerror or exc}", CANT_CREATE)
    click.echo(format_table(result))
    if out:
        click.echo(f"wrote {out}", err=True)
    if len(skipped) == len(result["clips"]):
        options.fail("no clip could be scored")
