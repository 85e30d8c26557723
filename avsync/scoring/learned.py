"""Scorer on a SyncNet-lite checkpoint written by ``avsync train`` (default: the shipped weights)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from avsync.features.audio import AudioFeatures
from avsync.frontend.track import MouthTrack
from avsync.memory import release_free_memory
from avsync.models.checkpoint import CheckpointError, read_meta, sidecar
from avsync.models.inference import TorchSyncNet, gather_windows, load_backend
from avsync.models.spec import (AUDIO_STRIDE, FRAME_S, MFCC_ROWS, ModelConfig, interp_rows, normalize_mfcc,
                                window_count, window_positions)
from avsync.scoring.base import EmbeddingScorer, file_digest, register_scorer

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "syncnet_lite.safetensors"
# Audio windows whose starts lie on one 4-row grid are embedded from one trunk pass over the
# segment that holds them; segments are split where starts are further apart than this many
# grid steps (computing across a long gap costs more than a fresh pass) and capped in length
# to keep memory flat on long clips.
_MAX_GAP_STEPS = 8
_MAX_SEGMENT_STEPS = 2048


@register_scorer("syncnet_lite")
class SyncNetLiteScorer(EmbeddingScorer):
    name = "syncnet_lite"
    visual_batch = 256

    def __init__(self, path: str | Path | None = None):
        path = Path(path) if path is not None else DEFAULT_WEIGHTS
        if path is DEFAULT_WEIGHTS and not path.exists():
            raise CheckpointError(f"shipped SyncNet-lite weights are missing ({path}); reinstall avsync or pass --model PATH")
        if not path.is_file():
            raise CheckpointError(f"{path}: no such checkpoint")
        self.meta = read_meta(path)
        digest = file_digest(path)
        try:
            self.backend = load_backend(path, self.meta, digest)
        except CheckpointError:
            raise
        except Exception as exc:  # bad config keys
            raise CheckpointError(f"{path}: cannot load SyncNet-lite weights: {exc}") from None
        self.cfg: ModelConfig = self.backend.cfg
        self.path = path
        self.weights_digest = digest
        self.version = "sha256:" + digest[:16]
        self.calibration_path = sidecar(path)
        self.load_calibration()

    @classmethod
    def from_model(cls, model, version: str = "in-memory") -> "SyncNetLiteScorer":
        """Wrap a model held in memory (training's dev evaluation)."""
        self = cls.__new__(cls)
        self.backend, self.meta, self.path, self.version = TorchSyncNet(model), {}, None, version
        self.cfg = model.cfg
        self.weights_digest, self.calibration_path, self.calibration = None, None, None
        return self

    @property
    def window_frames(self) -> int:  # the model's window decides the rows of the distance matrix
        return self.cfg.window_frames

    @property
    def audio_window_hops(self) -> int:
        return self.cfg.audio_hops

    @property
    def model(self):
        """The torch model (loaded on first use when inference runs through onnxruntime)."""
        if not isinstance(self.backend, TorchSyncNet):
            from avsync.models.checkpoint import load_checkpoint

            self.backend = TorchSyncNet(load_checkpoint(self.path)[0])
        return self.backend.model

    @property
    def dim(self) -> int:
        return int(self.cfg.embed_dim)

    def embed_visual(self, track: MouthTrack) -> np.ndarray:
        crops = np.asarray(track.crops)
        pos = model_windows(np.asarray(track.times_s, np.float64), len(crops), self.window_frames)
        if not len(pos):
            return np.zeros((0, self.dim), np.float32)
        use_lips = self.cfg.use_lips
        if use_lips:
            lips = np.asarray(track.lips, np.float32)
            if lips.ndim != 3 or lips.shape[1] != self.cfg.n_lip_points:
                raise ValueError(f"this model needs {self.cfg.n_lip_points} lip landmarks per frame, "
                                 f"got shape {lips.shape}")
            opening = np.asarray(track.opening, np.float32)
        out = []
        for lo in range(0, len(pos), self.visual_batch):
            at = pos[lo:lo + self.visual_batch]
            if use_lips:
                out.append(self.backend.visual(_take(crops, at, np.uint8), _take(lips, at), _take(opening, at)))
            else:
                out.append(self.backend.visual(_take(crops, at, np.uint8)))
            release_free_memory()  # else the heap keeps growing with the number of batches
        return np.concatenate(out).astype(np.float32, copy=False)

    def embed_audio(self, audio: AudioFeatures, starts: np.ndarray) -> np.ndarray:
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        out = np.zeros((len(starts), self.dim), np.float32)
        if not len(starts):
            return out
        if audio.mfcc.ndim != 2 or audio.mfcc.shape[1] != MFCC_ROWS:
            raise ValueError(f"syncnet_lite needs (T, {MFCC_ROWS}) MFCC, got {audio.mfcc.shape}")
        hops = self.audio_window_hops
        if starts.min() < 0 or starts.max() + hops > len(audio.mfcc):
            raise ValueError("audio window outside the recording")
        mfcc = normalize_mfcc(audio.mfcc)
        for rows, where in _segments(starts):
            lo = int(rows[0])
            fmap = self.backend.audio_trunk(np.ascontiguousarray(mfcc[lo:int(rows[-1]) + hops][None]))
            steps = (rows - lo) // AUDIO_STRIDE
            out[where] = self.backend.audio_head(gather_windows(fmap, steps, self.cfg.trunk_steps))
        return out


def model_windows(times_s: np.ndarray, n: int, frames: int) -> np.ndarray:
    """(n_windows, frames) frame positions of the visual window anchored at each frame, its frames
    ``FRAME_S`` apart as in training: whole frame numbers at 25 fps, interpolated ones at other
    rates. Windows that would run past the last frame are left out, as training leaves them out."""
    if n < frames:
        return np.zeros((0, frames))
    count = window_count(times_s[:n], frames)
    if np.all(np.abs(np.diff(times_s[:n]) - FRAME_S) < 1e-3):
        return np.arange(count)[:, None] + np.arange(frames)
    return window_positions(times_s[:n], times_s[:count], frames)


def _take(values: np.ndarray, pos: np.ndarray, dtype=np.float32) -> np.ndarray:
    """``values`` at the (b, window frames) positions ``pos``: indexed when they are whole frames,
    linearly interpolated otherwise."""
    if np.issubdtype(pos.dtype, np.integer):
        return values[pos]
    rows = interp_rows(values, pos.ravel()).reshape(pos.shape + values.shape[1:])
    return np.round(rows).astype(dtype) if dtype == np.uint8 else rows.astype(dtype)


def _segments(starts: np.ndarray):
    """Yield (sorted start rows, their positions in ``starts``) sharing one 4-row grid and one pass."""
    order = np.argsort(starts, kind="stable")
    for phase in range(AUDIO_STRIDE):
        sel = order[starts[order] % AUDIO_STRIDE == phase]
        if not len(sel):
            continue
        rows = starts[sel]
        steps = rows // AUDIO_STRIDE
        cut = np.flatnonzero(np.diff(steps) > _MAX_GAP_STEPS) + 1
        for part_rows, part_sel in zip(np.split(rows, cut), np.split(sel, cut)):
            part_steps = part_rows // AUDIO_STRIDE
            first = 0
            while first < len(part_rows):
                last = np.searchsorted(part_steps, part_steps[first] + _MAX_SEGMENT_STEPS, side="left")
                yield part_rows[first:last], part_sel[first:last]
                first = last
