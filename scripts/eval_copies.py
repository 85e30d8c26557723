#!/usr/bin/env python
"""`check` on copies of real clips that a player presents as the original, stored otherwise: the
files users bring. Every copy should read as its original.

Sets of copies (--set, repeatable; default: all):
- display: pixels turned 90 degrees clockwise, 180 and 90 counter-clockwise, each remuxed with PyAV
  so that its display matrix turns it back (a phone's portrait video); the width squeezed to 45/64
  with a 64:45 sample aspect ratio (PAL 16:9); the height squeezed to 3/4 with a 3:4 one;
- rate: the video converted to 24, 29.97, 30, 50 and 60 fps (frames dropped or repeated);
- codec: VP9 with Opus in WebM, MPEG-2 with MP2 in MPEG-TS (which starts its clock at 1.4 s),
  ProRes with PCM in MOV, HEVC with AAC in Matroska;
- audio: the stereo channels in opposite phase (right = -left), 8 kHz mu-law, speech on the centre
  channel of 5.1 AC-3, 30 dB quieter, 96 kHz FLAC (the video copied);
- quality: as small, blocky files are passed around: half and quarter the width and height (CRF 28,
  AAC at 64 kb/s), the full picture at CRF 40, and the audio alone at 24 kb/s mono AAC;
- scan: the video interpolated to 50p by blending neighbours (ffmpeg's motion-compensated mode
  takes minutes a clip), then every other frame kept (25p, the control) or its fields woven into
  25i, top field first in H.264 and bottom field first in MPEG-2 TS, as broadcast cameras record.

For the first --per-source clips of each source (manifest order), the copies are written into
--workdir with ffmpeg (kept and reused), then `check` (the library call, shipped calibration)
runs on the original and on each copy. Prints one row per clip, and per copy: how many get the
original's verdict, how many find no face or no speech, and the median |difference| from the
original's offset (ms) and confidence.

    python scripts/eval_copies.py --workdir DIR [--set display] [--manifest ../shared/corpus/manifest.csv] [--per-source 2]
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
H264 = ["-c:v", "libx264", "-crf", "18", "-preset", "fast"]
COPY_VIDEO = ["-c:v", "copy"]
TO_50P = "crop=trunc(iw/2)*2:trunc(ih/4)*4:0:0,minterpolate=fps=50:mi_mode=blend"  # each field of 4:2:0 even
INTERLACED = ["-flags", "+ilme+ildct"]
# set -> [(name, ffmpeg output options, counter-clockwise display rotation that undoes the pixels' turn, suffix)]
COPIES = {
    "display": [
        ("90 cw", ["-vf", "transpose=1", *H264, "-c:a", "copy"], 90, "mp4"),
        ("180", ["-vf", "hflip,vflip", *H264, "-c:a", "copy"], 180, "mp4"),
        ("90 ccw", ["-vf", "transpose=2", *H264, "-c:a", "copy"], -90, "mp4"),
        ("sar 64:45", ["-vf", "scale=trunc(iw*45/64/2)*2:trunc(ih/2)*2,setsar=64/45", *H264, "-c:a", "copy"], 0, "mp4"),
        ("sar 3:4", ["-vf", "scale=trunc(iw/2)*2:trunc(ih*3/8)*2,setsar=3/4", *H264, "-c:a", "copy"], 0, "mp4"),
    ],
    "rate": [(f"{name} fps", ["-vf", f"fps={rate}", *H264, "-c:a", "copy"], 0, "mp4")
             for name, rate in [("24", "24"), ("29.97", "30000/1001"), ("30", "30"), ("50", "50"), ("60", "60")]],
    "codec": [
        ("vp9 webm", ["-c:v", "libvpx-vp9", "-b:v", "1M", "-deadline", "realtime", "-cpu-used", "8",
                      "-c:a", "libopus"], 0, "webm"),
        ("mpeg-2 ts", ["-c:v", "mpeg2video", "-q:v", "3", "-c:a", "mp2", "-f", "mpegts"], 0, "ts"),
        ("prores mov", ["-c:v", "prores_ks", "-profile:v", "0", "-c:a", "pcm_s16le"], 0, "mov"),
        ("hevc mkv", ["-c:v", "libx265", "-crf", "24", "-preset", "ultrafast", "-x265-params", "log-level=error",
                      "-c:a", "aac"], 0, "mkv"),
    ],
    "audio": [
        ("opposite phase", [*COPY_VIDEO, "-af", "pan=stereo|c0=c0|c1=-1*c0", "-c:a", "pcm_s16le"], 0, "mov"),
        ("8 kHz mu-law", [*COPY_VIDEO, "-ar", "8000", "-ac", "1", "-c:a", "pcm_mulaw"], 0, "mov"),
        ("5.1 centre", [*COPY_VIDEO, "-af", "pan=5.1|FC=c0", "-c:a", "ac3"], 0, "mkv"),
        ("-30 dB", [*COPY_VIDEO, "-af", "volume=-30dB", "-c:a", "aac"], 0, "mp4"),
        ("96 kHz flac", [*COPY_VIDEO, "-ar", "96000", "-c:a", "flac"], 0, "mkv"),
    ],
    "quality": [
        ("half size", ["-vf", "scale=trunc(iw/4)*2:trunc(ih/4)*2", "-c:v", "libx264", "-crf", "28", "-preset", "fast",
                       "-c:a", "aac", "-b:a", "64k"], 0, "mp4"),
        ("quarter size", ["-vf", "scale=trunc(iw/8)*2:trunc(ih/8)*2", "-c:v", "libx264", "-crf", "28", "-preset",
                          "fast", "-c:a", "aac", "-b:a", "64k"], 0, "mp4"),
        ("crf 40", ["-c:v", "libx264", "-crf", "40", "-preset", "fast", "-c:a", "copy"], 0, "mp4"),
        ("aac 24k", [*COPY_VIDEO, "-ac", "1", "-c:a", "aac", "-b:a", "24k"], 0, "mp4"),
    ],
    # 50 fields/s from 50p interpolated by blending; the progressive copy of the same 50p is the control
    "scan": [
        ("25p of 50p", ["-vf", f"{TO_50P},fps=25", *H264, "-c:a", "copy"], 0, "mp4"),
        ("25i tff", ["-vf", f"{TO_50P},tinterlace=mode=interleave_top,setfield=tff", *H264, *INTERLACED,
                     "-x264opts", "tff=1", "-c:a", "copy"], 0, "mp4"),
        ("25i bff mpeg-2", ["-vf", f"{TO_50P},tinterlace=mode=interleave_bottom,setfield=bff", "-c:v", "mpeg2video",
                            "-q:v", "3", *INTERLACED, "-top", "0", "-c:a", "mp2", "-f", "mpegts"], 0, "ts"),
    ],
}


def write_copy(src: str, out: Path, options: list[str], display_degrees: int) -> None:
    """``src`` through ffmpeg with ``options``, and a display matrix of ``display_degrees`` where
    that is not 0."""
    import av

    stored = out.with_name(out.stem + ".stored" + out.suffix) if display_degrees else out
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", src, *options, str(stored)], check=True, timeout=600)
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
    parser.add_argument("--set", dest="sets", action="append", choices=list(COPIES),
                        help="a set of copies (repeatable; default: every set)")
    parser.add_argument("--workdir", required=True, help="folder for the copies (kept and reused)")
    parser.add_argument("--model", default="default")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from avsync.config import Settings
    from avsync.pipeline import check, resolve_scorer
    from avsync.sources import read_sources

    if not Path(args.manifest).exists():
        print(f"eval_copies: error: no manifest at {args.manifest}", file=sys.stderr)
        return 3
    copies = [c for name in (args.sets or list(COPIES)) for c in COPIES[name]]
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
        for name, options, degrees, suffix in copies:
            copy = workdir / f"{entry.slug}.{''.join(c for c in name if c.isalnum())}.{suffix}"
            if not copy.exists():
                write_copy(entry.video, copy, options, degrees)
            reports.append(check(copy, settings=settings, scorer=scorer))
        rows.append((entry, reports))

    def cell(r) -> str:
        return f"{r.verdict} {r.av_offset_ms:+.0f}" if r.av_offset_ms is not None else r.verdict

    print(f"{'clip':<52}{'original':>22}" + "".join(f"{c[0]:>22}" for c in copies))
    for entry, reports in rows:
        print(f"{entry.slug[:50]:<52}" + "".join(f"{cell(r):>22}" for r in reports))
    print(f"\n{len(rows)} clips of {len(by_source)} sources ({args.split}, {args.category})")
    for k, (name, *_) in enumerate(copies, start=1):
        same = sum(r[k].verdict == r[0].verdict for _, r in rows)
        lost = sum(r[k].verdict in ("no_face", "no_speech") and r[0].verdict != r[k].verdict for _, r in rows)
        diffs = [abs(r[k].av_offset_ms - r[0].av_offset_ms) for _, r in rows
                 if r[k].av_offset_ms is not None and r[0].av_offset_ms is not None]
        median = f"{np.median(diffs):.1f} ms" if diffs else "none"
        confidence = np.median([abs(r[k].confidence - r[0].confidence) for _, r in rows
                                if r[k].confidence is not None and r[0].confidence is not None] or [np.nan])
        print(f"{name:<15}: original's verdict {same} of {len(rows)}, no face or speech found {lost}, "
              f"median |offset - original's| {median} ({len(diffs)} with both offsets), "
              f"|confidence - original's| {confidence:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
