"""The training loop: Perfect-Match-style multi-way objective, dev accuracy, checkpoints, logs.

Objective: for each visual window the candidates are the 31 audio windows of its own clip at
-15..15 frames plus the aligned windows of the other clips' samples in the batch (or all their
offsets, ``other_clip_negatives: all``); the logits are
-distance x scale (a learnt inverse temperature) and the aligned window is the target of a
cross-entropy. Candidates outside the recording and other samples of the same clip (they may
overlap in time) are masked out.
"""
from __future__ import annotations

import csv
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from avsync.models.checkpoint import load_checkpoint, load_optim_state, save_checkpoint
from avsync.models.syncnet_lite import AUDIO_STRIDE, SyncNetLite
from avsync.train import distributed as D
from avsync.train.config import TrainConfig
from avsync.train.dataset import Clip, WindowDataset, load_clips
from avsync.train.weighting import shares_table

LAST, BEST = "last.safetensors", "best.safetensors"
CONTEXT_FRAMES = 15  # the headline context length for dev accuracy


def multiway_loss(vis: torch.Tensor, aud: torch.Tensor, valid: torch.Tensor, clip: torch.Tensor, scale: torch.Tensor,
                  target: int, other_clips: str = "aligned", label_sigma: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """vis (B, D), aud (B, K, D), valid (B, K), clip (B,) -> (loss, per-sample own-clip hit).

    ``other_clips``: which candidates of the other clips' samples are negatives: "aligned" (their
    offset-0 window: one per sample, so the 31 offsets keep most of the softmax), "all" (all
    their offsets) or "none". ``label_sigma`` > 0 spreads the target over the own clip's valid
    offsets next to the aligned one (a Gaussian of that many frames): a source whose recording
    is a frame off is then not a hard error."""
    b, k, _ = aud.shape
    flat = aud.reshape(b * k, -1)
    sq = (vis * vis).sum(1, keepdim=True) + (flat * flat).sum(1)[None] - 2 * vis @ flat.T
    dist = sq.clamp(min=1e-8).sqrt()  # (B, B*K)
    own = torch.arange(b, device=vis.device)[:, None] == torch.arange(b, device=vis.device).repeat_interleave(k)[None]
    allowed = valid.reshape(1, b * k).expand(b, -1)
    if other_clips not in ("aligned", "all", "none"):
        raise ValueError(f"other_clip_negatives must be aligned, all or none, not {other_clips!r}")
    other = ~(clip[:, None] == clip.repeat_interleave(k)[None])
    if other_clips == "aligned":
        other = other & (torch.arange(b * k, device=vis.device) % k == target)[None]
    elif other_clips == "none":
        other = torch.zeros_like(other)
    allowed = allowed & (own | other)
    logits = (-scale * dist).masked_fill(~allowed, float("-inf"))
    if label_sigma > 0:
        near = torch.exp(-0.5 * ((torch.arange(k, device=vis.device) - target) / label_sigma) ** 2)
        soft = (near[None] * valid).float()
        soft = soft / soft.sum(1, keepdim=True)
        # only the own clip's block of each row carries target mass; -inf logits there get none
        logp = F.log_softmax(logits, dim=1).reshape(b, b, k)[torch.arange(b), torch.arange(b)]
        loss = -(soft * logp.masked_fill(soft == 0, 0.0)).sum(1).mean()
    else:
        loss = F.cross_entropy(logits, torch.arange(b, device=vis.device) * k + target)
    own_dist = dist.detach().reshape(b, b, k)[torch.arange(b), torch.arange(b)].masked_fill(~valid, float("inf"))
    return loss, own_dist.argmin(1) == target


def scoring_settings():
    """The pipeline settings the held-out metrics score with, read once per run: a config file
    edited while a run goes on must not change (or break) its later epochs."""
    from avsync.config import Settings

    return Settings.load()


def dev_metrics(model: SyncNetLite, clips: list[Clip], cfg: TrainConfig, ctx: D.Context, settings,
                prefix: str = "dev") -> dict[str, float]:
    """Offset accuracy (within +-1 frame) on held-out clips at true offset 0: single windows,
    15-frame contexts and whole clips, overall and per category (sharded over processes); the keys
    start with ``prefix`` (dev, or val for the held-out train sources). ``settings``: from
    :func:`scoring_settings`."""
    from avsync.scoring.learned import SyncNetLiteScorer

    scorer = SyncNetLiteScorer.from_model(model)
    cats = sorted({c.category for c in clips})
    counts = torch.zeros(len(cats), 6, dtype=torch.float64)  # w5 hit/n, ctx hit/n, clip hit/n
    was_training = model.training
    model.eval()
    for i in range(ctx.rank, len(clips), ctx.world):
        clip = clips[i]
        if len(clip) < scorer.window_frames:
            continue
        dists = clip_dists(clip, scorer, settings, cfg.max_offset_frames)
        include = speech_windows(clip, dists, cfg.min_speech_fraction, scorer.audio_window_hops)
        hits = offset_hits(dists, include, cfg.max_offset_frames, scorer.window_frames)
        counts[cats.index(clip.category)] += torch.tensor(hits, dtype=torch.float64)
    model.train(was_training)
    counts = D.all_reduce_sum(counts, ctx)
    out: dict[str, float] = {}

    def put(suffix: str, row: torch.Tensor) -> None:
        for j, name in enumerate(("acc_w5", "acc_ctx15", "acc_clip")):
            hit, n = float(row[2 * j]), float(row[2 * j + 1])
            out[f"{prefix}_{name}{suffix}"] = hit / n if n else float("nan")
        out[f"{prefix}_windows{suffix}"] = float(row[1])

    put("", counts.sum(0))
    for j, cat in enumerate(cats):
        put(f"_{cat}", counts[j])
    return out


def clip_dists(clip: Clip, scorer, settings, search: int, track=None) -> np.ndarray:
    """The distance matrix of a cached clip (or of ``track``, one made from it) over ±``search``
    frames, scored as check and eval-offsets score (``settings``: from :func:`scoring_settings`)."""
    from avsync.pipeline import Analysis, score_tracks

    frame_dt = AUDIO_STRIDE * clip.hop_s
    analysis = Analysis(clip.id, 1.0 / frame_dt, 1.0 / frame_dt, 1, len(clip), len(clip) * frame_dt,
                        [track or clip.track()], clip.audio(), {})
    return score_tracks(analysis, scorer, settings, search=search, min_coverage=0.0, estimate=False)[0].dists


def speech_windows(clip: Clip, dists: np.ndarray, min_speech: float, hops: int) -> np.ndarray:
    """The windows of ``dists`` (one row per window of ``clip``) that dev accuracy counts; ``hops``:
    the MFCC rows of the model's audio window."""
    rows = clip.row_at(clip.times_s[:len(dists)])
    return (clip.window_speech(rows, hops) >= min_speech) & np.isfinite(dists).all(1)


def offset_hits(dists: np.ndarray, include: np.ndarray, target: int, window: int) -> list[float]:
    """[w5 hits, w5 n, ctx15 hits, ctx15 n, clip hit, clip n] for one clip whose true offset is column
    ``target`` of ``dists``: a hit is a best offset within 1 frame of it, for single windows, for
    CONTEXT_FRAMES contexts (distances averaged over their included ``window``-frame windows) and for
    the whole clip."""
    out = [0.0] * 6
    if include.any():
        out[0] = float(np.sum(np.abs(np.argmin(dists[include], axis=1) - target) <= 1))
        out[1] = float(include.sum())
        out[4] = float(abs(int(np.argmin(dists[include].mean(0))) - target) <= 1)
        out[5] = 1.0
    ctx_windows = CONTEXT_FRAMES - window + 1
    for w in range(0, len(dists) - ctx_windows + 1):
        sel = include[w:w + ctx_windows]
        if sel.sum() * 2 <= ctx_windows:
            continue
        out[2] += float(abs(int(np.argmin(dists[w:w + ctx_windows][sel].mean(0))) - target) <= 1)
        out[3] += 1
    return out


def _lr(cfg: TrainConfig, progress: float) -> float:
    """Linear warm-up, then cosine decay to zero at the last step; ``progress`` is in epochs."""
    if progress < cfg.warmup_epochs:
        return cfg.lr * (progress + 1e-3) / cfg.warmup_epochs
    span = max(cfg.epochs - cfg.warmup_epochs, 1e-6)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (progress - cfg.warmup_epochs) / span)))


