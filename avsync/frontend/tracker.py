"""Face and mouth tracking with MediaPipe 0.10.14's bundled models.

The full-range detector finds faces (FaceMesh's own short-range detector misses small faces)
and runs every ``detect_every`` frames or whenever a track is missing. Each track owns a
FaceMesh in tracking mode, fed a square crop around its previous landmark box: FaceMesh on
the full frame gives wrong lip points.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import cv2
import numpy as np

from avsync.config import FrontendConfig
from avsync.frontend.landmarks import LIPS, aligned_mouth_crop, mouth_opening, mouth_transform
from avsync.frontend.track import MouthTrack

def iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


@dataclass
class _Live:
    track_id: int
    mesh: object
    box: np.ndarray
    misses: int = 0
    rows: dict = field(default_factory=lambda: {k: [] for k in ("frames", "times", "boxes", "lips", "opening", "crops", "valid", "affine")})


class FaceTracker:
    def __init__(self, cfg: FrontendConfig):
        import mediapipe as mp

        self.cfg = cfg
        self._mp = mp
        self._detector = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=cfg.min_detection_confidence)
        self._live: list[_Live] = []
        self._done: list[MouthTrack] = []
        self._next_id = 0
        self._since_detect = cfg.detect_every

    # -- detection -----------------------------------------------------------------
    def detect(self, frame: np.ndarray) -> list[np.ndarray]:
        h, w = frame.shape[:2]
        result = self._detector.process(frame)
        boxes = []
        for det in result.detections or []:
            rel = det.location_data.relative_bounding_box
            box = np.array([rel.xmin * w, rel.ymin * h, (rel.xmin + rel.width) * w, (rel.ymin + rel.height) * h])
            if min(box[2] - box[0], box[3] - box[1]) >= self.cfg.min_face_px:
                boxes.append(box)
        return boxes

    def _associate(self, frame: np.ndarray) -> None:
        for box in self.detect(frame):
            best = max(self._live, key=lambda t: iou(t.box, box), default=None)
            if best is not None and iou(best.box, box) >= self.cfg.track_iou:
                if best.misses:
                    best.box = box  # re-find a lost face
                continue
            if len(self._live) < self.cfg.max_faces:
                self._live.append(_Live(self._next_id, self._new_mesh(), box))
                self._next_id += 1

    def _new_mesh(self):
        return self._mp.solutions.face_mesh.FaceMesh(
            static_image_mode=False, max_num_faces=1, refine_landmarks=True,
            min_detection_confidence=self.cfg.min_detection_confidence, min_tracking_confidence=0.5)

    # -- per frame -------------------------------------------------------------------
    def process(self, frame: np.ndarray, frame_no: int, time_s: float) -> None:
        self._since_detect += 1
        if self._since_detect >= self.cfg.detect_every or not self._live or any(t.misses for t in self._live):
            self._associate(frame)
            self._since_detect = 0
        for track in list(self._live):
            self._step(track, frame, frame_no, time_s)
        self._drop_duplicates()

    def _step(self, track: _Live, frame: np.ndarray, frame_no: int, time_s: float) -> None:
        cfg = self.cfg
        size = cfg.mesh_crop_size
        cx, cy = (track.box[0] + track.box[2]) / 2, (track.box[1] + track.box[3]) / 2
        side = cfg.mesh_crop_scale * max(track.box[2] - track.box[0], track.box[3] - track.box[1])
        scale = size / max(side, 1.0)
        to_crop = np.array([[scale, 0, size / 2 - scale * cx], [0, scale, size / 2 - scale * cy]])
        crop = cv2.warpAffine(frame, to_crop, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        result = track.mesh.process(crop)
        rows = track.rows
        if not result.multi_face_landmarks:
            track.misses += 1
            if track.misses > cfg.max_gap_frames:
                self._retire(track)
            else:
                self._append(rows, frame_no, time_s, track.box, None, np.nan, None, False, None)
            return
        marks = result.multi_face_landmarks[0].landmark
        pts = np.array([(m.x * size, m.y * size) for m in marks], dtype=np.float32)
        pts = (pts - to_crop[:, 2]) / scale
        track.box = np.array([*pts.min(axis=0), *pts.max(axis=0)], dtype=np.float64)
        track.misses = 0
        matrix = mouth_transform(pts, cfg.mouth_crop_width, cfg.mouth_crop_height, cfg.mouth_crop_width_per_eye_dist,
                                 cfg.mouth_crop_shift_y)
        mouth = aligned_mouth_crop(frame, matrix, cfg.mouth_crop_width, cfg.mouth_crop_height)
        self._append(rows, frame_no, time_s, track.box.copy(), pts[LIPS], mouth_opening(pts), mouth, True,
                     matrix.astype(np.float32))

    @staticmethod
    def _append(rows, frame_no, time_s, box, lips, opening, crop, valid, affine) -> None:
        for key, value in zip(("frames", "times", "boxes", "lips", "opening", "crops", "valid", "affine"),
                              (frame_no, time_s, box, lips, opening, crop, valid, affine)):
            rows[key].append(value)

    def _drop_duplicates(self) -> None:
        keep: list[_Live] = []
        for track in sorted(self._live, key=lambda t: t.track_id):
            if any(iou(track.box, other.box) > 0.5 for other in keep):
                self._retire(track)
            else:
                keep.append(track)

    def _retire(self, track: _Live) -> None:
        if track in self._live:
            self._live.remove(track)
        built = build_track(track.track_id, track.rows, self.cfg)
        if built is not None:
            self._done.append(built)
        track.mesh.close()

    def finish(self) -> list[MouthTrack]:
        for track in list(self._live):
            self._retire(track)
        self._detector.close()
        return sorted(self._done, key=lambda t: (t.frame_start, t.track_id))


def build_track(track_id: int, rows: dict, cfg: FrontendConfig) -> MouthTrack | None:
    """Trim trailing misses and fill missed frames from their neighbours."""
    valid = np.array(rows["valid"], bool)
    if valid.sum() < cfg.min_track_frames:
        return None
    end = int(np.flatnonzero(valid)[-1]) + 1
    valid = valid[:end]
    good = np.flatnonzero(valid)
    nearest = good[np.clip(np.searchsorted(good, np.arange(end)), 0, len(good) - 1)]
    n_lips = len(LIPS)
    lips = np.stack([rows["lips"][i] if valid[i] else np.full((n_lips, 2), np.nan, np.float32) for i in range(end)])
    opening = np.array(rows["opening"][:end], dtype=np.float32)
    idx = np.arange(end)
    opening = np.interp(idx, good, opening[good]).astype(np.float32)
    crops = np.stack([rows["crops"][j] for j in nearest])
    return MouthTrack(
        track_id=track_id,
        frames=np.array(rows["frames"][:end], dtype=np.int64),
        times_s=np.array(rows["times"][:end], dtype=np.float64),
        boxes=np.stack(rows["boxes"][:end]).astype(np.float32),
        lips=lips.astype(np.float32),
        opening=opening,
        crops=crops,
        valid=valid,
        mouth_affine=np.stack([rows["affine"][j] for j in nearest]),
    )
