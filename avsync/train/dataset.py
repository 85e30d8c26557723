"""Training windows read from the ``avsync prepare`` cache.

Cache: ``index.jsonl`` (one entry per clip: id, file, split, category, source (the manifest's
``repo``), status "ok"/"skipped", reason, npz, n_frames, fps) and one ``.npz`` per clip with
``crops`` (n,48,96) uint8, ``lips`` (n,L,2) float32 in crop coordinates, ``opening`` (n,),
``times_s`` (n,), ``mfcc`` (T,13) at 10 ms, ``speech`` (T,) bool, ``mfcc_t0_s``, ``hop_s``, ``fps``.

A training sample is one visual window (``window_frames`` frames, 5 by default) and an MFCC
segment around it that holds the 31 candidate audio windows at -15..15 frames (4 rows per
frame; 140 rows for 5-frame windows), plus which candidates lie inside the recording. Window
time runs on a 40 ms grid (25 fps, the analysis rate); speed perturbation stretches both time
axes by the same factor. Which windows an epoch visits per source is set by
``SourceWeighting`` (train/weighting.py).
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from avsync.features.audio import AudioFeatures
from avsync.frontend.track import MouthTrack
from avsync.models.spec import AUDIO_STRIDE, interp_rows, mfcc_stats, normalize_mfcc, window_count, window_positions
from avsync.train.augment import AudioAug, AugmentConfig, augment_crops, gain_ramp
from avsync.train.weighting import SourceWeighting, source_quotas

STATS_ROWS = 300  # rows of an augmented clip used to re-estimate its normalisation


class CacheError(ValueError):
    """A cache folder that cannot be read for training."""


@dataclass
class Clip:
    id: str
    category: str
    crops: np.ndarray
    lips: np.ndarray
    opening: np.ndarray
    times_s: np.ndarray
    mfcc: np.ndarray
    speech: np.ndarray
    t0_s: float
    hop_s: float
    fps: float
    source: str = ""  # the repository the clip came from ("" in caches written before sources were kept)

    def __post_init__(self) -> None:
        self.stats = mfcc_stats(self.mfcc)
        self.speech_cum = np.concatenate([[0], np.cumsum(self.speech.astype(np.int64))])

    def __len__(self) -> int:
        return len(self.crops)

    @property
    def mouth_motion(self) -> float:
        """Std of the frame-to-frame change of the mouth-opening ratio: ~0 for a face that does not speak."""
        step = np.diff(self.opening)
        step = step[np.isfinite(step)]
        return float(step.std()) if len(step) > 1 else 0.0

    def row_at(self, t: np.ndarray | float) -> np.ndarray:
        return np.round((np.asarray(t) - self.t0_s) / self.hop_s).astype(np.int64)

    def window_speech(self, rows: np.ndarray, hops: int) -> np.ndarray:
        """Fraction of speech rows in each ``hops``-row window starting at ``rows`` (0 outside)."""
        lo = np.clip(rows, 0, len(self.speech))
        hi = np.clip(rows + hops, 0, len(self.speech))
        return (self.speech_cum[hi] - self.speech_cum[lo]) / hops

    def track(self) -> MouthTrack:
        n = len(self)
        return MouthTrack(track_id=0, frames=np.arange(n), times_s=self.times_s, boxes=np.zeros((n, 4), np.float32),
                          lips=self.lips, opening=self.opening, crops=self.crops, valid=np.ones(n, bool))

    def audio(self) -> AudioFeatures:
        return AudioFeatures(self.mfcc, np.zeros(len(self.mfcc), np.float32), self.speech, self.hop_s, self.t0_s)


def read_index(cache_dir: str | Path) -> list[dict]:
    index = Path(cache_dir) / "index.jsonl"
    if not index.is_file():
        raise CacheError(f"{cache_dir}: no index.jsonl (run `avsync prepare` first)")
    entries = []
    with index.open() as fh:
        for line in fh:
            if line.strip():
                entries.append(json.loads(line))
    # A resumed prepare may append an entry again: the last one wins. One clip can give
    # several entries (one per face track), told apart by their npz.
    return list({(e["id"], e.get("npz") or e.get("track")): e for e in entries}.values())


def load_clip(cache_dir: str | Path, entry: dict) -> Clip:
    with np.load(Path(cache_dir) / entry["npz"]) as z:
        return Clip(id=f"{entry['id']}#{entry.get('track', 0)}", category=entry.get("category", ""), crops=z["crops"], lips=z["lips"].astype(np.float32),
                    opening=z["opening"].astype(np.float32), times_s=z["times_s"].astype(np.float64),
                    mfcc=z["mfcc"].astype(np.float32), speech=z["speech"].astype(bool), t0_s=float(z["mfcc_t0_s"]),
                    hop_s=float(z["hop_s"]), fps=float(z["fps"]), source=entry.get("source") or "")


def load_clips(cache_dir: str | Path, split: str, categories: list[str] | None = None) -> list[Clip]:
    clips = []
    for e in read_index(cache_dir):
        if e.get("status") != "ok" or e.get("split") != split:
            continue
        if categories and e.get("category") not in categories:
            continue
        clips.append(load_clip(cache_dir, e))
    return clips


class WindowDataset(Dataset):
    """Training windows; ``set_epoch`` picks this epoch's windows for this process."""

    def __init__(self, clips: list[Clip], *, window_frames: int = 5, max_offset: int = 15, min_speech: float = 0.5,
                 stride: int = 1, augment: AugmentConfig | None = None, seed: int = 0,
                 sources: SourceWeighting | None = None):
        self.clips = clips
        self.window_frames = window_frames
        self.max_offset = max_offset
        self.stride = max(1, stride)
        self.aug = augment
        self.seed = seed
        self.eligible = [self._eligible(c, window_frames, min_speech) for c in clips]
        self.items = np.zeros((0, 2), np.int64)
        self.epoch = 0
        self.by_source: dict[str, list[int]] = defaultdict(list)
        for ci, clip in enumerate(clips):
            self.by_source[clip.source].append(ci)
        self.source_sizes = {s: int(sum(len(self.eligible[ci]) for ci in cis)) for s, cis in self.by_source.items()}
        # Without weighting every source keeps its 1-in-stride share; with it, the epoch keeps that size.
        self.quotas = None
        if sources is not None and sources.active:
            self.quotas = source_quotas(self.source_sizes, self.n_windows() // self.stride, sources)

    @staticmethod
    def _eligible(clip: Clip, frames: int, min_speech: float) -> np.ndarray:
        n = window_count(clip.times_s, frames)
        if n <= 0:
            return np.zeros(0, np.int64)
        rows = clip.row_at(clip.times_s[:n])
        hops = AUDIO_STRIDE * frames
        ok = (rows >= 0) & (rows + hops <= len(clip.mfcc)) & (clip.window_speech(rows, hops) >= min_speech)
        return np.flatnonzero(ok)

    def n_windows(self) -> int:
        return int(sum(len(e) for e in self.eligible))

    def set_epoch(self, epoch: int, rank: int = 0, world: int = 1, batch: int = 1) -> int:
        """Choose, shuffle and shard this epoch's windows; returns the number of batches per process."""
        rng = np.random.default_rng([self.seed, epoch])
        picked, rest = [], []
        for ci, elig in enumerate(self.eligible):
            phase = int(rng.integers(self.stride))
            keep = np.zeros(len(elig), bool)
            keep[phase::self.stride] = True
            picked.append(np.stack([np.full(int(keep.sum()), ci), elig[keep]], axis=1))
            rest.append(np.stack([np.full(int((~keep).sum()), ci), elig[~keep]], axis=1))
        if self.quotas is None:
            parts = picked
        else:
            parts = [self._draw(np.concatenate([picked[ci] for ci in cis]), np.concatenate([rest[ci] for ci in cis]),
                                self.quotas[s], rng) for s, cis in sorted(self.by_source.items())]
        items = np.concatenate(parts) if parts else np.zeros((0, 2), np.int64)
        items = items[rng.permutation(len(items))]
        n_batches = len(items) // (world * batch)  # every process runs the same number of full batches
        per_rank = n_batches * batch
        self.items = items[rank * per_rank:(rank + 1) * per_rank]
        self.epoch = epoch
        return n_batches

    @staticmethod
    def _draw(picked: np.ndarray, rest: np.ndarray, quota: int, rng: np.random.Generator) -> np.ndarray:
        """``quota`` windows of one source: from its 1-in-stride picks first (neighbours are
        near-duplicates), then its other windows, then repeats."""
        if quota <= len(picked):
            return picked[rng.choice(len(picked), quota, replace=False)]
        if quota <= len(picked) + len(rest):
            return np.concatenate([picked, rest[rng.choice(len(rest), quota - len(picked), replace=False)]])
        every = np.concatenate([picked, rest])
        return np.concatenate([every, every[rng.choice(len(every), quota - len(every), replace=True)]])

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, idx: int) -> dict[str, torch.Tensor]:
        ci, frame = (int(v) for v in self.items[idx])
        rng = np.random.default_rng([self.seed, self.epoch, ci, frame])
        return make_sample(self.clips[ci], frame, self.window_frames, self.max_offset, self.aug, rng, clip_index=ci)


