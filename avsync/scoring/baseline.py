"""Training-free scorer: local correlation of mouth motion with the audio envelope.

The mouth moves while sound is made, so the motion energy of the aligned mouth crops (mean
absolute frame difference) rises and falls with the log-energy envelope. On the real train
clips this pairing located the true offset within one frame more often than lip opening,
lip height, mouth darkness or MFCC dynamics did (see docs/baseline.md). The distance is
1 - Pearson correlation over a context of frames around each 5-frame window (0 = perfect).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from avsync.features.audio import AudioFeatures
from avsync.frontend.track import MouthTrack
from avsync.scoring.base import Scorer, register_scorer

CALIBRATION_FILE = Path(__file__).resolve().parent.parent / "weights" / "baseline.json"
# The scorer's definition (changing one makes another scorer, with its own calibration digest):
CONTEXT_FRAMES = 25  # frames correlated around each window: one second at 25 fps
FLOOR_DB = 40.0  # energy more than this below the loud (95th percentile) frames counts as silence
SMOOTH_HOPS = 4  # moving average of the envelope over 40 ms, one video frame
MIN_VALID_FRACTION = 0.6  # a context with fewer measured frames than this has no correlation


def _rolling_corr(x: np.ndarray, y: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Pearson correlation of x and y over [start, stop) per row; NaN samples are skipped."""
    ok = ~(np.isnan(x) | np.isnan(y))
    xs, ys = np.where(ok, x, 0.0), np.where(ok, y, 0.0)

    def window_sum(v):
        c = np.concatenate([[0.0], np.cumsum(v)])
        return c[stops] - c[starts]

    n = window_sum(ok.astype(float))
    sx, sy = window_sum(xs), window_sum(ys)
    sxx, syy, sxy = window_sum(xs * xs), window_sum(ys * ys), window_sum(xs * ys)
    cov = sxy - sx * sy / np.maximum(n, 1)
    vx = sxx - sx * sx / np.maximum(n, 1)
    vy = syy - sy * sy / np.maximum(n, 1)
    corr = cov / np.sqrt(np.maximum(vx * vy, 1e-12))
    return np.where(n >= MIN_VALID_FRACTION * (stops - starts), corr, np.nan)


def mouth_motion(track: MouthTrack) -> np.ndarray:
    """Mean absolute difference between consecutive aligned mouth crops; NaN next to lost frames."""
    crops = track.crops.astype(np.float32)
    diff = np.abs(np.diff(crops, axis=0)).mean(axis=(1, 2))
    motion = np.concatenate([[np.nan], diff])
    measured = track.valid & np.concatenate([[False], track.valid[:-1]])
    return np.where(measured, motion, np.nan)


@register_scorer("baseline")
class EnvelopeCorrelationScorer(Scorer):
    name = "baseline-envelope-corr"
    version = "1"

    def __init__(self, context_frames: int = CONTEXT_FRAMES, floor_db: float = FLOOR_DB):
        self.context_frames = context_frames
        self.floor_db = floor_db
        # no weights: its calibration is keyed by what changes its distances
        ident = {"name": self.name, "version": self.version, "context_frames": context_frames, "floor_db": floor_db}
        self.weights_digest = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()
        self.calibration_path = CALIBRATION_FILE
        self.load_calibration()

    def _envelope(self, audio: AudioFeatures) -> np.ndarray:
        energy = audio.log_energy
        if not len(energy):
            return energy
        floor = np.percentile(energy, 95) - self.floor_db
        smooth = np.convolve(np.maximum(energy, floor), np.ones(SMOOTH_HOPS) / SMOOTH_HOPS, mode="same")
        return smooth

    def distances(self, track: MouthTrack, audio: AudioFeatures, offsets, frame_dt):
        n, window = len(track), self.window_frames
        n_windows = max(0, n - window + 1)
        out = np.full((n_windows, len(offsets)), np.nan, np.float32)
        envelope = self._envelope(audio)
        if n_windows == 0 or len(envelope) < 2:
            return out
        motion = mouth_motion(track)
        centre = np.arange(n_windows) + window // 2
        half = self.context_frames // 2
        starts = np.clip(centre - half, 0, n)
        stops = np.clip(centre + half + 1, 0, n)
        # energy averaged over each frame's duration, read at the frame's time + offset
        positions = (track.times_s - audio.t0_s + frame_dt / 2) / audio.hop_s
        for col, k in enumerate(offsets):
            pos = positions + k * frame_dt / audio.hop_s
            inside = (pos >= 0) & (pos <= len(envelope) - 1)
            env = np.where(inside, np.interp(pos, np.arange(len(envelope)), envelope), np.nan)
            corr = _rolling_corr(motion, env, starts, stops)
            # a window whose own audio lies outside the recording is masked, not padded
            outside = np.concatenate([[0], np.cumsum(~inside)])
            own = (outside[window:window + n_windows] - outside[:n_windows]) == 0
            out[:, col] = np.where(own, 1.0 - corr, np.nan)
        return out
