"""Scorer on a SyncNet-lite checkpoint written by ``avsync train`` (default: the shipped weights)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from avsync.features.audio import AudioFeatures
from avsync.frontend.track import MouthTrack
from avsync.memory import release_free_memory
from avsync.models.checkpoint import CheckpointError, load_checkpoint, sidecar
from avsync.models.syncnet_lite import AUDIO_HOPS, AUDIO_STRIDE, MFCC_ROWS, WINDOW_FRAMES, normalize_mfcc
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
    audio_window_hops = AUDIO_HOPS
    visual_batch = 256

    def __init__(self, path: str | Path | None = None):
        path = Path(path) if path is not None else DEFAULT_WEIGHTS
        if path is DEFAULT_WEIGHTS and not path.exists():
            raise CheckpointError(f"shipped SyncNet-lite weights are missing ({path}); reinstall avsync or pass --model PATH")
        self.model, self.meta = load_checkpoint(path)
        self.path = path
        self.weights_digest = file_digest(path)
        self.version = "sha256:" + self.weights_digest[:16]
        self.calibration_path = sidecar(path)
        self.load_calibration()

    @classmethod
    def from_model(cls, model, version: str = "in-memory") -> "SyncNetLiteScorer":
        """Wrap a model held in memory (training's dev evaluation)."""
        self = cls.__new__(cls)
        self.model, self.meta, self.path, self.version = model, {}, None, version
        self.weights_digest, self.calibration_path, self.calibration = None, None, None
        return self

    @property
    def dim(self) -> int:
        return int(self.model.cfg.embed_dim)

    def embed_visual(self, track: MouthTrack, window: int) -> np.ndarray:
        if window != WINDOW_FRAMES:
            raise ValueError(f"syncnet_lite compares {WINDOW_FRAMES}-frame windows, not {window}")
        crops = np.asarray(track.crops)
        n_windows = len(crops) - window + 1
        if n_windows <= 0:
            return np.zeros((0, self.dim), np.float32)
        use_lips = self.model.cfg.use_lips
        if use_lips:
            lips = np.asarray(track.lips, np.float32)
            if lips.ndim != 3 or lips.shape[1] != self.model.cfg.n_lip_points:
                raise ValueError(f"this model needs {self.model.cfg.n_lip_points} lip landmarks per frame, "
                                 f"got shape {lips.shape}")
            opening = np.asarray(track.opening, np.float32)
        out = []
        with torch.inference_mode():
            for lo in range(0, n_windows, self.visual_batch):
                hi = min(lo + self.visual_batch, n_windows)
                idx = np.arange(lo, hi)[:, None] + np.arange(window)
                c = torch.from_numpy(crops[idx])
                if use_lips:
                    out.append(self.model.embed_visual(c, torch.from_numpy(lips[idx]), torch.from_numpy(opening[idx])))
                else:
                    out.append(self.model.embed_visual(c))
                release_free_memory()  # else the heap keeps growing with the number of batches
        return torch.cat(out).numpy()

    def embed_audio(self, audio: AudioFeatures, starts: np.ndarray) -> np.ndarray:
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        out = np.zeros((len(starts), self.dim), np.float32)
        if not len(starts):
            return out
        if audio.mfcc.ndim != 2 or audio.mfcc.shape[1] != MFCC_ROWS:
            raise ValueError(f"syncnet_lite needs (T, {MFCC_ROWS}) MFCC, got {audio.mfcc.shape}")
        if starts.min() < 0 or starts.max() + AUDIO_HOPS > len(audio.mfcc):
            raise ValueError("audio window outside the recording")
        mfcc = torch.from_numpy(normalize_mfcc(audio.mfcc))
        with torch.inference_mode():
            for rows, where in _segments(starts):
                lo = int(rows[0])
                seg = mfcc[lo:int(rows[-1]) + AUDIO_HOPS][None]
                fmap = self.model.audio.trunk_map(seg)
                steps = torch.from_numpy((rows - lo) // AUDIO_STRIDE)[None]
                emb = self.model._out(self.model.audio.windows(fmap, steps))[0]
                out[where] = emb.numpy()
        return out


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
