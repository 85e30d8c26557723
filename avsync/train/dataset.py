"""Training windows read from the ``avsync prepare`` cache.

Cache: ``index.jsonl`` (one entry per clip: id, file, split, category, status "ok"/"skipped",
reason, npz, n_frames, fps) and one ``.npz`` per clip with ``crops`` (n,48,96) uint8,
``lips`` (n,L,2) float32 in crop coordinates, ``opening`` (n,), ``times_s`` (n,), ``mfcc``
(T,13) at 10 ms, ``speech`` (T,) bool, ``mfcc_t0_s``, ``hop_s``, ``fps``.

A training sample is one 5-frame visual window and a 140-row MFCC segment around it that holds
the 31 candidate audio windows at -15..15 frames (4 rows per frame), plus which candidates lie
inside the recording. Window time runs on a 40 ms grid (25 fps, the analysis rate); speed
perturbation stretches both time axes by the same factor.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from avsync.features.audio import AudioFeatures
from avsync.frontend.track import MouthTrack
from avsync.models.syncnet_lite import (AUDIO_HOPS, AUDIO_STRIDE, CROP_H, CROP_W, WINDOW_FRAMES, mfcc_stats,
                                        normalize_mfcc)
from avsync.train.augment import AudioAug, AugmentConfig, augment_crops, gain_ramp

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

    def window_speech(self, rows: np.ndarray) -> np.ndarray:
        """Fraction of speech rows in each 20-row window starting at ``rows`` (0 outside)."""
        lo = np.clip(rows, 0, len(self.speech))
        hi = np.clip(rows + AUDIO_HOPS, 0, len(self.speech))
        return (self.speech_cum[hi] - self.speech_cum[lo]) / AUDIO_HOPS

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
                    hop_s=float(z["hop_s"]), fps=float(z["fps"]))


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

    def __init__(self, clips: list[Clip], *, max_offset: int = 15, min_speech: float = 0.5, stride: int = 1,
                 augment: AugmentConfig | None = None, seed: int = 0):
        self.clips = clips
        self.max_offset = max_offset
        self.stride = max(1, stride)
        self.aug = augment
        self.seed = seed
        self.eligible = [self._eligible(c, min_speech) for c in clips]
        self.items = np.zeros((0, 2), np.int64)
        self.epoch = 0

    @staticmethod
    def _eligible(clip: Clip, min_speech: float) -> np.ndarray:
        n = len(clip) - WINDOW_FRAMES + 1
        if n <= 0:
            return np.zeros(0, np.int64)
        rows = clip.row_at(clip.times_s[:n])
        ok = (rows >= 0) & (rows + AUDIO_HOPS <= len(clip.mfcc)) & (clip.window_speech(rows) >= min_speech)
        return np.flatnonzero(ok)

    def n_windows(self) -> int:
        return int(sum(len(e) for e in self.eligible))

    def set_epoch(self, epoch: int, rank: int = 0, world: int = 1, batch: int = 1) -> int:
        """Choose, shuffle and shard this epoch's windows; returns the number of batches per process."""
        rng = np.random.default_rng([self.seed, epoch])
        items = []
        for ci, elig in enumerate(self.eligible):
            phase = int(rng.integers(self.stride))
            picked = elig[phase::self.stride]
            items.append(np.stack([np.full(len(picked), ci), picked], axis=1))
        items = np.concatenate(items) if items else np.zeros((0, 2), np.int64)
        items = items[rng.permutation(len(items))]
        n_batches = len(items) // (world * batch)  # every process runs the same number of full batches
        per_rank = n_batches * batch
        self.items = items[rank * per_rank:(rank + 1) * per_rank]
        self.epoch = epoch
        return n_batches

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, idx: int) -> dict[str, torch.Tensor]:
        ci, frame = (int(v) for v in self.items[idx])
        rng = np.random.default_rng([self.seed, self.epoch, ci, frame])
        return make_sample(self.clips[ci], frame, self.max_offset, self.aug, rng, clip_index=ci)


