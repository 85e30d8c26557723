"""Speed of ``avsync check`` against the decode floor, by stage, and peak memory against length.

    python scripts/bench.py [--src CLIP] [--repeat 3] [--jobs 2] [--long-minutes 10] [--no-memory]

Clips (written once into --workdir from a real talking face, letterboxed to 16:9 and looped):
60 s 640x360, 60 s 1280x720 and 3 s 640x360. For each long clip: real-time factor (video seconds
per wall second, best of --repeat in one warm process), the stage seconds, and the ratio of
check's wall time to ``ffmpeg -threads 2 -i FILE -f null -`` on the same file, timed in this
command. The 3 s clip is timed end to end from a new process (``python -m avsync check``),
imports, model load and all. Then the peak resident memory of a check on a 1-minute and a long
720p clip (a subprocess each, --repeat times alternating; medians and every run printed, since one
peak varies by over 100 MB). The machine may be shared: every timing is the best of its runs, and
CPU seconds (this process and its children) are printed beside wall seconds, since they hardly
change with the load. The 3 s warm-up check runs in one process, so the first 60 s 360p check
starts the front-end worker, which the later checks reuse: a check from a new process
(`avsync check`) pays that start, as the first of those runs did.
Reports measurements, never pass/fail.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_clip import make_clip  # noqa: E402

DEFAULT_SRC = REPO.parent / "shared/corpus/real/OpenTalker__SadTalker__examples__ref_video__WDA_KatieHill_000.mp4"
if not DEFAULT_SRC.exists():
    DEFAULT_SRC = Path("/work/shared/corpus/real/OpenTalker__SadTalker__examples__ref_video__WDA_KatieHill_000.mp4")
CLIPS = [("360p_60s", 640, 360, 60.0), ("720p_60s", 1280, 720, 60.0)]
SHORT = ("360p_3s", 640, 360, 3.0)
STAGES = ("open", "features", "decode", "face", "scoring")


def clip_path(work: Path, src: str, name: str, width: int, height: int, seconds: float) -> Path:
    path = work / f"bench_{name}.mp4"
    if not path.exists():
        make_clip(src, str(path), height, seconds, width)
    return path


def cpu_s() -> float:
    """CPU seconds of this process and its children: the finished ones (ffmpeg) and the running
    ones (the front-end workers, which a process keeps between checks)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime + running_children_cpu_s()


def running_children_cpu_s() -> float:
    total, me = 0, str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if fields[1] == me:  # ppid; utime and stime follow at 11 and 12, in clock ticks
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def ffmpeg_decode():
    def run(path: Path) -> tuple[float, float]:
        tick, cpu = time.perf_counter(), cpu_s()
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-threads", "2", "-i", str(path), "-f", "null", "-"],
                       check=True)
        return time.perf_counter() - tick, cpu_s() - cpu
    return run


def timed_check(path: Path, jobs: int, model: str) -> dict:
    import avsync

    tick, cpu = time.perf_counter(), cpu_s()
    report = avsync.check(path, jobs=jobs, scorer=model)
    wall, cpu = time.perf_counter() - tick, cpu_s() - cpu
    if report.error:
        raise SystemExit(f"check failed on {path}: {report.error}")
    return {"wall_s": wall, "cpu_s": cpu, "rtf": report.duration_s / wall, "duration_s": report.duration_s,
            "verdict": report.verdict, "timings_s": report.timings_s}


def cold_check_s(path: Path, jobs: int, model: str) -> float:
    tick = time.perf_counter()
    subprocess.run([sys.executable, "-m", "avsync", "check", str(path), "--json", "--jobs", str(jobs), "--model", model],
                   cwd=REPO, check=False, stdout=subprocess.DEVNULL)
    return time.perf_counter() - tick


