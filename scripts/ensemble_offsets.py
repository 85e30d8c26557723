"""Do several checkpoints, or a mirrored view of the mouth, read offsets better together?

Scores the held-out train sources (a run's `val_sources`) and the dev split of a training cache
with each checkpoint, alone and with its mouth crops mirrored (`--flip`; training flips them at
random, so the model should read both alike), and prints the trainer's offset accuracies on real
clips (w5 / ctx15 / clip, within 1 frame of the true offset 0) for every member alone and for
the distances averaged over every combination of up to `--max-members` members, best held-out
ctx15 first. The held-out column is the one that picks; dev is shown beside it.

    python scripts/ensemble_offsets.py --config runs/held_out_planes/config.yaml \
        --model default --model runs/held_out_planes_seed3/best.safetensors --flip
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def mirrored(track):
    """The track with its mouth crops flipped left to right (the landmarks as they are, as training flips)."""
    track.crops = np.ascontiguousarray(np.asarray(track.crops)[:, :, ::-1])
    return track


def main() -> int:
    from avsync.pipeline import resolve_scorer
    from avsync.train.config import TrainConfig
    from avsync.train.dataset import load_clips
    from avsync.train.loop import clip_dists, offset_hits, scoring_settings, speech_windows

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="a run's config.yaml: its cache, splits and val_sources")
    parser.add_argument("--model", action="append", required=True, help="a checkpoint, or default (repeatable)")
    parser.add_argument("--flip", action="store_true", help="each model with mirrored crops too")
    parser.add_argument("--max-members", type=int, default=3)
    parser.add_argument("--top", type=int, default=8, help="combinations printed per size")
    args = parser.parse_args()

    try:
        cfg = TrainConfig.load(args.config)
        scorers = {spec: resolve_scorer(spec) for spec in args.model}
        train = load_clips(cfg.cache_dir, cfg.train_split, ["real"])
        dev = load_clips(cfg.cache_dir, cfg.dev_split, ["real"])
    except Exception as exc:  # a missing file, a bad config or checkpoint, no cache
        print(f"ensemble_offsets: error: {exc}", file=sys.stderr)
        return 3
    windows = {(s.window_frames, s.audio_window_hops) for s in scorers.values()}
    if len(windows) > 1:  # their distance matrices would not line up row for row
        print("ensemble_offsets: error: the models have different window lengths", file=sys.stderr)
        return 3
    (window, hops), = windows
    sets = {"val": [c for c in train if c.source in cfg.val_sources], "dev": dev}
    sets = {name: [c for c in clips if len(c) >= window] for name, clips in sets.items()}
    settings = scoring_settings()
    search = cfg.max_offset_frames
    members: dict[str, dict[str, list[np.ndarray]]] = {}
    for spec, scorer in scorers.items():
        views = [("", False)] + ([("+flip", True)] if args.flip else [])
        for suffix, flip in views:
            members[spec + suffix] = {
                name: [clip_dists(clip, scorer, settings, search, mirrored(clip.track()) if flip else None)
                       for clip in clips]
                for name, clips in sets.items()}
    # the windows counted depend on the speech and on which offsets have audio, not on the model
    first = members[next(iter(members))]
    include = {name: [speech_windows(clip, dists, cfg.min_speech_fraction, hops)
                      for clip, dists in zip(clips, first[name])] for name, clips in sets.items()}

    def accuracies(combo: tuple[str, ...]) -> dict[str, np.ndarray]:
        out = {}
        for name in sets:
            hits = np.zeros(6)
            for i, inc in enumerate(include[name]):
                hits += offset_hits(np.mean([members[m][name][i] for m in combo], axis=0), inc, search, window)
            out[name] = hits[0::2] / np.maximum(hits[1::2], 1)
        return out

    print(f"{len(sets['val'])} held-out and {len(sets['dev'])} dev real clips; accuracy w5 / ctx15 / clip")
    for size in range(1, min(args.max_members, len(members)) + 1):
        rows = sorted(((accuracies(combo), combo) for combo in itertools.combinations(members, size)),
                      key=lambda r: -r[0]["val"][1])
        for acc, combo in rows[:args.top]:
            print(f"{size}  held-out {' / '.join(f'{v:.3f}' for v in acc['val'])}   "
                  f"dev {' / '.join(f'{v:.3f}' for v in acc['dev'])}   {' + '.join(combo)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
