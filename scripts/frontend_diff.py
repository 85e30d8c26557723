"""Does a change to the front-end change what `avsync prepare` would cache? Compares the mouth
tracks (frames, lip landmarks, grayscale crops) that this checkout and another one produce.

    git worktree add /tmp/old REV
    python scripts/frontend_diff.py ../shared/corpus/manifest.csv --against /tmp/old [--per-source 1]

Takes the first ``--per-source`` real clips by name of every source in the manifest, analyses each
with both checkouts (each in its own subprocess, that checkout's code and packaged configs), and
prints how many arrays are identical and, for the others, how far apart they are. A front-end
change whose output is identical needs no new training run.
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def pick_clips(manifest: Path, per_source: int) -> list[str]:
    rows = sorted(csv.DictReader(manifest.open()), key=lambda r: r["file"])
    by_source: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["category"] == "real" and len(by_source[r["repo"]]) < per_source:
            by_source[r["repo"]].append(str(manifest.parent / r["file"]))
    return [f for files in by_source.values() for f in files]


def dump(clips: list[str], out: str) -> None:
    """Analyse ``clips`` with the avsync on sys.path; one set of arrays per track."""
    from avsync.config import Settings
    from avsync.pipeline import analyse, resolve_scorer

    settings, scorer, arrays = Settings.load(), resolve_scorer("default"), {}
    for i, clip in enumerate(clips):
        analysis = analyse(clip, settings=settings, jobs=1, scorer=scorer)
        arrays[f"{i}/tracks"] = np.array([t.track_id for t in analysis.tracks])
        for t in analysis.tracks:
            for name in ("frames", "lips", "crops"):
                arrays[f"{i}/{t.track_id}/{name}"] = getattr(t, name)
    np.savez_compressed(out, **arrays)


def run(checkout: Path, clips: list[str], out: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    subprocess.run([sys.executable, __file__, "--dump", out, *clips], env=env, cwd=checkout, check=True)


def compare(old: str, new: str) -> None:
    a, b = np.load(old), np.load(new)
    same, notes = 0, []
    for key in sorted(set(a.files) | set(b.files)):
        if key not in a.files or key not in b.files:
            notes.append(f"{key}: only in {'new' if key in b.files else 'old'}")
        elif a[key].shape != b[key].shape:
            notes.append(f"{key}: shape {a[key].shape} -> {b[key].shape}")
        elif np.array_equal(a[key], b[key], equal_nan=a[key].dtype.kind == "f"):
            same += 1
        else:
            d = np.abs(a[key].astype(float) - b[key].astype(float))
            notes.append(f"{key}: max difference {np.nanmax(d):.3g}, {np.mean(d > 0):.2%} of values differ")
    print(f"{same} arrays identical, {len(notes)} not")
    for note in notes:
        print("  " + note)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--dump":
        dump(sys.argv[3:], sys.argv[2])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest", type=Path)
    ap.add_argument("--against", type=Path, required=True, help="the other checkout (git worktree)")
    ap.add_argument("--per-source", type=int, default=1)
    args = ap.parse_args()
    clips = pick_clips(args.manifest.resolve(), args.per_source)
    print(f"{len(clips)} real clips, {args.per_source} per source")
    with tempfile.TemporaryDirectory() as tmp:
        run(args.against.resolve(), clips, f"{tmp}/old.npz")
        run(REPO, clips, f"{tmp}/new.npz")
        compare(f"{tmp}/old.npz", f"{tmp}/new.npz")


if __name__ == "__main__":
    main()
