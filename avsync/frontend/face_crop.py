"""Face crops with syncnet_python's geometry (``run_pipeline.py``'s ``crop_video``).

From a face box of half-size ``bs = max(w, h) / 2`` centred at (cx, cy), the original takes a
square of side ``2 * bs * (1 + scale)``: horizontally centred on cx, vertically from ``cy - bs``
to ``cy + bs * (1 + 2 * scale)``, i.e. shifted down by ``bs * scale`` towards the mouth. The
frame is first padded by ``int(bs * (1 + 2 * scale))`` pixels of grey 110 on every side, then
the square is resized to 224 x 224 with bilinear interpolation.
"""
from __future__ import annotations

import warnings

import cv2
import numpy as np
from scipy.signal import medfilt

PAD_VALUE = 110  # grey used by the original to pad frames before cropping
SMOOTH_KERNEL = 13  # frames; the original median-filters box centre and size over this span


def syncnet_face_crop(frame_rgb: np.ndarray, box_xyxy: np.ndarray, scale: float = 0.40, size: int = 224) -> np.ndarray:
    """(size, size, 3) uint8 crop of ``frame_rgb`` around ``box_xyxy`` as syncnet_python cuts it.

    Colour order is kept (RGB in, RGB out); the grey padding is the same in every channel.
    """
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    bs = max(x1 - x0, y1 - y0) / 2
    if not np.isfinite(bs) or bs <= 0:
        raise ValueError(f"face box must have positive size, got {tuple(box_xyxy)}")
    pad = int(bs * (1 + 2 * scale))
    # Bounds in the padded frame, truncated with int() exactly where the original truncates.
    my, mx = (y0 + y1) / 2 + pad, (x0 + x1) / 2 + pad
    top, bottom = int(my - bs), int(my + bs * (1 + 2 * scale))
    left, right = int(mx - bs * (1 + scale)), int(mx + bs * (1 + scale))
    face = _window(frame_rgb, top - pad, bottom - pad, left - pad, right - pad)
    return cv2.resize(face, (size, size), interpolation=cv2.INTER_LINEAR)


def _window(frame: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """frame[top:bottom, left:right] with PAD_VALUE wherever the window leaves the frame."""
    h, w = frame.shape[:2]
    out = np.full((bottom - top, right - left) + frame.shape[2:], PAD_VALUE, dtype=frame.dtype)
    sy0, sy1 = max(top, 0), min(bottom, h)
    sx0, sx1 = max(left, 0), min(right, w)
    if sy1 > sy0 and sx1 > sx0:
        out[sy0 - top:sy1 - top, sx0 - left:sx1 - left] = frame[sy0:sy1, sx0:sx1]
    return out


def smooth_face_boxes(boxes_xyxy: np.ndarray, kernel: int = SMOOTH_KERNEL) -> np.ndarray:
    """Median-smoothed square boxes, as the original smooths a whole track before cropping.

    Centre x, centre y and half-size ``max(w, h) / 2`` are each filtered with
    ``scipy.signal.medfilt`` (zero-padded at the ends, as in the original, which pulls the
    first and last ``kernel // 2`` values towards the smaller ones). Returns (n, 4) boxes
    that ``syncnet_face_crop`` turns into the same crops the original would cut.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    if not len(boxes):
        return boxes
    half = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) / 2
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    with warnings.catch_warnings():  # medfilt warns when the track is shorter than the kernel
        warnings.simplefilter("ignore")
        half, cx, cy = (medfilt(v, kernel_size=kernel) for v in (half, cx, cy))
    return np.stack([cx - half, cy - half, cx + half, cy + half], axis=1)


def scale_box(box_xyxy: np.ndarray, factor: float = 1.0, shift_y: float = 0.0) -> np.ndarray:
    """The box grown by ``factor`` about its centre and moved down by ``shift_y`` box heights.

    Used to mimic another detector's box convention (e.g. S3FD's) from the boxes found here.
    """
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + shift_y * (y1 - y0)
    hw, hh = factor * (x1 - x0) / 2, factor * (y1 - y0) / 2
    return np.array([cx - hw, cy - hh, cx + hw, cy + hh])
