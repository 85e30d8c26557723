#!/usr/bin/env python
"""Grid of the foreign-audio segment constants on a make_spliced.py folder: segment AP per setting.

    python scripts/make_spliced.py ../shared/corpus --split train --source REPO ... --out DIR
    python scripts/tune_segments.py DIR [--model default] [--cache FOLDER]

Runs the front-end and `check`'s scoring once per clip, then `foreign_audio_segments` for every
setting of window, ratio, minimum length and the fit floor, and prints the settings by AP@0.5
(LAV-DF protocol, as `avsync eval --dataset lavdf`), with the share of the untouched originals
(the folder's real rows) that get any segment: a QC user reads each of those as a false alarm.
Settings that flag more originals than `--max-genuine-flagged` are listed after the others.
Fit on spliced train clips; report on dev.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WINDOWS_S = (0.6, 1.0, 1.5)
RATIOS = (0.2, 0.35, 0.5, 0.65)
MIN_LENGTHS_S = (0.3, 0.6, 1.0)
FLOORS = (0.0, 1.0, 2.0)


def grid(scored, max_genuine_flagged: float = 1.0) -> list[tuple]:
    """(AP@0.5, AP@0.75, mean best IoU, proposals, originals flagged, window, ratio, min length, floor)
    per setting: those flagging at most ``max_genuine_flagged`` of the originals first, each part by AP@0.5.

    `scored` holds (track score or None, window length in s, true periods) per clip."""
    from avsync.evaluation.segments import localisation
    from avsync.scoring.localise import foreign_audio_segments

    rows = []
    for floor, window, ratio, min_length in itertools.product(FLOORS, WINDOWS_S, RATIOS, MIN_LENGTHS_S):
        videos = []
        for ts, length, truth in scored:
            segs = [] if ts is None else foreign_audio_segments(
                ts.dists, ts.offsets, ts.times, ts.speech, ts.curve.best_k, window, ratio, min_length, length,
                min_fit_spreads=floor)
            videos.append(([[s["start_s"], s["end_s"], s["score"]] for s in segs], truth))
        loc = localisation(videos)
        originals = [segs for segs, truth in videos if not truth]
        flagged = sum(bool(segs) for segs in originals) / max(len(originals), 1)
        rows.append((loc["ap"]["0.5"], loc["ap"]["0.75"], loc["mean_best_iou"], loc["n_proposals"], flagged,
                     window, ratio, min_length, floor))
    return sorted(rows, key=lambda r: (r[4] > max_genuine_flagged, -r[0]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a make_spliced.py output folder (metadata.json inside)")
    parser.add_argument("--model", default="default")
    parser.add_argument("--cache", help="folder to keep front-end analyses in and reuse")
    parser.add_argument("--top", type=int, default=12, help="settings printed (default %(default)s)")
    parser.add_argument("--max-genuine-flagged", type=float, default=0.1,
                        help="share of untouched originals a setting may flag to rank first (default %(default)s)")
    args = parser.parse_args(argv)
    from avsync.config import Settings
    from avsync.evaluation.adapters import ADAPTERS
    from avsync.evaluation.clipset import AnalysisCache, iter_analyses
    from avsync.evaluation.manifest import ManifestError
    from avsync.pipeline import measure, resolve_scorer
    from avsync.sources import clip_for

    try:
        rows = ADAPTERS["lavdf"].load(args.folder)
    except ManifestError as exc:
        print(f"tune_segments: error: {exc}", file=sys.stderr)
        return 3
    entries = [clip_for(row.path) for row in rows]
    settings = Settings.load()
    scorer = resolve_scorer(args.model)
    cache = AnalysisCache(args.cache) if args.cache else None
    scored = []  # (best track score or None, its window's length in s, true periods)
    for i, _, analysis, _ in iter_analyses(entries, settings, [scorer], None, cache, True, desc="tune_segments"):
        best = measure(analysis, scorer, settings).best if analysis is not None else None
        length = scorer.window_frames * analysis.frame_dt if analysis is not None else 0.0
        scored.append((best, length, rows[i].fake_periods))

    ranked = grid(scored, args.max_genuine_flagged)
    originals = sum(not t for _, _, t in scored)
    print(f"{len(scored)} clips ({originals} untouched originals), {sum(len(t) for _, _, t in scored)} true periods")
    for ap5, ap75, iou, n, flagged, window, ratio, min_length, floor in ranked[:args.top]:
        print(f"AP@0.5 {ap5:.3f}  AP@0.75 {ap75:.3f}  mean best IoU {iou or 0:.3f}  {n:>4} proposals  "
              f"originals flagged {flagged:.0%}  window {window:.1f} s  ratio {ratio:.2f}  min {min_length:.1f} s  "
              f"floor {floor:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
