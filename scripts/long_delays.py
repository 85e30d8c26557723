#!/usr/bin/env python
"""`check` on real dev clips with their audio delayed 1000 and 2000 ms (issue 12's done-when).

Each clip is analysed once; the audio features are re-timed by the delay and the report is built
exactly as `check` builds it (±2 s search, the shipped calibration). A clip passes when it reads
`out_of_sync` within ±40 ms of its own measured offset minus the delay, and within ±40 ms of
minus the delay itself (the issue's figure, which assumes the clip's own offset is 0).

    python scripts/long_delays.py --manifest ../shared/corpus/manifest.csv [--cache DIR] [--model default]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

DEFAULT_MANIFEST = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "manifest.csv"
DELAYS_S = (1.0, 2.0)
WITHIN_MS = 40.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", default=str(DEFAULT_MANIFEST))
    parser.add_argument("--split", default="dev")
    parser.add_argument("--category", default="real")
    parser.add_argument("--model", default="default")
    parser.add_argument("--cache", help="folder of front-end analyses to reuse")
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args(argv)

    from avsync.config import Settings
    from avsync.sources import read_sources
    from avsync.evaluation.clipset import AnalysisCache, iter_analyses
    from avsync.pipeline import build_report, resolve_scorer

    if not Path(args.manifest).exists():
        print(f"long_delays: error: no manifest at {args.manifest}", file=sys.stderr)
        return 3
    entries = read_sources([args.manifest], split=[args.split], category=[args.category])
    settings = Settings.load()
    scorer = resolve_scorer(args.model)
    cache = AnalysisCache(args.cache) if args.cache else None
    counts = {d: {"n": 0, "out_of_sync": 0, "within_own": 0, "within_zero": 0, "verdicts": {}} for d in DELAYS_S}
    print(f"{'clip':<60}{'own ms':>8}" + "".join(f"{f'{int(d * 1000)} ms':>28}" for d in DELAYS_S))
    for _, entry, analysis, reason in iter_analyses(entries, settings, [scorer], args.jobs, cache, False):
        if analysis is None:
            print(f"{entry.slug[:58]:<60}skipped: {reason}")
            continue
        own = build_report(analysis, scorer, settings).av_offset_ms
        cells = ""
        for d in DELAYS_S:
            audio = dataclasses.replace(analysis.audio, t0_s=analysis.audio.t0_s + d)
            rep = build_report(dataclasses.replace(analysis, audio=audio), scorer, settings)
            c = counts[d]
            c["n"] += 1
            c["verdicts"][rep.verdict] = c["verdicts"].get(rep.verdict, 0) + 1
            ok = rep.verdict == "out_of_sync"
            c["out_of_sync"] += ok
            if rep.av_offset_ms is not None:
                c["within_own"] += ok and own is not None and abs(rep.av_offset_ms - (own - 1000 * d)) <= WITHIN_MS
                c["within_zero"] += ok and abs(rep.av_offset_ms + 1000 * d) <= WITHIN_MS
            shown = "-" if rep.av_offset_ms is None else f"{rep.av_offset_ms:+.0f}"
            cells += f"{rep.verdict[:14]:>16} {shown:>11}"
        print(f"{entry.slug[:58]:<60}{'-' if own is None else f'{own:+.0f}':>8}{cells}")
    for d, c in counts.items():
        n = max(c["n"], 1)
        print(f"delay {int(d * 1000)} ms: out_of_sync {c['out_of_sync']}/{c['n']} ({100 * c['out_of_sync'] / n:.0f}%); "
              f"out_of_sync within {WITHIN_MS:.0f} ms of own offset - delay {c['within_own']} "
              f"({100 * c['within_own'] / n:.0f}%), of -delay {c['within_zero']} ({100 * c['within_zero'] / n:.0f}%); "
              + ", ".join(f"{k} {v}" for k, v in sorted(c["verdicts"].items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