def _interp_rows(values: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``values`` (n, ...) at fractional row positions (clamped)."""
    pos = np.clip(pos, 0, len(values) - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, len(values) - 1)
    w = (pos - lo).reshape((-1,) + (1,) * (values.ndim - 1)).astype(np.float32)
    return values[lo] * (1 - w) + values[hi] * w


def make_sample(clip: Clip, frame: int, max_offset: int, aug: AugmentConfig | None, rng: np.random.Generator,
                clip_index: int = 0) -> dict[str, torch.Tensor]:
    speed = 1.0
    if aug is not None and rng.random() < aug.speed_p:
        speed = float(rng.uniform(1 - aug.speed_range, 1 + aug.speed_range))
    frame_dt = AUDIO_STRIDE * clip.hop_s  # 40 ms: the window grid
    t_anchor = clip.times_s[frame]
    vis_pos = np.interp(t_anchor + np.arange(WINDOW_FRAMES) * frame_dt * speed, clip.times_s, np.arange(len(clip)))
    crops = _interp_rows(clip.crops, vis_pos)
    lips = _interp_rows(clip.lips, vis_pos)
    opening = _interp_rows(clip.opening, vis_pos)

    n_rows = AUDIO_STRIDE * 2 * max_offset + AUDIO_HOPS
    anchor = int(clip.row_at(t_anchor))
    pos = anchor + (np.arange(n_rows) - AUDIO_STRIDE * max_offset) * speed
    starts = anchor + AUDIO_STRIDE * np.arange(-max_offset, max_offset + 1) * speed
    valid = (starts >= 0) & (starts + (AUDIO_HOPS - 1) * speed <= len(clip.mfcc) - 1)
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
    segment = _interp_rows(normalize_mfcc(rows, stats), pos - lo)
    return {
        "crops": torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32)),
        "lips": torch.from_numpy(np.ascontiguousarray(lips, dtype=np.float32)),
        "opening": torch.from_numpy(np.ascontiguousarray(opening, dtype=np.float32)),
        "audio": torch.from_numpy(np.ascontiguousarray(segment, dtype=np.float32)),
        "valid": torch.from_numpy(valid),
        "clip": torch.tensor(clip_index, dtype=torch.long),
    }


# --- synthetic caches for tests ------------------------------------------------------------------

def _smooth_noise(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    k = np.hanning(2 * width + 1)
    return np.convolve(rng.normal(size=n + 2 * width), k / k.sum(), mode="same")[width:width + n]


def synthetic_clip_arrays(rng: np.random.Generator, n_frames: int, n_lip_points: int = 40, fps: float = 25.0,
                          hop_s: float = 0.01) -> dict[str, np.ndarray]:
    """One clip whose mouth opening drives its MFCC at zero offset (the same as a real cache's arrays)."""
    rows_per_frame = 1.0 / (fps * hop_s)
    n_rows = int(np.ceil(n_frames * rows_per_frame)) + AUDIO_HOPS
    syll = np.clip(_smooth_noise(rng, n_rows, 6) * 6, 0, None)  # bursts of opening ~ syllables
    gate = _smooth_noise(rng, n_rows, 40) > -0.05  # pauses
    o = np.clip(syll * gate, 0, 1).astype(np.float32)
    do = np.gradient(o).astype(np.float32)
    timbre = rng.normal(size=(12, 3)).astype(np.float32)
    feats = np.stack([o, do * 10, np.sin(np.arange(n_rows) / 7.0) * o], axis=1)
    mfcc = np.empty((n_rows, 13), np.float32)
    mfcc[:, 0] = -8 + 10 * o + rng.normal(0, 0.3, n_rows)
    mfcc[:, 1:] = feats @ timbre.T * 5 + rng.normal(0, 0.5, (n_rows, 12))
    speech = o > 0.1
    times = np.arange(n_frames) / fps
    o_frames = o[np.round(times / hop_s).astype(int)]
    crops = np.empty((n_frames, CROP_H, CROP_W), np.uint8)
    base = rng.uniform(90, 170)
    texture = rng.normal(0, 6, (CROP_H, CROP_W))
    half = n_lip_points // 2
    ang = np.linspace(0, 2 * np.pi, half, endpoint=False)
    lips = np.empty((n_frames, n_lip_points, 2), np.float32)
    cx, cy, a = CROP_W / 2, CROP_H / 2, 26.0
    for i, oi in enumerate(o_frames):
        b = 2.0 + 14.0 * oi
        img = np.full((CROP_H, CROP_W), base, np.float32) + texture
        cv2.ellipse(img, (int(cx), int(cy)), (int(a + 5), int(b + 5)), 0, 0, 360, base * 0.6, -1)
        cv2.ellipse(img, (int(cx), int(cy)), (int(a), max(1, int(round(b)))), 0, 0, 360, 20, -1)
        crops[i] = np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
        outer = np.stack([cx + (a + 5) * np.cos(ang), cy + (b + 5) * np.sin(ang)], 1)
        inner = np.stack([cx + a * np.cos(ang), cy + b * np.sin(ang)], 1)
        lips[i] = np.concatenate([outer, inner]) / (CROP_W, CROP_H)
    opening = (2 * (2.0 + 14.0 * o_frames) / (2 * a)).astype(np.float32)
    return {"crops": crops, "lips": lips, "opening": opening, "times_s": times, "mfcc": mfcc, "speech": speech,
            "mfcc_t0_s": np.float64(0.0), "hop_s": np.float64(hop_s), "fps": np.float64(fps)}


def write_synthetic_cache(root: str | Path, clips: list[tuple[str, str, int]], seed: int = 0,
                          n_lip_points: int = 40) -> Path:
    """Write a cache in ``avsync prepare``'s format; ``clips`` lists (split, category, n_frames)."""
    root = Path(root)
    (root / "clips").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    with (root / "index.jsonl").open("w") as fh:
        for i, (split, category, n_frames) in enumerate(clips):
            clip_id = f"synthetic_{i:03d}"
            arrays = synthetic_clip_arrays(rng, n_frames, n_lip_points)
            np.savez_compressed(root / "clips" / f"{clip_id}.npz", **arrays)
            fh.write(json.dumps({"id": clip_id, "file": f"{clip_id}.mp4", "split": split, "category": category,
                                 "status": "ok", "reason": "", "npz": f"clips/{clip_id}.npz", "n_frames": n_frames,
                                 "fps": 25.0}) + "\n")
        fh.write(json.dumps({"id": "broken", "file": "broken.mp4", "split": "train", "category": "real",
                             "status": "skipped", "reason": "no face", "npz": None, "n_frames": 0, "fps": 0}) + "\n")
    return root
