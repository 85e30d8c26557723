"""MFCC with SyncNet's parameters, log energy, and speech activity from silero-vad.

Loudness alone is not speech: music and noise passed an energy detector as 100% speech and then
came out ``mismatch``. silero-vad tells them apart; its model ships inside its wheel, so nothing
is downloaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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
    stream: int | None = None  # the audio stream decoded (index among the file's audio streams)
    channel: int | None = None  # the one channel analysed, where the mono downmix held no speech; None: the downmix
    decode_errors: int = 0  # its packets that did not decode (skipped, silence in their place)

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


def extract_audio_features(samples: np.ndarray, sample_rate: int, start_s: float, cfg: FeatureConfig,
                           block_frames: int = 3000) -> AudioFeatures:
    """MFCC, log energy and speech per 10 ms hop.

    Computed ``block_frames`` hops at a time: python_speech_features holds several float64
    copies of every frame, about 1.3 GB for 10 minutes of audio in one call. Blocks give the
    same rows as one call because pre-emphasis runs once over the whole signal first.
    """
    samples = np.asarray(samples, dtype=np.float32)
    win, hop = int(round(cfg.winlen * sample_rate)), int(round(cfg.winstep * sample_rate))
    if len(samples) < win:
        empty = np.zeros((0, cfg.numcep), np.float32)
        return AudioFeatures(empty, np.zeros(0), np.zeros(0, bool), cfg.winstep, start_s)
    n = 1 + int(np.ceil((len(samples) - win) / hop))
    emphasised = np.append(samples[0], samples[1:] - cfg.preemph * samples[:-1])
    coeffs, energy = [], []
    for first in range(0, n, block_frames):
        count = min(block_frames, n - first)
        lo, hi = first * hop, first * hop + (count - 1) * hop + win
        coeffs.append(mfcc(emphasised[lo:hi], samplerate=sample_rate, numcep=cfg.numcep, winlen=cfg.winlen,
                           winstep=cfg.winstep, nfilt=cfg.nfilt, nfft=cfg.nfft, preemph=0.0).astype(np.float32))
        energy.append(_frame_log_energy(samples[lo:hi], win, hop, count))
    energy = np.concatenate(energy)
    speech = detect_speech(samples, sample_rate, n, cfg)
    return AudioFeatures(np.concatenate(coeffs), energy, speech, cfg.winstep, start_s)


def _frame_log_energy(samples: np.ndarray, win: int, hop: int, n: int) -> np.ndarray:
    padded = np.pad(samples, (0, max(0, (n - 1) * hop + win - len(samples))))
    power = np.lib.stride_tricks.sliding_window_view(padded ** 2, win)[::hop][:n].mean(axis=1)
    return 10 * np.log10(power + 1e-10)


def detect_speech(samples: np.ndarray, sample_rate: int, n_hops: int, cfg: FeatureConfig) -> np.ndarray:
    """Whether each 10 ms hop is speech: silero-vad's probability above ``vad_threshold`` for the
    window holding the hop's centre; a closing (dilate then erode) bridges dips between syllables."""
    if n_hops == 0:
        return np.zeros(0, bool)
    probability, window_s = speech_probability(samples, sample_rate, cfg.vad_piece_s)
    centres = np.arange(n_hops) * cfg.winstep + cfg.winlen / 2
    rows = np.minimum((centres / window_s).astype(np.int64), len(probability) - 1)
    active = probability[rows] > cfg.vad_threshold
    width = max(1, int(round(cfg.vad_smooth_s / cfg.winstep)))
    closed = minimum_filter1d(maximum_filter1d(active.astype(np.uint8), width), width)
    return closed.astype(bool)


def speech_probability(samples: np.ndarray, sample_rate: int, piece_s: float = 30.0) -> tuple[np.ndarray, float]:
    """silero-vad's speech probability per window, and the window length in seconds.

    The model is recurrent, one window after another; cutting the audio into ``piece_s`` pieces
    run as one batch (each warmed up on the half second before it) is many times faster on long
    audio than one pass, and gives the same decisions away from the first half second. It runs
    its ONNX graph through onnxruntime, as silero's own ``OnnxWrapper`` does (the previous
    window's last samples as context, the recurrent state carried over), so ``check`` never
    imports torch for it.
    """
    if sample_rate not in (8000, 16000):
        raise ValueError(f"silero-vad needs 8 or 16 kHz audio, not {sample_rate} Hz")
    win = 512 if sample_rate == 16000 else 256
    context = 64 if sample_rate == 16000 else 32
    n_windows = -(-len(samples) // win)
    per = max(1, min(n_windows, int(piece_s * sample_rate / win)))
    warm = int(0.5 * sample_rate / win)
    padded = np.zeros((n_windows + per + warm) * win, np.float32)
    padded[warm * win: warm * win + len(samples)] = samples
    starts = range(0, n_windows, per)
    batch = np.stack([padded[k * win:(k + per + warm) * win] for k in starts])
    session = _silero()
    state = np.zeros((2, len(batch), 128), np.float32)
    last = np.zeros((len(batch), context), np.float32)
    rate = np.array(sample_rate, np.int64)
    probs = np.empty((len(batch), per + warm), np.float32)
    for j in range(per + warm):
        x = np.concatenate([last, batch[:, j * win:(j + 1) * win]], axis=1)
        out, state = session.run(None, {"input": x, "state": state, "sr": rate})
        probs[:, j] = out[:, 0]
        last = x[:, -context:]
    return probs[:, warm:].reshape(-1)[:n_windows], win / sample_rate


@lru_cache(maxsize=1)
def _silero():
    """silero-vad's ONNX graph from its wheel, found without importing the package (which imports torch)."""
    import importlib.util
    from pathlib import Path

    import onnxruntime

    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("silero-vad is not installed (pip install silero-vad)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "silero_vad.onnx"
    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = opts.intra_op_num_threads = 1  # a small recurrent net: threads only add overhead
    return onnxruntime.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
