"""SyncNet-lite's shapes, config and MFCC normalisation: what inference needs without torch."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from avsync.config import YamlConfig

CROP_H, CROP_W = 48, 96
MFCC_ROWS = 13
AUDIO_STRIDE = 4  # time stride of the audio trunk = MFCC rows per 25 fps frame


@dataclass
class ModelConfig(YamlConfig):
    window_frames: int = 5  # frames per visual window (0.2 s); the audio window is as long
    embed_dim: int = 128
    visual_channels: list[int] = dataclasses.field(default_factory=lambda: [16, 32, 64, 96])
    audio_channels: list[int] = dataclasses.field(default_factory=lambda: [24, 48, 64])
    use_lips: bool = True
    n_lip_points: int = 40
    lip_hidden: int = 64
    dropout: float = 0.2
    normalize: bool = True  # L2-normalise embeddings
    init_logit_scale: float = 10.0  # 1 / temperature for -distance logits in training

    def __post_init__(self):
        if self.window_frames < 3:  # the audio trunk needs 12 rows for one output step
            raise ValueError(f"window_frames must be at least 3, not {self.window_frames}")

    @property
    def audio_hops(self) -> int:
        """MFCC rows in one audio window: as long as the visual window (4 rows per frame)."""
        return AUDIO_STRIDE * self.window_frames

    @property
    def trunk_steps(self) -> int:
        """Audio trunk output steps inside one window: (rows - 8) / 4 for its convs and pools."""
        return self.window_frames - 2


def mfcc_stats(mfcc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-clip mean and std of each coefficient (the same in training and inference)."""
    mfcc = np.asarray(mfcc, np.float32)
    if not len(mfcc):
        return np.zeros(MFCC_ROWS, np.float32), np.ones(MFCC_ROWS, np.float32)
    return mfcc.mean(axis=0), mfcc.std(axis=0) + 1e-3


def normalize_mfcc(mfcc: np.ndarray, stats: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    mean, std = stats if stats is not None else mfcc_stats(mfcc)
    return ((np.asarray(mfcc, np.float32) - mean) / std).astype(np.float32)


FRAME_S = AUDIO_STRIDE * 0.01  # the model's frame grid: 25 fps, four 10 ms MFCC hops per frame


def window_positions(times_s: np.ndarray, anchors_s, frames: int, spacing_s: float = FRAME_S) -> np.ndarray:
    """Fractional frame numbers of the ``frames`` frames of each window that starts at an anchor
    time: the frames are ``spacing_s`` apart whatever the video's frame rate, as training samples
    them, so a 30 fps clip shows a 5-frame model 0.2 s of movement, not 0.17 s."""
    at = np.asarray(anchors_s, np.float64)[..., None] + np.arange(frames) * spacing_s
    return np.interp(at, times_s, np.arange(len(times_s)))


def window_count(times_s: np.ndarray, frames: int) -> int:
    """How many frames can anchor a window: those whose ``frames`` frames, ``FRAME_S`` apart, end
    by the last frame (1 ms of timestamp jitter allowed). Training samples exactly the windows the
    scorer scores."""
    if len(times_s) < frames:
        return 0
    span = (frames - 1) * FRAME_S
    return int(np.searchsorted(times_s, times_s[-1] - span + 1e-3, side="right"))


def interp_rows(values: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``values`` (n, ...) at fractional row positions (clamped), float32."""
    pos = np.clip(pos, 0, len(values) - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, len(values) - 1)
    w = (pos - lo).reshape((-1,) + (1,) * (values.ndim - 1)).astype(np.float32)
    return values[lo] * (1 - w) + values[hi] * w
