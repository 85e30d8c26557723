"""Spliced test clips: real clips with 1-3 s of their audio replaced by another speaker's.

    python scripts/make_spliced.py ../shared/corpus --split dev --out /tmp/spliced [--seed 0] [--source REPO ...]

Writes the clips plus a LAV-DF-style ``metadata.json`` (file, split, modify_video=false,
modify_audio=true, fake_periods) and the untouched originals as real rows, so that
``avsync eval --dataset lavdf /tmp/spliced`` scores segment AP at IoU 0.5 / 0.75.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_clip import SR, read_frames, write_av  # noqa: E402


def splice(audio: np.ndarray, donor: np.ndarray, start_s: float, length_s: float) -> np.ndarray:
    """Replace ``audio[start:start+length]`` with the donor's audio of the same span, loudness-matched."""
    out = audio.copy()
    lo, hi = int(start_s * SR), int((start_s + length_s) * SR)
    piece = np.resize(donor, hi - lo)
    rms = np.sqrt(np.mean(audio[lo:hi] ** 2) + 1e-12) / np.sqrt(np.mean(piece ** 2) + 1e-12)
    fade = np.minimum(1.0, np.minimum(np.arange(hi - lo), np.arange(hi - lo)[::-1]) / (0.01 * SR))
    out[lo:hi] = out[lo:hi] * (1 - fade) + piece * rms * fade
    return out


def main() -> None:
    from avsync.sources import read_sources
    from avsync.media.audio import load_audio

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", action="append", help="only clips of this repository (repeatable)")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    clips = [c for c in read_sources([args.corpus], split=[args.split], category=["real"])
             if c.audio is None and (not args.source or c.source in args.source)]
    out = Path(args.out)
    (out / "spliced").mkdir(parents=True, exist_ok=True)
    (out / "original").mkdir(exist_ok=True)
    audios = {c.slug: load_audio(c.video, SR) for c in clips}
    meta = []
    for i, clip in enumerate(clips):
        audio = audios[clip.slug]
        duration = len(audio) / SR
        if duration < 4.0:
            continue
        donor = clips[(i + 1 + rng.integers(len(clips) - 1)) % len(clips)]
        length = float(rng.uniform(1.0, min(3.0, duration / 2)))
        start = float(rng.uniform(0.5, duration - length - 0.5))
        spliced = splice(audio, audios[donor.slug][int(start * SR):], start, length)
        frames, fps, _ = read_frames(clip.video)
        name = f"spliced/{clip.slug}.mp4"
        write_av(out / name, frames, fps, spliced)
        meta.append({"file": name, "split": args.split, "modify_video": False, "modify_audio": True,
                     "n_fakes": 1, "fake_periods": [[round(start, 3), round(start + length, 3)]],
                     "duration": round(duration, 3), "original": clip.video, "donor": donor.video})
        frames, fps, _ = read_frames(clip.video)
        name = f"original/{clip.slug}.mp4"
        write_av(out / name, frames, fps, audio)
        meta.append({"file": name, "split": args.split, "modify_video": False, "modify_audio": False,
                     "n_fakes": 0, "fake_periods": [], "duration": round(duration, 3), "original": clip.video})
        print(f"{clip.slug}: {start:.2f}-{start + length:.2f} s from {donor.slug}")
    (out / "metadata.json").write_text(json.dumps(meta, indent=1))
    print(f"{len(meta)} clips -> {out}/metadata.json")


if __name__ == "__main__":
    main()
