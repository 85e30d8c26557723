#!/usr/bin/env python
"""Is one checkpoint's `avsync eval-offsets` result different from another's beyond clip noise?

    python scripts/compare_eval_offsets.py A.json B.json [--model-a NAME] [--model-b NAME]

Both files come from `avsync eval-offsets --out` on the same clips. Prints each model's
clip-averaged offset accuracy (whole clip and each context) and mismatch ROC AUC, the difference
B - A, and a 95% paired bootstrap interval of that difference over clips (the clips, not the
windows, are the independent units: windows of one clip share its face, voice and own offset).
"""
from __future__ import annotations

import argparse
import json

import numpy as np
from sklearn.metrics import roc_auc_score


def load(path: str, name: str | None) -> dict:
    models = json.load(open(path))["models"]
    key = name or next(iter(models))
    if key not in models:
        raise SystemExit(f"{path}: no model {key!r} (has {', '.join(models)})")
    return models[key]


def clip_table(model: dict) -> dict[str, dict]:
    return {c["id"]: c for c in model["per_clip"] if c.get("status") == "ok"}


def auc(model: dict, clips: list[str]) -> float:
    genuine = [model["clips"][c]["confidence"] for c in clips]
    other = [p["confidence"] for c in clips for p in model["pairs"].get(c, [])]
    return roc_auc_score([1] * len(genuine) + [0] * len(other), genuine + other)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--model-a")
    parser.add_argument("--model-b")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    models = []
    for path, name in ((args.a, args.model_a), (args.b, args.model_b)):
        raw = load(path, name)
        pairs: dict[str, list] = {}
        for p in raw["mismatched_pairs"]:
            pairs.setdefault(p["video"], []).append(p)
        models.append({"clips": clip_table(raw), "pairs": pairs, "name": raw["scorer"]})
    clips = sorted(set(models[0]["clips"]) & set(models[1]["clips"]))
    keys = list(next(iter(models[0]["clips"].values()))["accuracy"])
    rng = np.random.default_rng(args.seed)
    draws = [rng.integers(0, len(clips), len(clips)) for _ in range(args.resamples)]
    print(f"{len(clips)} clips in both; A = {models[0]['name']}, B = {models[1]['name']}")
    print(f"{'metric':<14}{'A':>9}{'B':>9}{'B - A':>9}   95% interval of B - A (paired bootstrap over clips)")
    for key in keys:
        acc = [np.array([m["clips"][c]["accuracy"][key] for c in clips], float) for m in models]
        diff = acc[1] - acc[0]
        boot = [np.nanmean(diff[i]) for i in draws]
        lo, hi = np.nanpercentile(boot, [2.5, 97.5])
        label = "whole clip" if key == "whole" else f"{key} frames"
        print(f"{label:<14}{100 * np.nanmean(acc[0]):8.1f}%{100 * np.nanmean(acc[1]):8.1f}%"
              f"{100 * np.nanmean(diff):+8.1f}   [{100 * lo:+.1f}, {100 * hi:+.1f}]")
    a_auc, b_auc = auc(models[0], clips), auc(models[1], clips)
    boot = []
    for i in draws:
        picked = [clips[j] for j in i]
        try:
            boot.append(auc(models[1], picked) - auc(models[0], picked))
        except ValueError:
            continue
    lo, hi = np.percentile(boot, [2.5, 97.5])
    print(f"{'mismatch AUC':<14}{a_auc:9.3f}{b_auc:9.3f}{b_auc - a_auc:+9.3f}   [{lo:+.3f}, {hi:+.3f}]")


if __name__ == "__main__":
    main()
