"""How much LSE-D / LSE-C move when the mouth-crop geometry changes (docs/lse_reproducibility.md §4).

    python scripts/crop_geometry.py ../shared/corpus --split dev [--model default] [--json OUT]

Runs ``check`` on the split's real and generated clips once per crop variant (scale of the crop
relative to the eye distance, vertical shift of the crop window) and prints, per variant, mean
± std of LSE-D and LSE-C per category, the mean change from the default geometry, the share of
clips whose offset is unchanged, and the AUC of LSE-C for real against generated.
"""
from __future__ import annotations

import argparse
import json

import numpy as np
from sklearn.metrics import roc_auc_score

VARIANTS = {
    "default": {},
    "scale x0.8 (tighter)": {"scale": 0.8},
    "scale x0.9": {"scale": 0.9},
    "scale x1.1": {"scale": 1.1},
    "scale x1.25 (looser)": {"scale": 1.25},
    "shift up 10%": {"shift_y": -0.1},
    "shift down 10%": {"shift_y": 0.1},
}


def main() -> None:
    import avsync
    from avsync.config import Settings
    from avsync.sources import read_sources
    from avsync.pipeline import resolve_scorer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--model", default="default")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()

    clips = read_sources([args.corpus], split=[args.split])
    scorer = resolve_scorer(args.model)
    base = Settings.load()
    results = {}
    for name, change in VARIANTS.items():
        settings = Settings.load()
        settings.frontend.mouth_crop_width_per_eye_dist = base.frontend.mouth_crop_width_per_eye_dist * change.get("scale", 1.0)
        settings.frontend.mouth_crop_shift_y = change.get("shift_y", 0.0)
        rows = []
        for clip in clips:
            r = avsync.check(clip.video, audio=clip.audio, settings=settings, scorer=scorer, jobs=1)
            if r.min_dist is not None:
                rows.append({"id": clip.id, "category": clip.category, "lse_d": r.min_dist, "lse_c": r.confidence,
                             "offset": r.av_offset_frames})
        results[name] = rows
        print(f"{name}: {len(rows)} clips scored", flush=True)

    ref = {r["id"]: r for r in results["default"]}
    print(f"\nscorer {scorer.describe()}, split {args.split}")
    print("| variant | real LSE-D | real LSE-C | generated LSE-D | generated LSE-C | Δ LSE-D | Δ LSE-C | same offset | AUC (LSE-C, real vs generated) |")
    print("|---|---|---|---|---|---|---|---|---|")
    summary = {}
    for name, rows in results.items():
        def stat(cat, key):
            v = np.array([r[key] for r in rows if r["category"] == cat])
            return f"{v.mean():.3f} ± {v.std():.3f}" if len(v) else "-"
        common = [r for r in rows if r["id"] in ref]
        d_dist = np.mean([r["lse_d"] - ref[r["id"]]["lse_d"] for r in common])
        d_conf = np.mean([r["lse_c"] - ref[r["id"]]["lse_c"] for r in common])
        same = np.mean([r["offset"] == ref[r["id"]]["offset"] for r in common])
        labels = [r["category"] == "real" for r in rows]
        auc = roc_auc_score(labels, [r["lse_c"] for r in rows]) if 0 < sum(labels) < len(labels) else float("nan")
        summary[name] = {"d_lse_d": d_dist, "d_lse_c": d_conf, "same_offset": same, "auc": auc}
        print(f"| {name} | {stat('real', 'lse_d')} | {stat('real', 'lse_c')} | {stat('generated', 'lse_d')} | "
              f"{stat('generated', 'lse_c')} | {d_dist:+.3f} | {d_conf:+.3f} | {100 * same:.0f}% | {auc:.3f} |")
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump({"results": results, "summary": summary}, fh, indent=1)


if __name__ == "__main__":
    main()
