"""Synthetic training caches: clips in ``avsync prepare``'s format whose mouth drives their audio.

Shipped with the package, beside ``avsync.testing.synthetic``, so that tests, benchmarks and users'
own code can build a cache without the corpus.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from avsync.models.spec import CROP_H, CROP_W, ModelConfig

def _smooth_noise(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    k = np.hanning(2 * width + 1)
    return np.convolve(rng.normal(size=n + 2 * width), k / k.sum(), mode="same")[width:width + n]


def synthetic_clip_arrays(rng: np.random.Generator, n_frames: int, n_lip_points: int = 40, fps: float = 25.0,
                          hop_s: float = 0.01) -> dict[str, np.ndarray]:
    """One clip whose mouth opening drives its MFCC at zero offset (the same as a real cache's arrays)."""
    rows_per_frame = 1.0 / (fps * hop_s)
    n_rows = int(np.ceil(n_frames * rows_per_frame)) + ModelConfig().audio_hops  # audio past the last frame
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


def write_synthetic_cache(root: str | Path, clips: list[tuple], seed: int = 0, n_lip_points: int = 40) -> Path:
    """Write a cache in ``avsync prepare``'s format; ``clips`` lists (split, category, n_frames) or
    (split, category, n_frames, source)."""
    root = Path(root)
    (root / "clips").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    with (root / "index.jsonl").open("w") as fh:
        for i, (split, category, n_frames, *source) in enumerate(clips):
            clip_id = f"synthetic_{i:03d}"
            arrays = synthetic_clip_arrays(rng, n_frames, n_lip_points)
            np.savez_compressed(root / "clips" / f"{clip_id}.npz", **arrays)
            fh.write(json.dumps({"id": clip_id, "file": f"{clip_id}.mp4", "split": split, "category": category,
                                 "source": source[0] if source else "", "status": "ok", "reason": "",
                                 "npz": f"clips/{clip_id}.npz", "n_frames": n_frames,
                                 "fps": 25.0}) + "\n")
        fh.write(json.dumps({"id": "broken", "file": "broken.mp4", "split": "train", "category": "real",
                             "status": "skipped", "reason": "no face", "npz": None, "n_frames": 0, "fps": 0}) + "\n")
    return root
