#!/usr/bin/env python
"""`check` on copies of real clips that a player shows as the original, but whose pixels are stored
otherwise: turned, as a phone stores a portrait video (a display matrix turns them back), or not
square, as SD broadcast stores 16:9 (the sample aspect ratio stretches them back).

For the first --per-source clips of each source (manifest order), five copies are written into
--workdir with ffmpeg (audio copied): pixels turned 90 degrees clockwise, 180 degrees and 90
degrees counter-clockwise, each remuxed with PyAV so that its display matrix undoes the turn; the
width squeezed to 45/64 with a 64:45 sample aspect ratio (PAL 16:9); the height squeezed to 3/4
with a 3:4 one. Then `check` (the library call, shipped calibration) runs on the original and on
each copy. Prints one row per clip, and per copy: how many get the original's verdict, how many
find no face, and the median |difference| from the original's offset (ms) and confidence.

    python scripts/eval_display.py --workdir DIR [--manifest ../shared/corpus/manifest.csv] [--per-source 2]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

DEFAULT_MANIFEST = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "manifest.csv"
# (name, ffmpeg filter for the stored pixels, counter-clockwise display rotation that undoes it)
COPIES = [("90 cw", "transpose=1", 90), ("180", "hflip,vflip", 180), ("90 ccw", "transpose=2", -90),
          ("sar 64:45", "scale=trunc(iw*45/64/2)*2:trunc(ih/2)*2,setsar=64/45", 0),
          ("sar 3:4", "scale=trunc(iw/2)*2:trunc(ih*3/8)*2,setsar=3/4", 0)]


def stored_copy(src: str, out: Path, pixels_filter: str, display_degrees: int) -> None:
    """``src`` with its pixels stored through ``pixels_filter``, and a display matrix of
    ``display_degrees`` where that is not 0."""
    import av

    stored = out.with_name(out.stem + ".stored.mp4") if display_degrees else out
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", src, "-vf", pixels_filter, "-c:v", "libx264",
                    "-crf", "18", "-preset", "fast", "-c:a", "copy", str(stored)], check=True)
    if not display_degrees:
        return
    with av.open(str(stored)) as inp, av.open(str(out), "w") as dst:
        copies = {}
        for stream in inp.streams:
            if stream.type in ("video", "audio"):
                copies[stream.index] = dst.add_stream_from_template(stream)
        video = copies[inp.streams.video[0].index]
        video.set_display_rotation(display_degrees)
        for packet in inp.demux(*[inp.streams[i] for i in copies]):
            if packet.dts is None:
                continue
            packet.stream = copies[packet.stream.index]
            dst.mux(packet)
    stored.unlink()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", default=str(DEFAULT_MANIFEST))
    parser.add_argument("--split", default="dev")
    parser.add_argument("--category", default="real")
    parser.add_argument("--per-source", type=int, default=2, help="clips per source repository")
    parser.add_argument("--workdir", required=True, help="folder for the copies (kept and reused)")
    parser.add_argument("--model", default="default")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from avsync.config import Settings
    from avsync.pipeline import check, resolve_scorer
    from avsync.sources import read_sources

    if not Path(args.manifest).exists():
        print(f"eval_display: error: no manifest at {args.manifest}", file=sys.stderr)
        return 3
    by_source = defaultdict(list)
    for entry in read_sources([args.manifest], split=[args.split], category=[args.category]):
        if len(by_source[entry.source]) < args.per_source:
            by_source[entry.source].append(entry)
    entries = [e for group in by_source.values() for e in group]
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    settings, scorer = Settings.load(), resolve_scorer(args.model)

    rows = []
    for entry in tqdm(entries, unit="clip", desc="clips"):
        reports = [check(entry.video, settings=settings, scorer=scorer)]
        for name, pixels_filter, degrees in COPIES:
            copy = workdir / f"{entry.slug}.{name.replace(' ', '').replace(':', '-')}.mp4"
            if not copy.exists():
                stored_copy(entry.video, copy, pixels_filter, degrees)
            reports.append(check(copy, settings=settings, scorer=scorer))
        rows.append((entry, reports))

    def cell(r) -> str:
        return f"{r.verdict} {r.av_offset_ms:+.0f}" if r.av_offset_ms is not None else r.verdict

    print(f"{'clip':<52}{'original':>22}" + "".join(f"{name:>22}" for name, _, _ in COPIES))
    for entry, reports in rows:
        print(f"{entry.slug[:50]:<52}" + "".join(f"{cell(r):>22}" for r in reports))
    print(f"\n{len(rows)} clips of {len(by_source)} sources ({args.split}, {args.category})")
    for k, (name, _, _) in enumerate(COPIES, start=1):
        same = sum(r[k].verdict == r[0].verdict for _, r in rows)
        no_face = sum(r[k].verdict == "no_face" for _, r in rows)
        diffs = [abs(r[k].av_offset_ms - r[0].av_offset_ms) for _, r in rows
                 if r[k].av_offset_ms is not None and r[0].av_offset_ms is not None]
        median = f"{np.median(diffs):.1f} ms" if diffs else "none"
        confidence = np.median([abs(r[k].confidence - r[0].confidence) for _, r in rows
                                if r[k].confidence is not None and r[0].confidence is not None] or [np.nan])
        print(f"{name:<10}: original's verdict {same} of {len(rows)}, no_face {no_face}, "
              f"median |offset - original's| {median} ({len(diffs)} with both offsets), "
              f"|confidence - original's| {confidence:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
