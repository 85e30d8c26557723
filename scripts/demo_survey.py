"""How firmly the shipped model reads the demo's three variants on other synthetic faces and voices.

The demo itself uses one face seed and one other voice; this script redraws both for several seeds
and prints verdict, offset, confidence, p_sync and tolerance gap per clip, so that a change of
model or verdict rule can be checked against more than the one demo draw.

    python scripts/demo_survey.py --seeds 0-5 [--seconds 10] [--model default]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from avsync.cli.demo import OTHER_VOICE, SECONDS, VARIANTS
from avsync.pipeline import check, resolve_scorer
from avsync.testing import make_talking_clip


def seed_range(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-5", help="face seeds, e.g. 0-5")
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    scorer = resolve_scorer(args.model)
    right = 0
    total = 0
    print("seed  variant           verdict       expected      offset_ms  confidence  p_sync  interval_ms")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seed_range(args.seeds):
            for v in VARIANTS:
                options = dict(v.clip_options)
                if options.get("audio_seed") is not None:  # another voice for each face
                    options["audio_seed"] = OTHER_VOICE["audio_seed"] + seed
                clip = make_talking_clip(Path(tmp) / f"{v.name}.mp4", seconds=args.seconds, seed=seed,
                                         voice="vowels", **options)
                r = check(clip, scorer=scorer)
                total += 1
                right += r.verdict == v.expected
                cells = [f"{x:.3f}" if x is not None else "-" for x in (r.confidence, r.p_sync)]
                ci = r.av_offset_ci_ms
                cells.append(f"{ci[0]:+.0f}..{ci[1]:+.0f}" if ci else "-")
                offset = f"{r.av_offset_ms:+.0f}" if r.av_offset_ms is not None else "-"
                print(f"{seed:<5} {v.name:<17} {r.verdict:<13} {v.expected:<13} {offset:>9}  "
                      f"{cells[0]:>10}  {cells[1]:>6}  {cells[2]}", flush=True)
    print(f"{right}/{total} verdicts as expected")


if __name__ == "__main__":
    main()
