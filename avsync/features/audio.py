"""MFCC with SyncNet's parameters, log energy and an energy-based speech detector."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from python_speech_features import mfcc
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from avsync.config import FeatureConfig


@dataclass
class AudioFeatures:
    mfcc: np.ndarray  # (T, 13) float32, one row per hop
    log_energy: np.ndarray  # (T,) dB
    speech: np.ndarray  # (T,) bool
    hop_s: float
    t0_s: float  # video-clock time where MFCC row 0 starts

    def __len__(self) -> int:
        return len(self.mfcc)

    def index_at(self, times_s: np.ndarray) -> np.ndarray:
        """MFCC row that starts at each video-clock time (may fall outside 0..T-1)."""
        return np.round((np.asarray(times_s) - self.t0_s) / self.hop_s).astype(np.int64)

    def speech_fraction(self) -> float:
        return float(self.speech.mean()) if len(self.speech) else 0.0

    def speech_at(self, times_s: np.ndarray, span_s: float) -> np.ndarray:
        """Whether any speech falls in [t, t + span) for each time; False outside the audio."""
        if not len(self.speech):
            return np.zeros(len(times_s), bool)
        cum = np.concatenate([[0], np.cumsum(self.speech)])
        lo = np.clip(self.index_at(times_s), 0, len(self.speech))
        hi = np.clip(lo + max(1, int(round(span_s / self.hop_s))), 0, len(self.speech))
        return (cum[hi] - cum[lo]) > 0


def extract_audio_features(samples: np.ndarray, sample_rate: int, start_s: float, cfg: FeatureConfig) -> AudioFeatures:
    samples = np.asarray(samples, dtype=np.float32)
    if len(samples) < int(cfg.winlen * sample_rate):
        empty = np.zeros((0, cfg.numcep), np.float32)
        return AudioFeatures(empty, np.zeros(0), np.zeros(0, bool), cfg.winstep, start_s)
    coeffs = mfcc(samples, samplerate=sample_rate, numcep=cfg.numcep, winlen=cfg.winlen,
                  winstep=cfg.winstep, nfilt=cfg.nfilt, nfft=cfg.nfft).astype(np.float32)
    energy = _frame_log_energy(samples, sample_rate, cfg.winlen, cfg.winstep, len(coeffs))
    speech = detect_speech(energy, cfg)
    return AudioFeatures(coeffs, energy, speech, cfg.winstep, start_s)


def _frame_log_energy(samples: np.ndarray, sr: int, winlen: float, winstep: float, n: int) -> np.ndarray:
    win, hop = int(round(winlen * sr)), int(round(winstep * sr))
    padded = np.pad(samples, (0, max(0, (n - 1) * hop + win - len(samples))))
    power = np.lib.stride_tricks.sliding_window_view(padded ** 2, win)[::hop][:n].mean(axis=1)
    return 10 * np.log10(power + 1e-10)


def detect_speech(log_energy: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Frames loud enough to be speech: above an absolute floor and near the clip's loud level.

    A closing (dilate then erode) bridges the short dips between syllables.
    """
    if not len(log_energy):
        return np.zeros(0, bool)
    loud = np.percentile(log_energy, 95)
    active = (log_energy > cfg.vad_frame_db_floor) & (log_energy > loud + cfg.vad_relative_db)
    width = max(1, int(round(cfg.vad_smooth_s / cfg.winstep)))
    closed = minimum_filter1d(maximum_filter1d(active.astype(np.uint8), width), width)
    return closed.astype(bool)
