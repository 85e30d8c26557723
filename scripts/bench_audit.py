#!/usr/bin/env python
"""Throughput of `avsync audit`: 1 worker against 2 workers on the same clips.

Prints the wall time of each run, the speed-up ratio and videos per hour. Without --clips it
first writes N clips of 30 s at 640x360 (360p) into a temporary folder: real corpus clips
(../shared/corpus, looped and letterboxed) when the corpus is there, else the synthetic talking
face from avsync.testing. Nothing derived from the corpus is kept unless --keep is given.

    python scripts/bench_audit.py                       # 6 clips of 30 s, workers 1 and 2
    python scripts/bench_audit.py --clips DIR --workers 1,2,4
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_clip import write_av  # noqa: E402
CORPUS = REPO.parent / "shared" / "corpus"
if not CORPUS.exists():  # a git worktree sits one level deeper than the main checkout
    CORPUS = Path("/work/shared/corpus")
WIDTH, HEIGHT, FPS, SR = 640, 360, 25, 16000


def corpus_sources(limit: int) -> list[Path]:
    manifest = CORPUS / "manifest.csv"
    if not manifest.exists():
        return []
    with open(manifest, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["category"] == "real" and r.get("speakers_visible") == "1"]
    return [CORPUS / r["file"] for r in rows[:limit] if (CORPUS / r["file"]).exists()]


def synthetic_source(folder: Path) -> Path:
    sys.path.insert(0, str(REPO))
    from avsync.testing import make_talking_clip

    return make_talking_clip(folder / "synthetic_face.mp4", seconds=8.0, seed=3)


def read_source(path: Path) -> tuple[list[np.ndarray], np.ndarray, float]:
    """Frames letterboxed to 640x360, audio at 16 kHz mono, and the source frame rate."""
    import av
    import cv2

    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or FPS)
        for frame in container.decode(video=0):
            img = frame.to_ndarray(format="rgb24")
            scale = min(WIDTH / img.shape[1], HEIGHT / img.shape[0])
            w, h = int(img.shape[1] * scale) // 2 * 2, int(img.shape[0] * scale) // 2 * 2
            canvas = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
            x0, y0 = (WIDTH - w) // 2, (HEIGHT - h) // 2
            canvas[y0:y0 + h, x0:x0 + w] = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
            frames.append(canvas)
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SR)
        chunks = [r.to_ndarray().reshape(-1) for f in container.decode(audio=0) for r in resampler.resample(f)]
    return frames, np.concatenate(chunks).astype(np.float32), fps


def write_looped(path: Path, frames: list[np.ndarray], audio: np.ndarray, fps: float, seconds: float, start: int):
    """Loop video and audio with the same period, so the clip stays in sync across the seams."""
    n_out = int(round(seconds * fps))
    period = len(frames) / fps
    per_loop = int(round(period * SR))
    audio = np.resize(np.pad(audio[:per_loop], (0, max(0, per_loop - len(audio)))), per_loop)
    shift = int(round(start / fps * SR))
    track = np.resize(np.roll(audio, -shift), int(round(seconds * SR)))
    write_av(path, (frames[(start + i) % len(frames)] for i in range(n_out)), fps, track)


def build_clips(folder: Path, count: int, seconds: float) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    sources = corpus_sources(count)
    origin = f"{len(sources)} corpus clips" if sources else "the synthetic talking face"
    sources = sources or [synthetic_source(folder.parent)]
    decoded = [read_source(p) for p in sources]
    for i in range(count):
        frames, audio, fps = decoded[i % len(decoded)]
        write_looped(folder / f"clip_{i:03d}.mp4", frames, audio, fps, seconds, start=(i * 37) % len(frames))
    return origin


def run_audit(clips: Path, out: Path, workers: int, time_limit: float) -> dict:
    cmd = [sys.executable, "-m", "avsync", "audit", str(clips), "--out", str(out), "--no-progress",
           "--workers", str(workers), "--fail-on", "none", "--time-limit", str(time_limit)]
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"audit with {workers} worker(s) failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    verdicts: dict[str, int] = {}
    for r in records:
        verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
    media_s = sum(float(r.get("duration_s") or 0) for r in records)
    per_video = [float((r.get("audit") or {}).get("elapsed_s") or 0) for r in records]
    return {"workers": workers, "videos": len(records), "wall_s": wall, "videos_per_hour": 3600 * len(records) / wall,
            "media_hours_per_hour": media_s / 3600 / (wall / 3600), "mean_video_s": float(np.mean(per_video)),
            "verdicts": verdicts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=Path, help="folder of clips to audit (default: build 30 s 360p clips)")
    ap.add_argument("-n", "--count", type=int, default=6, help="clips to build when --clips is not given")
    ap.add_argument("--seconds", type=float, default=30.0, help="length of built clips")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts; the first is the baseline")
    ap.add_argument("--time-limit", type=float, default=900.0)
    ap.add_argument("--keep", type=Path, help="keep the built clips and results in this folder")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    args = ap.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="avsync_bench_audit_"))
    try:
        clips = args.clips
        if clips is None:
            clips = work / "clips"
            started = time.perf_counter()
            origin = build_clips(clips, args.count, args.seconds)
            print(f"built {args.count} clips of {args.seconds:g} s at {WIDTH}x{HEIGHT} from {origin} "
                  f"in {time.perf_counter() - started:.0f} s", flush=True)
        runs = []
        for w in (int(x) for x in args.workers.split(",")):
            run = run_audit(clips, work / f"out_w{w}", w, args.time_limit)
            runs.append(run)
            print(f"workers={w}: {run['videos']} videos in {run['wall_s']:.1f} s -> "
                  f"{run['videos_per_hour']:.0f} videos/hour, {run['media_hours_per_hour']:.2f} h of media per hour, "
                  f"{run['mean_video_s']:.1f} s per video in a worker; "
                  f"verdicts {run['verdicts']}", flush=True)
        base = runs[0]
        for run in runs[1:]:
            run["speedup_vs_first"] = base["wall_s"] / run["wall_s"]
            print(f"speed-up {run['workers']} vs {base['workers']} workers: {run['speedup_vs_first']:.2f}x")
        if args.json:
            args.json.write_text(json.dumps({"clips": str(clips), "runs": runs}, indent=2) + "\n")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