class RunLog:
    """train.log (plain), metrics.csv and TensorBoard (when installed); rank 0 only."""

    def __init__(self, out: Path, enabled: bool, resume_epoch: int):
        self.enabled = enabled
        self.out = out
        self.tb = None
        self.logger = logging.getLogger(f"avsync.train.{id(self)}")
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        if not enabled:
            return
        fmt = logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S")
        for handler in (logging.FileHandler(out / "train.log"), logging.StreamHandler(sys.stderr)):
            handler.setFormatter(fmt)
            self.logger.addHandler(handler)
        self.csv = out / "metrics.csv"
        if self.csv.exists():  # keep the epochs that the resumed checkpoint already holds
            with self.csv.open() as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["epoch"]) <= resume_epoch]
            self._write_rows(rows)
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(out / "tb"), purge_step=resume_epoch + 1)
        except ImportError:
            self.tb = None

    def _write_rows(self, rows: list[dict]) -> None:
        if not rows:
            self.csv.unlink(missing_ok=True)
            return
        with self.csv.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    def info(self, msg: str) -> None:
        if self.enabled:
            self.logger.info(msg)

    def epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        if not self.enabled:
            return
        row = {"epoch": epoch, **{k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in metrics.items()}}
        rows = []
        if self.csv.exists():
            with self.csv.open() as fh:
                rows = list(csv.DictReader(fh))
        self._write_rows(rows + [row])
        if self.tb is not None:
            for k, v in metrics.items():
                if isinstance(v, (int, float)) and math.isfinite(v):
                    self.tb.add_scalar(k, v, epoch)
            self.tb.flush()

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
        for h in list(self.logger.handlers):
            h.close()
            self.logger.removeHandler(h)


