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
    face_crops: np.ndarray | None = None  # (n, S, S, 3) uint8 RGB, only when a scorer asks for them

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def frame_start(self) -> int:
        return int(self.frames[0])

    @property
    def frame_end(self) -> int:
        return int(self.frames[-1])