def peak_rss_mb(path: Path, jobs: int, model: str) -> float:
    """Peak RSS of a fresh process running one check (its front-end workers included)."""
    code = ("import avsync,sys,resource; avsync.check(sys.argv[1], jobs=int(sys.argv[2]), scorer=sys.argv[3]);"
            "self=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
            "kids=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; print(self, kids)")
    out = subprocess.run([sys.executable, "-c", code, str(path), str(jobs), model], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout.split()
    return max(int(out[0]), int(out[1])) / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", default=str(DEFAULT_SRC), help="a talking-face clip with audio")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing; the best is reported")
    parser.add_argument("--long-minutes", type=float, default=10.0)
    parser.add_argument("--no-memory", action="store_true", help="skip the 1-minute / long 720p memory runs")
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--model", default="default")
    parser.add_argument("--workdir", default=None, help="keep the generated clips here")
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        raise SystemExit("bench.py needs the ffmpeg command for the decode floor")

    work = Path(args.workdir or tempfile.mkdtemp(prefix="avsync-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = {"jobs": args.jobs, "model": args.model, "cpu_count": os.cpu_count(), "repeat": args.repeat, "clips": {}}
    short = clip_path(work, args.src, *SHORT)
    timed_check(short, args.jobs, args.model)  # warm-up: imports, model load, page cache
    print(f"best of {args.repeat} runs each; jobs={args.jobs}, {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    for name, width, height, seconds in CLIPS:
        clip = clip_path(work, args.src, name, width, height, seconds)
        runs = [timed_check(clip, args.jobs, args.model) for _ in range(args.repeat)]
        res = min(runs, key=lambda r: r["wall_s"])
        floors = [ffmpeg_decode()(clip) for _ in range(args.repeat)]
        floor, floor_cpu = min(f[0] for f in floors), min(f[1] for f in floors)
        cpu = min(r["cpu_s"] for r in runs)
        res.update(ffmpeg_s=floor, ffmpeg_cpu_s=floor_cpu, ratio_to_decode=res["wall_s"] / floor,
                   cpu_ratio_to_decode=cpu / floor_cpu, best_cpu_s=cpu, all_wall_s=[r["wall_s"] for r in runs])
        results["clips"][name] = res
        t = res["timings_s"]
        first = ("; the first run started the front-end worker that later checks in this process reuse, "
                 f"{seconds / runs[0]['wall_s']:.1f}x" if name == CLIPS[0][0] and args.jobs > 1 else "")
        print(f"{width}x{height} {seconds:.0f}s: {res['rtf']:.1f}x real time ({res['wall_s']:.2f} s wall; "
              f"runs {', '.join(f'{w:.2f}' for w in res['all_wall_s'])}{first}); ffmpeg decode {floor:.2f} s, "
              f"ratio {res['ratio_to_decode']:.1f}", flush=True)
        print(f"   CPU seconds: check {cpu:.2f} ({seconds / (cpu / os.cpu_count()):.1f}x real time if all "
              f"{os.cpu_count()} cores were free), ffmpeg {floor_cpu:.2f}, ratio {res['cpu_ratio_to_decode']:.1f}",
              flush=True)
        print("   stage seconds: " + ", ".join(f"{k} {t.get(k, 0.0):.2f}" for k in STAGES)
              + "   (features run on a thread beside the front-end; decode is summed over front-end processes; face is front-end wall time minus decode)", flush=True)

    cold = []
    for _ in range(args.repeat):
        cpu = cpu_s()
        cold.append((cold_check_s(short, args.jobs, args.model), cpu_s() - cpu))
    results["clips"][SHORT[0]] = {"cold_wall_s": min(c[0] for c in cold), "cold_cpu_s": min(c[1] for c in cold),
                                  "runs": cold}
    print(f"640x360 3s, new process `python -m avsync check`: {min(c[0] for c in cold):.2f} s wall, "
          f"{min(c[1] for c in cold):.2f} CPU s (runs {', '.join(f'{w:.2f}' for w, _ in cold)} s wall)", flush=True)

    if not args.no_memory:
        # one peak varies by over 100 MB from run to run: --repeat runs of each, alternating, and the medians
        clips = {f"{m:g}min": clip_path(work, args.src, f"720p_{m:g}min", 1280, 720, m * 60)
                 for m in (1.0, args.long_minutes)}
        runs = {name: [] for name in clips}
        for _ in range(args.repeat):
            for name, clip in clips.items():
                runs[name].append(peak_rss_mb(clip, args.jobs, args.model))
        memory = {name: float(statistics.median(mb)) for name, mb in runs.items()}
        for name, mb in runs.items():
            print(f"720p {name}: peak RSS median {memory[name]:.0f} MB (runs {', '.join(f'{v:.0f}' for v in mb)})",
                  flush=True)
        results["peak_rss_mb_720p"] = memory
        results["peak_rss_mb_720p_runs"] = runs
        values = list(memory.values())
        print(f"peak memory ratio long/1-min (medians): {values[-1] / values[0]:.2f}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
