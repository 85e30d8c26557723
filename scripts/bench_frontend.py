"""CPU seconds of the face front-end alone, in one process, with its MediaPipe runs counted; and
the same, alternating, for another checkout of avsync.

    python scripts/bench_frontend.py CLIP... [--repeat 3] [--against OLD_CHECKOUT] [--config-dir DIR] [--check JOBS]

With --check JOBS it times the whole ``avsync.check(CLIP, jobs=JOBS)`` instead, after one check
of CLIP to warm up: wall seconds, and CPU seconds of this process and its front-end workers
(kept between checks, so read from /proc).

Each run is a fresh subprocess that tracks every frame of CLIP with one decoder thread, so its CPU
seconds are those of this process only and change little with the machine's load (wall time on
a shared machine does). With --against, runs of OLD_CHECKOUT (``git worktree add /tmp/old REV``)
and of this checkout alternate, so drift in the machine's speed hits both alike. Prints the median
and the range of each, and their ratio. Reports measurements, never pass/fail.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def measure(clip: str, config_dir: str | None) -> dict:
    """One front-end pass over ``clip`` in this process (the avsync on sys.path)."""
    import dataclasses
    import time

    from avsync.config import Settings
    from avsync.frontend import tracker
    from avsync.frontend.segments import track_range
    from avsync.media.video import VideoReader

    calls = {"facemesh": 0, "detector": 0}
    landmarks, detect = tracker.FaceTracker._landmarks, tracker.FaceTracker.detect

    def counted_landmarks(self, track, frame):
        calls["facemesh"] += 1
        return landmarks(self, track, frame)

    def counted_detect(self, frame):
        calls["detector"] += 1
        return detect(self, frame)

    tracker.FaceTracker._landmarks, tracker.FaceTracker.detect = counted_landmarks, counted_detect
    cfg = dataclasses.replace(Settings.load(config_dir).frontend, decode_threads=1)
    n = len(VideoReader(clip))
    track_range(clip, 1, cfg, 0, min(n, 25))  # graphs and libraries loaded before the clock starts
    calls.update(facemesh=0, detector=0)
    start = time.process_time()
    tracks, _, _ = track_range(clip, 1, cfg, 0, n)
    return {"cpu_s": time.process_time() - start, "frames": n, "tracks": len(tracks), **calls}


def measure_check(clip: str, config_dir: str | None, jobs: int) -> dict:
    """One whole check of ``clip``, warm: imports, model and page cache loaded by a first one."""
    import time

    import avsync
    from avsync.config import Settings
    # counts the front-end worker, which stays running between checks; imported after avsync, since
    # bench puts this checkout first on sys.path
    from bench import cpu_s

    settings = Settings.load(config_dir)
    avsync.check(clip, jobs=jobs, settings=settings)
    start_cpu, start = cpu_s(), time.perf_counter()
    report = avsync.check(clip, jobs=jobs, settings=settings)
    return {"wall_s": time.perf_counter() - start, "cpu_s": cpu_s() - start_cpu, "verdict": report.verdict}


def run_child(checkout: Path, clip: str, config_dir: str | None, check_jobs: int | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", clip]
    if config_dir:
        cmd += ["--config-dir", config_dir]
    if check_jobs:
        cmd += ["--check", str(check_jobs)]
    out = subprocess.run(cmd, env=env, cwd=checkout, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="+")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--against", type=Path, help="another avsync checkout, run alternately with this one")
    ap.add_argument("--config-dir", help="YAML configs for both checkouts (default: each one's own)")
    ap.add_argument("--check", type=int, metavar="JOBS", help="time the whole check with this many front-end processes")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        result = (measure_check(args.clips[0], args.config_dir, args.check) if args.check
                  else measure(args.clips[0], args.config_dir))
        print(json.dumps(result))
        return
    checkouts = ([("against", args.against.resolve())] if args.against else []) + [("this", REPO)]
    for clip in args.clips:
        runs: dict[str, list[dict]] = {name: [] for name, _ in checkouts}
        for _ in range(args.repeat):
            for name, path in checkouts:
                runs[name].append(run_child(path, clip, args.config_dir, args.check))
        medians = {}
        for name, _ in checkouts:
            cpu = [r["cpu_s"] for r in runs[name]]
            medians[name] = statistics.median(cpu)
            last = runs[name][-1]
            if args.check:
                wall = [r["wall_s"] for r in runs[name]]
                print(f"{Path(clip).name} [{name}]: check --jobs {args.check} {statistics.median(wall):.2f} s wall "
                      f"({min(wall):.2f}-{max(wall):.2f}), {medians[name]:.2f} CPU s ({min(cpu):.2f}-{max(cpu):.2f}), "
                      f"medians of {len(cpu)} runs; verdict {last['verdict']}")
            else:
                print(f"{Path(clip).name} [{name}]: front-end {medians[name]:.2f} CPU s median "
                      f"({min(cpu):.2f}-{max(cpu):.2f}, {len(cpu)} runs), {last['frames']} frames, "
                      f"FaceMesh {last['facemesh']}, detector {last['detector']}, {last['tracks']} track(s)")
        if args.against:
            print(f"{Path(clip).name}: this / against = {medians['this'] / medians['against']:.3f} (CPU s)")


if __name__ == "__main__":
    main()
