"""Shared by the offset benchmark, calibration and the dev evaluation: one front-end pass per clip,
an optional on-disk cache of those passes, and "another clip's audio" partners for mismatch tests.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Iterator

import numpy as np

from avsync.config import Settings
from avsync.sources import Clip
from avsync.features.audio import AudioFeatures
from avsync.frontend.track import MouthTrack
from avsync.media.errors import MediaError
from avsync.pipeline import Analysis, analyse, audio_features
from avsync.scoring.base import Scorer

CACHE_VERSION = 2  # 2: interlaced frames are timed between their two fields


def clip_audio(entry: Clip, settings: Settings) -> AudioFeatures:
    """The clip's audio features on its video clock, as ``analyse`` computes them (no video decode)."""
    return audio_features(entry.video, entry.audio, settings)


# Twin recordings (generator variants driven by one audio file) are never mismatch partners.
TWIN_MAX_LAG_S = 1.0  # lags tried either way: generators trim or pad their driving audio a little
TWIN_CORRELATION = 0.9  # envelopes correlating above this at some lag carry the same recording
TWIN_MIN_HOPS = 100  # shorter envelopes (1 s) are too short to tell
TWIN_MIN_OVERLAP_HOPS = 50
TWIN_LAG_STEP_HOPS = 2  # 20 ms: finer than the envelope's own smoothness needs


def same_audio(a: AudioFeatures, b: AudioFeatures, max_lag_s: float = TWIN_MAX_LAG_S,
               threshold: float = TWIN_CORRELATION) -> bool:
    """Whether two clips carry the same recording (generator variants driven by one audio file):
    their log-energy envelopes correlate above ``threshold`` at some lag within ``max_lag_s``."""
    x, y = a.log_energy, b.log_energy
    n = min(len(x), len(y))
    lag_max = int(round(max_lag_s / a.hop_s))
    if n < 4 * lag_max or n < TWIN_MIN_HOPS:
        return False
    best = -1.0
    for lag in range(-lag_max, lag_max + 1, TWIN_LAG_STEP_HOPS):
        xs = x[max(0, lag):n + min(0, lag)]
        ys = y[max(0, -lag):n - max(0, lag)]
        m = min(len(xs), len(ys))
        if m < TWIN_MIN_OVERLAP_HOPS:
            continue
        c = np.corrcoef(xs[:m], ys[:m])[0, 1]
        if np.isfinite(c):
            best = max(best, float(c))
    return best >= threshold


def partner_audio(entries: list[Clip], settings: Settings, rounds: int,
                  seed: int) -> tuple[list[AudioFeatures | None], dict[int, list[int]]]:
    """Each clip's audio features (None where unreadable) and, per clip index, the indices of the
    clips whose audio it is paired with for mismatch tests (see :func:`mismatch_partners`)."""
    audios: list[AudioFeatures | None] = []
    for entry in entries:
        try:
            audios.append(clip_audio(entry, settings))
        except Exception:
            audios.append(None)
    partners: dict[int, list[int]] = {}
    for i, j in mismatch_partners(audios, rounds, seed):
        partners.setdefault(i, []).append(j)
    return audios, partners


def mismatch_partners(audios: list[AudioFeatures | None], rounds: int, seed: int) -> list[tuple[int, int]]:
    """(clip, other clip whose audio it gets) pairs: ``rounds`` distinct partners per clip, never the
    clip itself nor a clip with the same recording. Round r pairs each clip with the clip r places
    after it in one seeded random order (a derangement), skipping ahead past unusable partners."""
    usable = [i for i, a in enumerate(audios) if a is not None and len(a)]
    rng = np.random.default_rng(seed)
    order = [usable[i] for i in rng.permutation(len(usable))]
    same: dict[tuple[int, int], bool] = {}

    def twins(i: int, j: int) -> bool:
        key = (min(i, j), max(i, j))
        if key not in same:
            same[key] = same_audio(audios[i], audios[j])
        return same[key]

    pairs = []
    for pos, i in enumerate(order):
        taken: set[int] = set()
        step = 1
        while len(taken) < rounds and step < len(order):
            j = order[(pos + step) % len(order)]
            step += 1
            if j != i and not twins(i, j):
                taken.add(j)
                pairs.append((i, j))
    return sorted(pairs)


# --- analyses, optionally cached on disk --------------------------------------------------------

_TRACK_ARRAYS = ("frames", "times_s", "boxes", "lips", "opening", "crops", "valid", "mouth_affine", "face_crops")


