"""``avsync train``: train SyncNet-lite from a committed config (single process or torchrun)."""
from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("train")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default="configs/train/default.yaml",
              show_default=True, help="Training config (YAML).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Run folder: checkpoints, train.log, metrics.csv, tb/. Default: runs/<config name>.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False), default=None,
              help="Override the config's cache_dir (the folder `avsync prepare` wrote).")
@click.option("--resume", is_flag=True, help="Continue from OUT/last.safetensors when it exists.")
@click.option("--no-progress", is_flag=True, help="No progress bar (logs only).")
def train(config_path: str, out_dir: str | None, cache_dir: str | None, resume: bool, no_progress: bool) -> None:
    """Train the SyncNet-lite model on a prepared cache.

    Multi-process / multi-GPU: `torchrun --nproc_per_node N -m avsync.cli.train --config ...`
    (gloo on CPU, nccl on GPU, chosen automatically).
    """
    from avsync.models.checkpoint import CheckpointError
    from avsync.train.config import TrainConfig
    from avsync.train.dataset import CacheError

    try:
        cfg = TrainConfig.load(config_path)
    except FileNotFoundError:
        raise click.UsageError(f"no such config: {config_path}") from None
    except (ValueError, TypeError) as exc:
        raise click.UsageError(f"{config_path}: {exc}") from None
    if cache_dir:
        cfg = cfg.replace(cache_dir=cache_dir)
    out = Path(out_dir) if out_dir else Path("runs") / Path(config_path).stem
    from avsync.train.loop import train as run

    try:
        metrics = run(cfg, out, resume=resume, progress=not no_progress)
    except (CacheError, CheckpointError, ValueError, FloatingPointError) as exc:
        click.echo(f"avsync train: error: {exc}", err=True)
        sys.exit(3)
    click.echo(f"done: {out / 'last.safetensors'} (best: {out / 'best.safetensors'}); "
               + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items() if k.startswith("dev_acc") and "_" not in k[8:]))


commands = [train]


if __name__ == "__main__":  # torchrun --nproc_per_node N -m avsync.cli.train --config ...
    train()
