"""MediaPipe FaceMesh landmark indices used for the mouth, and per-frame mouth geometry."""
from __future__ import annotations

import cv2
import numpy as np

OUTER_LIPS = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185]
INNER_LIPS = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191]
LIPS = OUTER_LIPS + INNER_LIPS
MOUTH_LEFT, MOUTH_RIGHT = 61, 291
EYE_OUTER_LEFT, EYE_OUTER_RIGHT = 33, 263
# Inner-lip (upper, lower) pairs across the mouth, for the opening measure.
INNER_PAIRS = [(82, 87), (13, 14), (312, 317)]
_UPPER, _LOWER = (list(side) for side in zip(*INNER_PAIRS))


def mouth_opening(points: np.ndarray) -> float:
    """Mean inner-lip gap divided by mouth width: scale-free, ~0 closed, ~0.3-0.6 wide open."""
    (lx, ly), (rx, ry) = points[MOUTH_LEFT], points[MOUTH_RIGHT]
    width = float(np.hypot(rx - lx, ry - ly))
    gap = points[_UPPER] - points[_LOWER]
    return float(np.hypot(gap[:, 0], gap[:, 1]).mean() / max(width, 1e-6))


def mouth_transform(points: np.ndarray, out_w: int, out_h: int, width_per_eye: float, shift_y: float = 0.0) -> np.ndarray:
    """Affine map from frame pixels to the aligned mouth crop.

    Rotation comes from the mouth corners; scale from the outer eye corners, which do not
    stretch with the lips, so the crop keeps mouth shape changes (a smile widens the mouth).
    """
    left, right = points[MOUTH_LEFT], points[MOUTH_RIGHT]
    angle = np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0]))
    eye_dist = np.linalg.norm(points[EYE_OUTER_RIGHT] - points[EYE_OUTER_LEFT])
    scale = out_w / max(eye_dist * width_per_eye, 1e-6)
    centre = points[OUTER_LIPS].mean(axis=0)
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(angle), float(scale))
    # shift_y > 0 moves the crop window down the face by that fraction of its height
    matrix[:, 2] += (out_w / 2 - centre[0], out_h / 2 - centre[1] - shift_y * out_h)
    return matrix


def aligned_mouth_crop(frame: np.ndarray, matrix: np.ndarray, out_w: int, out_h: int) -> np.ndarray:
    """Grey (out_h, out_w) crop from a grey or RGB frame."""
    crop = cv2.warpAffine(frame, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