class AnalysisCache:
    """One ``.npz`` per analysed clip (no pickles), keyed by the files' identity and the settings
    that change the front-end's output."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def key(self, entry: Clip, settings: Settings, crop_spec) -> str:
        ident = [CACHE_VERSION, _identity(entry.video), _identity(entry.audio), asdict(settings.frontend),
                 asdict(settings.features), settings.protocol.analysis_fps, list(crop_spec) if crop_spec else None]
        return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:24]

    def get(self, key: str) -> Analysis | None:
        path = self.root / f"{key}.npz"
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return _from_arrays({k: data[k] for k in data.files})
        except (OSError, ValueError, KeyError):
            return None  # unreadable entry: analyse again and overwrite it

    def put(self, key: str, analysis: Analysis) -> None:
        tmp = self.root / f"{key}.tmp.npz"
        np.savez_compressed(tmp, **_to_arrays(analysis))
        os.replace(tmp, self.root / f"{key}.npz")


def _identity(path: str | None):
    if path is None:
        return None
    st = os.stat(path)
    return [str(Path(path).resolve()), st.st_size, st.st_mtime_ns]


def _to_arrays(a: Analysis) -> dict[str, np.ndarray]:
    meta = {"path": a.path, "fps": a.fps, "source_fps": a.source_fps, "step": a.step, "n_frames": a.n_frames,
            "duration_s": a.duration_s, "timings_s": a.timings_s, "hop_s": a.audio.hop_s, "t0_s": a.audio.t0_s,
            "tracks": [t.track_id for t in a.tracks], "field_order": a.field_order}
    arrays = {"meta": np.array(json.dumps(meta)), "mfcc": a.audio.mfcc, "log_energy": a.audio.log_energy,
              "speech": a.audio.speech}
    for n, track in enumerate(a.tracks):
        for name in _TRACK_ARRAYS:
            value = getattr(track, name)
            if value is not None:
                arrays[f"t{n}_{name}"] = value
    return arrays


def _from_arrays(d: dict[str, np.ndarray]) -> Analysis:
    meta = json.loads(str(d["meta"]))
    audio = AudioFeatures(d["mfcc"], d["log_energy"], d["speech"], meta["hop_s"], meta["t0_s"])
    names = {f.name for f in fields(MouthTrack)}
    tracks = []
    for n, track_id in enumerate(meta["tracks"]):
        values = {name: d.get(f"t{n}_{name}") for name in _TRACK_ARRAYS if name in names}
        tracks.append(MouthTrack(track_id=track_id, **values))
    return Analysis(meta["path"], meta["fps"], meta["source_fps"], meta["step"], meta["n_frames"],
                    meta["duration_s"], tracks, audio, meta["timings_s"], field_order=meta.get("field_order"))


def crop_spec_for(scorers: list[Scorer]):
    """What the face front-end must also crop for these scorers (the first that asks decides)."""
    for scorer in scorers:
        if getattr(scorer, "needs_face_crops", False):
            return scorer
    return None


def iter_analyses(entries: list[Clip], settings: Settings, scorers: list[Scorer], jobs: int | None = None,
                  cache: AnalysisCache | None = None, progress: bool = True,
                  desc: str = "front-end") -> Iterator[tuple[int, Clip, Analysis | None, str]]:
    """(index, entry, analysis or None, reason) per clip, one front-end pass each, with a progress bar.
    A clip that cannot be analysed yields None and a one-line reason; it never stops the run."""
    from tqdm import tqdm

    crop_scorer = crop_spec_for(scorers)
    crop_spec = (crop_scorer.face_crop_size, crop_scorer.face_crop_scale) if crop_scorer else None
    for index, entry in enumerate(tqdm(entries, unit="clip", desc=desc, disable=not progress)):
        key = None
        if cache is not None:
            try:
                key = cache.key(entry, settings, crop_spec)
            except OSError:
                key = None  # a missing file: analyse() below says what is wrong
        analysis = cache.get(key) if key else None
        if analysis is None:
            try:
                analysis = analyse(entry.video, entry.audio, settings, jobs, crop_scorer)
            except MediaError as exc:
                yield index, entry, None, f"{exc.code}: {exc.message}"
                continue
            except Exception as exc:  # one bad clip never stops the benchmark
                yield index, entry, None, f"{exc.__class__.__name__}: {exc}"
                continue
            if key:
                cache.put(key, analysis)
        yield index, entry, analysis, ""
