"""Scorer on syncnet_python's SyncNet weights, fed the way the original feeds them.

- Visual: 5-frame stacks of 224 x 224 face crops cut with the original's geometry
  (``avsync.frontend.face_crop``), in BGR order because the original reads frames with
  ``cv2.imread``, as float 0..255 with no mean or scale normalisation.
- Audio: 20 MFCC hops (0.2 s) as a 1 x 13 x 20 patch. The original computes MFCC on int16
  samples while avsync decodes to float in [-1, 1]; with python_speech_features (log filter
  bank energies, c0 replaced by log frame energy, lifter weight 1 on c0) that scaling only
  moves c0, by ln(32768^2), which is added back here.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from avsync.features.audio import AudioFeatures
from avsync.frontend.track import MouthTrack
from avsync.models.syncnet_v2 import CROP_SIZE, FRAMES, MFCC_HOPS, MFCC_ROWS, load_syncnet_v2
from avsync.scoring.base import EmbeddingScorer, file_digest, register_scorer

INT16_C0_OFFSET = 2 * math.log(32768.0)


@register_scorer("syncnet_v2")
class SyncNetV2Scorer(EmbeddingScorer):
    name = "syncnet_v2"
    needs_face_crops = True
    face_crop_size = CROP_SIZE
    face_crop_scale = 0.40
    audio_window_hops = MFCC_HOPS
    window_frames = FRAMES
    mfcc_c0_offset = INT16_C0_OFFSET
    visual_batch = 16
    audio_batch = 64

    def __init__(self, path: str | Path):
        path = Path(path)
        self.model = load_syncnet_v2(path)
        self.path = path
        self.weights_digest = file_digest(path)
        self.version = "sha256:" + self.weights_digest[:16]
        self.calibration_path = path.with_suffix(".json")  # its own sidecar, beside the checkpoint
        self.load_calibration()

    def embed_visual(self, track: MouthTrack) -> np.ndarray:
        crops = track.face_crops
        if crops is None:
            raise ValueError("syncnet_v2 needs 224x224 face crops; the track was built without them")
        if crops.ndim != 4 or crops.shape[1:] != (CROP_SIZE, CROP_SIZE, 3):
            raise ValueError(f"syncnet_v2 needs (n, {CROP_SIZE}, {CROP_SIZE}, 3) face crops, got {crops.shape}")
        n_windows = len(crops) - FRAMES + 1
        if n_windows <= 0:
            return np.zeros((0, self.model.netfclip[-1].out_features), np.float32)
        out = []
        with torch.no_grad():
            for lo in range(0, n_windows, self.visual_batch):
                hi = min(lo + self.visual_batch, n_windows)
                # (n, H, W, RGB) uint8 -> (3, n, H, W) BGR float 0..255, converted per batch to bound memory.
                frames = torch.from_numpy(np.ascontiguousarray(crops[lo:hi + FRAMES - 1, ..., ::-1]))
                frames = frames.permute(3, 0, 1, 2).float()
                batch = torch.stack([frames[:, s:s + FRAMES] for s in range(hi - lo)])
                out.append(self.model.forward_visual(batch))
        return torch.cat(out).numpy()

    def embed_audio(self, audio: AudioFeatures, starts: np.ndarray) -> np.ndarray:
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        dim = self.model.netfcaud[-1].out_features
        if not len(starts):
            return np.zeros((0, dim), np.float32)
        if audio.mfcc.ndim != 2 or audio.mfcc.shape[1] != MFCC_ROWS:
            raise ValueError(f"syncnet_v2 needs {MFCC_ROWS} MFCC coefficients, got shape {audio.mfcc.shape}")
        if starts.min() < 0 or starts.max() + MFCC_HOPS > len(audio):
            raise ValueError("audio window outside the MFCC rows")
        mfcc = audio.mfcc.astype(np.float32)
        mfcc[:, 0] += self.mfcc_c0_offset
        patches = np.lib.stride_tricks.sliding_window_view(mfcc, MFCC_HOPS, axis=0)  # (T-19, 13, 20)
        out = []
        with torch.no_grad():
            for lo in range(0, len(starts), self.audio_batch):
                chunk = patches[starts[lo:lo + self.audio_batch]]
                out.append(self.model.forward_audio(torch.from_numpy(np.ascontiguousarray(chunk))[:, None]))
        return torch.cat(out).numpy()
