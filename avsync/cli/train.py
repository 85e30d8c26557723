"""``avsync train``: train SyncNet-lite from a committed config (single process or torchrun)."""
from __future__ import annotations

from pathlib import Path

import click

from avsync.cli import options


@options.command("train")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Training config (YAML). Default: train/default.yaml of --config-dir (the package's configs).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Run folder: checkpoints, train.log, metrics.csv, tb/. Default: runs/<config name>.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False), default=None,
              help="Override the config's cache_dir (the folder `avsync prepare` wrote).")
@click.option("--seed", type=int, default=None,
              help="Override the config's seed: another draw of the same design (its run folder records it).")
@click.option("--resume", is_flag=True, help="Continue from OUT/last.safetensors when it exists.")
@options.progress
@options.common
def train(config_path: str | None, out_dir: str | None, cache_dir: str | None, seed: int | None, resume: bool,
          progress: bool | None, config_dir: str | None) -> None:
    """Train the SyncNet-lite model on a prepared cache.

    Multi-process / multi-GPU: `torchrun --nproc_per_node N -m avsync.cli.train --config ...`
    (gloo on CPU, nccl on GPU, chosen automatically).
    """
    from avsync.config import ConfigError, config_file
    from avsync.models.checkpoint import CheckpointError
    from avsync.train.config import TrainConfig
    from avsync.train.dataset import CacheError

    try:
        config_path = config_path or str(config_file("train/default.yaml", config_dir))
    except ConfigError as exc:
        options.fail(str(exc))
    try:
        cfg = TrainConfig.load(config_path)
    except FileNotFoundError:
        options.fail(f"no such config: {config_path}")
    except (ValueError, TypeError) as exc:
        options.fail(f"{config_path}: {exc}")
    if cache_dir:
        cfg = cfg.replace(cache_dir=cache_dir)
    if seed is not None:
        cfg = cfg.replace(seed=seed)
    out = Path(out_dir) if out_dir else Path("runs") / Path(config_path).stem
    from avsync.train.loop import train as run

    try:
        metrics = run(cfg, out, resume=resume, progress=progress is not False)
    except (CacheError, CheckpointError, ValueError, FloatingPointError) as exc:
        options.fail(str(exc))
    click.echo(f"done: {out / 'last.safetensors'} (best: {out / 'best.safetensors'}); "
               + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items() if k.startswith(("dev_acc", "val_acc")) and "_" not in k[8:]))


if __name__ == "__main__":  # torchrun --nproc_per_node N -m avsync.cli.train --config ...
    train()