def make_sample(clip: Clip, frame: int, window_frames: int, max_offset: int, aug: AugmentConfig | None,
                rng: np.random.Generator, clip_index: int = 0) -> dict[str, torch.Tensor]:
    speed = 1.0
    if aug is not None and rng.random() < aug.speed_p:
        speed = float(rng.uniform(1 - aug.speed_range, 1 + aug.speed_range))
    frame_dt = AUDIO_STRIDE * clip.hop_s  # 40 ms: the window grid
    t_anchor = clip.times_s[frame]
    vis_pos = window_positions(clip.times_s, t_anchor, window_frames, frame_dt * speed)
    crops = interp_rows(clip.crops, vis_pos)
    lips = interp_rows(clip.lips, vis_pos)
    opening = interp_rows(clip.opening, vis_pos)

    hops = AUDIO_STRIDE * window_frames
    n_rows = AUDIO_STRIDE * 2 * max_offset + hops
    anchor = int(clip.row_at(t_anchor))
    pos = anchor + (np.arange(n_rows) - AUDIO_STRIDE * max_offset) * speed
    starts = anchor + AUDIO_STRIDE * np.arange(-max_offset, max_offset + 1) * speed
    valid = (starts >= 0) & (starts + (hops - 1) * speed <= len(clip.mfcc) - 1)
    valid[max_offset] = True  # eligible by construction; a speed-up may clamp its last row or two
    lo = max(0, int(np.floor(pos[0])))
    hi = min(len(clip.mfcc), int(np.ceil(pos[-1])) + 1)
    rows = clip.mfcc[lo:hi]
    stats = clip.stats
    if aug is not None:
        audio_aug = AudioAug.draw(rng, aug, clip.mfcc[:: max(1, len(clip.mfcc) // STATS_ROWS)])
        if audio_aug.active:
            rows = audio_aug(rows, rng)
            stats = mfcc_stats(audio_aug(clip.mfcc[:: max(1, len(clip.mfcc) // STATS_ROWS)], rng))
        rows = gain_ramp(rows, rng, aug)
        crops = augment_crops(crops, rng, aug)
    segment = interp_rows(normalize_mfcc(rows, stats), pos - lo)
    return {
        "crops": torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32)),
        "lips": torch.from_numpy(np.ascontiguousarray(lips, dtype=np.float32)),
        "opening": torch.from_numpy(np.ascontiguousarray(opening, dtype=np.float32)),
        "audio": torch.from_numpy(np.ascontiguousarray(segment, dtype=np.float32)),
        "valid": torch.from_numpy(valid),
        "clip": torch.tensor(clip_index, dtype=torch.long),
    }
