"""``avsync eval-offsets``: offset accuracy by context length and mismatch AUC/EER (SyncNet protocol)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def fail(message: str) -> None:
    click.echo(f"avsync: error: {message}", err=True)
    sys.exit(3)


def load_scorers(models: tuple[str, ...]):
    """Scorers for the ``--model`` values (default: the default model); exits 3 on a bad one."""
    from avsync.pipeline import resolve_scorer

    scorers = []
    for spec in models or ("default",):
        try:
            scorers.append(resolve_scorer(spec))
        except Exception as exc:  # unknown name, missing or unreadable checkpoint
            fail(f"cannot load model {spec!r}: {exc}")
    names = [s.name for s in scorers]
    if len(set(names)) != len(names):
        fail(f"two --model values give the same scorer name: {', '.join(names)}")
    return scorers


def load_entries(source: str, split: tuple[str, ...], category: tuple[str, ...]):
    from avsync.corpus import read_clips

    path = Path(source)
    if not path.exists():
        fail(f"no such manifest or folder: {source}")
    try:
        entries = read_clips(path, set(split) or None, set(category) or None)
    except (OSError, UnicodeDecodeError, KeyError, ValueError) as exc:
        fail(f"cannot read {source}: {exc}")
    if not entries:
        where = ", ".join(f"{k} {v}" for k, v in (("split", split), ("category", category)) if v)
        fail(f"no clips found in {source}" + (f" with {where}" if where else ""))
    return entries


def load_settings(config_dir):
    from avsync.config import Settings

    try:
        return Settings.load(config_dir)
    except Exception as exc:
        fail(f"cannot read configs: {exc}")


def open_cache(cache_dir):
    """The front-end analysis cache in ``cache_dir``, or None; a folder that cannot be used fails."""
    from avsync.evaluation.clipset import AnalysisCache

    try:
        return AnalysisCache(cache_dir) if cache_dir else None
    except OSError as exc:
        fail(f"cannot use cache folder {cache_dir}: {exc}")


@click.command("eval-offsets")
@click.argument("source", type=click.Path())
@click.option("--split", multiple=True, help="only these manifest splits, e.g. dev (repeatable; default all)")
@click.option("--category", multiple=True, help="only these manifest categories, e.g. real (repeatable)")
@click.option("--model", "models", multiple=True,
              help="scorer (repeatable, sharing one front-end pass): default, baseline, syncnet_lite, "
                   "syncnet_v2:PATH or a checkpoint path")
@click.option("--out", type=click.Path(dir_okay=False), help="write the full results as JSON to this file")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="accuracy by context length as PNG")
@click.option("--jobs", type=int, default=None, help="processes for the face front-end (default: all cores)")
@click.option("--max-shift", type=click.IntRange(1, 15), default=15, show_default=True,
              help="true offsets tested: -N..N frames of audio shift")
@click.option("--stride", type=click.IntRange(min=1), default=5, show_default=True,
              help="frames between the start positions of sampled contexts")
@click.option("--negatives", type=click.IntRange(min=0), default=3, show_default=True,
              help="other clips' audio tried per clip for the mismatch AUC")
@click.option("--seed", type=int, default=0, show_default=True, help="seed for pairing clips with other audio")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False),
              help="keep front-end analyses in this folder and reuse them on later runs")
@click.option("--config-dir", type=click.Path(file_okay=False), help="read YAML configs from this folder")
@click.option("--progress/--no-progress", default=None, help="progress bar (default: on a terminal)")
def command(source, split, category, models, out, plot_path, jobs, max_shift, stride, negatives, seed, cache_dir,
            config_dir, progress):
    """Offset accuracy (within ±1 frame) at context lengths 5-15 frames and for whole clips, and ROC
    AUC / EER of genuine against another clip's audio, over SOURCE: a corpus manifest.csv or a folder
    of videos (e.g. LRS2 test).

    Each clip's audio is shifted by every offset in ±15 frames; the face front-end and the scorer
    run once per clip. Exit code 3 on bad input.
    """
    from avsync.evaluation.offsets import evaluate_offsets, format_table, plot_accuracy

    settings = load_settings(config_dir)
    entries = load_entries(source, split, category)
    scorers = load_scorers(models)
    cache = open_cache(cache_dir)
    if progress is None:
        progress = sys.stderr.isatty()
    result = evaluate_offsets(entries, scorers, settings, max_shift=max_shift, stride=stride, negatives=negatives,
                              seed=seed, jobs=jobs, cache=cache, progress=progress, source=str(source))
    result["selection"] = {"split": list(split), "category": list(category)}
    skipped = [c for c in result["clips"] if c["status"] != "ok"]
    for clip in skipped:
        click.echo(f"skipped {Path(clip['file']).name}: {clip['reason']}", err=True)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result, indent=1))
    if plot_path:
        plot_accuracy(result, plot_path)
    click.echo(format_table(result))
    if out:
        click.echo(f"wrote {out}", err=True)
    if len(skipped) == len(result["clips"]):
        fail("no clip could be scored")
