"""What the front-end produces for one face: per-frame boxes, lips, mouth opening and crops."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MouthTrack:
    track_id: int
    frames: np.ndarray  # analysis-frame numbers covered (consecutive)
    times_s: np.ndarray  # video-clock time of each frame
    boxes: np.ndarray  # (n, 4) face box x0, y0, x1, y1 in pixels
    lips: np.ndarray  # (n, L, 2) lip landmarks in pixels (NaN where lost)
    opening: np.ndarray  # (n,) inner-lip gap / mouth width (NaN where lost)
    crops: np.ndarray  # (n, H, W) uint8 aligned grayscale mouth crops
    valid: np.ndarray  # (n,) bool: landmarks measured on this frame (else interpolated)
    mouth_affine: np.ndarray | None = None  # (n, 2, 3) frame pixels -> mouth-crop pixels
    face_crops: np.ndarray | None = None  # (n, S, S, 3) uint8 RGB, only when a scorer asks for them

    def __len__(self) -> int:
        return len(self.frames)

    def lips_in_crop(self) -> np.ndarray:
        """Lip landmarks in mouth-crop coordinates scaled to 0..1 (NaN where lost)."""
        ones = np.ones(self.lips.shape[:2] + (1,), np.float32)
        mapped = np.einsum("nij,nkj->nki", self.mouth_affine, np.concatenate([self.lips, ones], axis=2))
        height, width = self.crops.shape[1:3]
        return (mapped / np.array([width, height], np.float32)).astype(np.float32)

    @property
    def frame_start(self) -> int:
        return int(self.frames[0])

    @property
    def frame_end(self) -> int:
        return int(self.frames[-1])