def train(cfg: TrainConfig, out_dir: str | Path, resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) training; returns the last epoch's metrics. Works under torchrun unchanged."""
    ctx = D.setup(cfg.threads)
    try:
        return _train(cfg, Path(out_dir), resume, ctx, progress)
    finally:
        D.teardown()


def _train(cfg: TrainConfig, out: Path, resume: bool, ctx: D.Context, progress: bool) -> dict[str, Any]:
    if cfg.batch_size % ctx.world:
        raise ValueError(f"batch_size {cfg.batch_size} does not split over {ctx.world} processes")
    per_rank = cfg.batch_size // ctx.world
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
    D.barrier(ctx)
    D.seed_everything(cfg.seed)

    model = SyncNetLite(cfg.model).to(ctx.device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    ema = _ema(model, cfg.ema_decay)
    start_epoch, best, history = 0, -math.inf, {}
    last = out / LAST
    if resume and last.exists():
        loaded, meta = load_checkpoint(last, map_location=str(ctx.device))
        model.load_state_dict(loaded.state_dict())
        state = load_optim_state(last)
        if state is not None:
            opt.load_state_dict(state["optimizer"])
            best = float(state.get("best", -math.inf))
            if ema is not None and "trained" in state:  # the checkpoint holds the average
                ema.module.load_state_dict(loaded.state_dict())
                ema.n_averaged.fill_(1)
                model.load_state_dict(state["trained"])
        start_epoch = int(meta["epoch"]) + 1
        history = meta.get("metrics", {})
    log = RunLog(out, ctx.is_main, start_epoch - 1)
    if ctx.is_main:
        cfg.to_yaml(out / "config.yaml")

    train_clips = load_clips(cfg.cache_dir, cfg.train_split, cfg.categories)
    dev_clips = load_clips(cfg.cache_dir, cfg.dev_split, cfg.dev_categories)
    val_clips = [c for c in train_clips if c.source in cfg.val_sources]
    if cfg.val_sources:
        train_clips = [c for c in train_clips if c.source not in cfg.val_sources]
        missing = sorted(set(cfg.val_sources) - {c.source for c in val_clips})
        log.info(f"val: {len(val_clips)} train-split clips of {len(cfg.val_sources)} held-out sources"
                 + (f" (none of: {', '.join(missing)})" if missing else ""))
    still = [c for c in train_clips if c.mouth_motion < cfg.min_mouth_motion]
    if still:
        train_clips = [c for c in train_clips if c.mouth_motion >= cfg.min_mouth_motion]
        log.info(f"left out {len(still)} training tracks whose mouth does not move (min_mouth_motion "
                 f"{cfg.min_mouth_motion}): " + ", ".join(f"{c.id} ({c.mouth_motion:.4f})" for c in still))
    if not train_clips:
        raise ValueError(f"{cfg.cache_dir}: no usable '{cfg.train_split}' clips in categories {cfg.categories}")
    data = WindowDataset(train_clips, window_frames=cfg.model.window_frames, max_offset=cfg.max_offset_frames,
                         min_speech=cfg.min_speech_fraction,
                         stride=cfg.window_stride, augment=cfg.aug if cfg.augment else None, seed=cfg.seed,
                         sources=cfg.sources)
    log.info(f"train: {len(train_clips)} clips, {sum(len(c) for c in train_clips)} frames, "
             f"{data.n_windows()} speech windows; dev: {len(dev_clips)} clips; model {model.n_params():,} parameters; "
             f"{ctx.world} process(es) on {ctx.device}, {torch.get_num_threads()} threads each")
    if data.quotas is not None:
        log.info(f"windows per epoch by source (power {cfg.sources.power}, max_share {cfg.sources.max_share}, "
                 f"max_repeat {cfg.sources.max_repeat}):\n" + shares_table(data.source_sizes, data.quotas))
    unknown = sorted(set(cfg.sources.weights) - set(data.source_sizes))
    if unknown:
        log.info(f"sources.weights names no training source (a typo?): {', '.join(unknown)}")
    if start_epoch:
        log.info(f"resuming after epoch {start_epoch - 1} from {last}")

    settings = scoring_settings() if dev_clips or val_clips else None
    net = model
    if ctx.distributed:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    target = cfg.max_offset_frames
    metrics: dict[str, Any] = history
    for epoch in range(start_epoch, cfg.epochs):
        t_start = time.time()
        torch.manual_seed(cfg.seed * 1000 + epoch * ctx.world + ctx.rank)  # dropout: reproducible on resume
        n_batches = data.set_epoch(epoch, ctx.rank, ctx.world, per_rank)
        if n_batches == 0:
            raise ValueError(f"too few training windows ({data.n_windows()}) for batch_size {cfg.batch_size}")
        loader = DataLoader(data, batch_size=per_rank, shuffle=False, num_workers=cfg.num_workers, drop_last=True)
        net.train()
        tot = torch.zeros(3, dtype=torch.float64)  # loss sum, hits, samples
        bar = tqdm(loader, total=n_batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not (progress and ctx.is_main),
                   leave=False, file=sys.stderr)
        for step, batch in enumerate(bar):
            lr = _lr(cfg, epoch + step / n_batches)
            for group in opt.param_groups:
                group["lr"] = lr
            batch = {k: v.to(ctx.device, non_blocking=True) for k, v in batch.items()}
            vis, aud = net(batch["crops"], batch["lips"], batch["opening"], batch["audio"], cfg.n_offsets)
            loss, hit = multiway_loss(vis, aud, batch["valid"], batch["clip"], model.scale(), target, cfg.other_clip_negatives,
                                      cfg.label_sigma_frames)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite training loss at epoch {epoch + 1}, step {step + 1}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            if ema is not None:
                ema.update_parameters(model)
            tot += torch.tensor([loss.item() * len(hit), hit.sum().item(), len(hit)], dtype=torch.float64)
            bar.set_postfix(loss=f"{tot[0] / tot[2]:.3f}", acc=f"{tot[1] / tot[2]:.3f}")
        bar.close()
        tot = D.all_reduce_sum(tot, ctx)
        kept = model if ema is None else ema.module  # what is scored and saved
        metrics = {"train_loss": float(tot[0] / tot[2]), "train_acc": float(tot[1] / tot[2]), "lr": lr,
                   "scale": float(kept.scale().item())}
        if (epoch + 1) % cfg.dev_every == 0 or epoch + 1 == cfg.epochs:
            for prefix, held_out in (("dev", dev_clips), ("val", val_clips)):
                if held_out:
                    metrics.update(dev_metrics(kept, held_out, cfg, ctx, settings, prefix))
        metrics["seconds"] = time.time() - t_start
        if ctx.is_main:
            score = metrics.get(cfg.select_metric, float("nan"))
            improved = math.isfinite(score) and score > best
            if improved:
                best = score
            train_dict = cfg.to_dict()
            optim_state = {"optimizer": opt.state_dict(), "best": best, "epoch": epoch}
            if ema is not None:
                optim_state["trained"] = model.state_dict()
            save_checkpoint(last, kept, epoch=epoch, metrics=metrics, train_config=train_dict, optim_state=optim_state)
            if improved or not (out / BEST).exists():
                save_checkpoint(out / BEST, kept, epoch=epoch, metrics=metrics, train_config=train_dict)
            log.info(_summary(epoch, cfg.epochs, metrics) + (" *" if improved else ""))
            log.epoch(epoch, metrics)
        D.barrier(ctx)
    log.close()
    return metrics


def _ema(model: SyncNetLite, decay: float):
    """A moving average of ``model``'s weights and BatchNorm statistics, or None when ``decay`` is 0."""
    if not decay:
        return None
    if not 0 < decay < 1:
        raise ValueError(f"ema_decay must be in [0, 1), not {decay}")
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def _summary(epoch: int, epochs: int, m: dict[str, Any]) -> str:
    parts = [f"epoch {epoch + 1}/{epochs}", f"loss {m['train_loss']:.4f}", f"train_acc {m['train_acc']:.3f}"]
    for key in ("dev_acc_w5", "dev_acc_ctx15", "dev_acc_clip", "val_acc_ctx15", "val_acc_clip"):
        if key in m:
            parts.append(f"{key} {m[key]:.3f}")
    parts.append(f"lr {m['lr']:.2e}")
    parts.append(f"{m['seconds']:.0f}s")
    return "  ".join(parts)
