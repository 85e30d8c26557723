"""SyncNet-lite size and CPU inference throughput (windows per second), through the scorer.

    python scripts/bench_model.py [--checkpoint PATH] [--threads 2] [--seconds 20]

Prints the parameter count, the visual and audio embedding rates, and the rates as a
multiple of what real time at 25 fps needs (one visual window per frame and, with offsets
on the 40 ms grid, about one audio window per frame too). Reports rates, asserts nothing.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from avsync.models.checkpoint import save_checkpoint
from avsync.models.syncnet_lite import SyncNetLite
from avsync.scoring.learned import DEFAULT_WEIGHTS, SyncNetLiteScorer
from avsync.testing.train_fixtures import synthetic_clip_arrays
from avsync.train.dataset import Clip


def _rate(fn, n_items: int, repeats: int = 5) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n_items / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, default=None, help="default: shipped weights, else a fresh model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the synthetic clip")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    path = args.checkpoint or (DEFAULT_WEIGHTS if DEFAULT_WEIGHTS.exists() else None)
    tmp = None
    if path is None:
        tmp = tempfile.TemporaryDirectory()
        path = save_checkpoint(Path(tmp.name) / "fresh.safetensors", SyncNetLite().eval(), epoch=0)
    scorer = SyncNetLiteScorer(path)
    n_frames = int(args.seconds * 25)
    a = synthetic_clip_arrays(np.random.default_rng(0), n_frames)
    clip = Clip("bench", "real", a["crops"], a["lips"], a["opening"], a["times_s"], a["mfcc"], a["speech"], 0.0, 0.01, 25.0)
    track, audio = clip.track(), clip.audio()
    n_vis = n_frames - scorer.window_frames + 1
    hops = scorer.audio_window_hops
    offsets = np.arange(-15, 16)
    starts = np.unique(audio.index_at(track.times_s[:n_vis, None] + offsets[None] * 0.04))
    starts = starts[(starts >= 0) & (starts + hops <= len(audio))]
    every_row = np.arange(0, len(audio) - hops)

    vis_rate = _rate(lambda: scorer.embed_visual(track), n_vis)
    aud_rate = _rate(lambda: scorer.embed_audio(audio, starts), len(starts))
    row_rate = _rate(lambda: scorer.embed_audio(audio, every_row), len(every_row))
    dist_rate = _rate(lambda: scorer.distances(track, audio, offsets, 0.04), n_frames)
    print(f"checkpoint        {path if tmp is None else '(fresh, untrained)'}")
    print(f"parameters        {scorer.model.n_params():,} (visual {sum(p.numel() for p in scorer.model.visual.parameters()):,}, "
          f"audio {sum(p.numel() for p in scorer.model.audio.parameters()):,})")
    print(f"threads           {torch.get_num_threads()}")
    print(f"visual windows/s  {vis_rate:8.0f}  ({vis_rate / 25:.0f}x real time at 25 fps)")
    print(f"audio windows/s   {aud_rate:8.0f}  (offset grid: {len(starts)} windows for {n_frames} frames)")
    print(f"audio windows/s   {row_rate:8.0f}  (every 10 ms row, {len(every_row)} windows)")
    print(f"distances         {dist_rate:8.0f} frames/s ({dist_rate / 25:.0f}x real time: 31 offsets, both streams)")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
