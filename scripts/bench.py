"""Real-time factor of ``avsync check`` at 360p and 720p, by stage, and peak memory against length.

    python scripts/bench.py [--src CLIP] [--seconds 30] [--long-minutes 10] [--jobs 2]

Prints video seconds per wall-clock second (RTF) for each clip, the time share of each stage,
and the peak resident memory of a check on a 1-minute and a long 720p clip (a subprocess each,
so the numbers are that check's own). Reports ratios and measurements, never pass/fail.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_clip import make_clip  # noqa: E402

DEFAULT_SRC = Path(__file__).resolve().parents[2] / "shared/corpus/real/OpenTalker__SadTalker__examples__ref_video__WDA_KatieHill_000.mp4"


def timed_check(path: Path, jobs: int, model: str) -> dict:
    import avsync

    tick = time.perf_counter()
    report = avsync.check(path, jobs=jobs, scorer=model)
    wall = time.perf_counter() - tick
    return {"wall_s": wall, "rtf": report.duration_s / wall, "duration_s": report.duration_s,
            "verdict": report.verdict, "timings_s": report.timings_s}


def peak_rss_mb(path: Path, jobs: int, model: str) -> float:
    """Peak RSS of a fresh process running one check (its front-end workers included)."""
    code = ("import avsync,sys,resource; avsync.check(sys.argv[1], jobs=int(sys.argv[2]), scorer=sys.argv[3]);"
            "self=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
            "kids=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; print(self, kids)")
    out = subprocess.run([sys.executable, "-c", code, str(path), str(jobs), model], capture_output=True, text=True,
                         check=True).stdout.split()
    return max(int(out[0]), int(out[1])) / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", default=str(DEFAULT_SRC), help="a talking-face clip with audio")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--long-minutes", type=float, default=10.0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--model", default="default")
    parser.add_argument("--workdir", default=None, help="keep the generated clips here")
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="avsync-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = {"jobs": args.jobs, "model": args.model, "cpu_count": os.cpu_count(), "clips": {}}
    for height in (360, 720):
        clip = work / f"bench_{height}p_{int(args.seconds)}s.mp4"
        if not clip.exists():
            make_clip(args.src, str(clip), height, args.seconds)
        timed_check(clip, args.jobs, args.model)  # warm-up: imports, model load, page cache
        res = timed_check(clip, args.jobs, args.model)
        results["clips"][f"{height}p"] = res
        t = res["timings_s"]
        stages = {k: t.get(k, 0.0) for k in ("decode", "face", "features", "scoring")}
        print(f"{height}p {args.seconds:.0f}s: {res['rtf']:.1f}x real time ({res['wall_s']:.2f} s wall, jobs={args.jobs})")
        print("   stage seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
              + "   (decode is summed over front-end processes; face is front-end wall time minus decode)")

    memory = {}
    for minutes in (1.0, args.long_minutes):
        clip = work / f"bench_720p_{minutes:g}min.mp4"
        if not clip.exists():
            make_clip(args.src, str(clip), 720, minutes * 60)
        memory[f"{minutes:g}min"] = peak_rss_mb(clip, args.jobs, args.model)
        print(f"720p {minutes:g} min: peak RSS {memory[f'{minutes:g}min']:.0f} MB")
    results["peak_rss_mb_720p"] = memory
    values = list(memory.values())
    print(f"peak memory ratio long/1-min: {values[-1] / values[0]:.2f}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
