"""Face and mouth tracking with MediaPipe 0.10.14's bundled models.

The full-range detector finds faces (FaceMesh's own short-range detector misses small faces)
and runs every ``detect_every`` frames or whenever a track is missing. Each track owns a
FaceMesh in tracking mode, fed a square crop around its previous landmark box: FaceMesh on
the full frame gives wrong lip points.

FaceMesh runs on key frames only: every ``landmark_every`` frames, on the frame after a miss,
and whenever the flow between key frames is in doubt (forward-backward error) or the mouth
opening has moved far from the last key frame's. In between, the lip and eye-corner points are
carried by pyramidal Lucas-Kanade optical flow on the grey frame, and the mouth transform is
recomputed from the carried points, so every frame still gets its own lips, opening and crop.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import cv2
import numpy as np

from avsync.config import FrontendConfig
from avsync.frontend.landmarks import (EYE_OUTER_LEFT, EYE_OUTER_RIGHT, LIPS, aligned_mouth_crop, mouth_opening,
                                       mouth_transform)
from avsync.frontend.mediapipe_solutions import first_face_landmarks, graph_output
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
    points: np.ndarray | None = None  # (478, 2) last landmarks; only FLOWED rows are carried between key frames
    key_opening: float = np.nan  # mouth opening at the last key frame
    since_key: int = 0
    to_roi: np.ndarray | None = None  # frame pixels -> the flow's square, fixed between key frames
    roi: np.ndarray | None = None  # the previous frame's square
    key_frame_no: int = -1
    pending: list = field(default_factory=list)  # (frame_no, time_s, frame) held until the next key frame
    rows: dict = field(default_factory=lambda: {k: [] for k in ("frames", "times", "boxes", "lips", "opening", "crops", "valid", "affine")})


# Landmarks carried between key frames: the lips (the model's input) and the outer eye corners
# (the crop's scale).
FLOWED = np.array(LIPS + [EYE_OUTER_LEFT, EYE_OUTER_RIGHT])


class FaceTracker:
    def __init__(self, cfg: FrontendConfig):
        from avsync.frontend.mediapipe_solutions import face_detection, face_mesh

        self.cfg = cfg
        self._face_mesh = face_mesh()
        self._detector = face_detection().FaceDetection(
            model_selection=1, min_detection_confidence=cfg.min_detection_confidence)
        self._live: list[_Live] = []
        self._done: list[MouthTrack] = []
        self._next_id = 0
        self._since_detect = cfg.detect_every

    # -- detection -----------------------------------------------------------------
    def detect(self, frame) -> list[np.ndarray]:
        h, w = frame.shape[:2]
        boxes = []
        for det in graph_output(self._detector, _rgb(frame), "detections") or []:
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
        return self._face_mesh.FaceMesh(
            static_image_mode=False, max_num_faces=1, refine_landmarks=self.cfg.mesh_refine,
            min_detection_confidence=self.cfg.min_detection_confidence, min_tracking_confidence=0.5)

    # -- per frame -------------------------------------------------------------------
    def process(self, frame, frame_no: int, time_s: float) -> None:
        """``frame``: an (H, W, 3) RGB array or a DecodedFrame (grey now, RGB when needed)."""
        self._since_detect += 1
        if self._since_detect >= self.cfg.detect_every or not self._live or any(t.misses for t in self._live):
            self._associate(frame)
            self._since_detect = 0
        for track in list(self._live):
            self._step(track, frame, frame_no, time_s)
        self._drop_duplicates()

    def _step(self, track: _Live, frame, frame_no: int, time_s: float) -> None:
        if self.cfg.between_key_frames == "interpolate":
            self._step_interpolated(track, frame, frame_no, time_s)
            return
        cfg = self.cfg
        points = None
        if track.points is not None and not track.misses and track.since_key + 1 < cfg.landmark_every:
            points = self._flow(track, frame)
        if points is None:
            points = self._landmarks(track, frame)
            if points is None:
                track.roi = None
                self._lost(track, frame_no, time_s)
                return
            track.since_key, track.key_opening = 0, mouth_opening(points)
            if cfg.landmark_every > 1:
                self._start_flow(track, frame, points)
        else:
            track.since_key += 1
        track.points, track.misses = points, 0
        self._append_found(track, frame, frame_no, time_s, points)

    def _lost(self, track: _Live, frame_no: int, time_s: float) -> None:
        """FaceMesh found no face: end the track after ``max_gap_frames`` misses, else record a gap."""
        track.misses += 1
        if track.misses > self.cfg.max_gap_frames:
            self._retire(track)
        else:
            self._append(track.rows, frame_no, time_s, track.box, None, np.nan, None, False, None)

    def _append_found(self, track: _Live, frame, frame_no: int, time_s: float, points: np.ndarray,
                      box: np.ndarray | None = None) -> None:
        cfg = self.cfg
        matrix = mouth_transform(points, cfg.mouth_crop_width, cfg.mouth_crop_height, cfg.mouth_crop_width_per_eye_dist,
                                 cfg.mouth_crop_shift_y)
        if cfg.mouth_crop_from_rgb:
            mouth = aligned_mouth_crop(_rgb(frame), matrix, cfg.mouth_crop_width, cfg.mouth_crop_height)
        else:
            mouth = _warp_gray(frame, matrix, (cfg.mouth_crop_width, cfg.mouth_crop_height))
        box = track.box.copy() if box is None else box
        self._append(track.rows, frame_no, time_s, box, points[LIPS].copy(), mouth_opening(points), mouth, True,
                     matrix.astype(np.float32))

    # -- key frames with interpolated landmarks between them ------------------------------
    def _step_interpolated(self, track: _Live, frame, frame_no: int, time_s: float) -> None:
        """FaceMesh every ``landmark_every`` frames; the frames between wait for the next key frame
        and take landmarks interpolated between the two (no optical flow, no extra key frames)."""
        cfg = self.cfg
        if track.points is not None and not track.misses and len(track.pending) + 1 < cfg.landmark_every:
            track.pending.append((frame_no, time_s, frame))
            return
        points = self._landmarks(track, frame)
        self._flush_pending(track, points, frame_no)
        if points is None:
            self._lost(track, frame_no, time_s)
            return
        track.points, track.misses, track.key_frame_no = points, 0, frame_no
        self._append_found(track, frame, frame_no, time_s, points)

    def _flush_pending(self, track: _Live, points: np.ndarray | None, frame_no: int) -> None:
        """Crops for the held frames, their landmarks interpolated between the last key frame and
        ``points`` at ``frame_no``; held at the last key frame's when the face was lost (None)."""
        held, track.pending = track.pending, []
        for held_no, held_time, frame in held:
            if points is None:
                found = track.points
            else:
                a = (held_no - track.key_frame_no) / (frame_no - track.key_frame_no)
                found = ((1 - a) * track.points + a * points).astype(np.float32)
            self._append_found(track, frame, held_no, held_time, found, landmark_box(found))

    def _landmarks(self, track: _Live, frame) -> np.ndarray | None:
        """FaceMesh on a square crop around the track's box: (478, 2) frame pixels, or None."""
        size = self.cfg.mesh_crop_size
        cx, cy = (track.box[0] + track.box[2]) / 2, (track.box[1] + track.box[3]) / 2
        side = self.cfg.mesh_crop_scale * max(track.box[2] - track.box[0], track.box[3] - track.box[1])
        scale = size / max(side, 1.0)
        to_crop = np.array([[scale, 0, size / 2 - scale * cx], [0, scale, size / 2 - scale * cy]])
        crop = _warp_rgb(frame, to_crop, (size, size))
        marks = first_face_landmarks(track.mesh, crop)
        if marks is None:
            return None
        pts = (marks.astype(np.float64) * size).astype(np.float32)
        pts = (pts - to_crop[:, 2]) / scale
        track.box = landmark_box(pts)
        return pts

    def _flow(self, track: _Live, frame) -> np.ndarray | None:
        """The last frame's landmarks carried to this one by optical flow, or None when in doubt.

        The flow runs on a small square around lips and eyes, resampled to ``flow_roi_px`` with the
        key frame's similarity transform, so its cost does not grow with the video's resolution."""
        cfg = self.cfg
        if track.roi is None:
            return None
        size = cfg.flow_roi_px
        roi = _warp_gray(frame, track.to_roi, (size, size))
        before = _apply(track.to_roi, track.points[FLOWED]).reshape(-1, 1, 2)
        params = dict(winSize=(cfg.flow_window_px, cfg.flow_window_px), maxLevel=cfg.flow_pyramid_levels,
                      criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
        after, ok, _ = cv2.calcOpticalFlowPyrLK(track.roi, roi, before, None, **params)
        if after is None or not ok.all():
            return None
        back, ok_back, _ = cv2.calcOpticalFlowPyrLK(roi, track.roi, after, None, **params)
        if back is None or not ok_back.all():
            return None
        error = (back - before).reshape(-1, 2)
        if np.median(np.hypot(error[:, 0], error[:, 1])) > cfg.flow_max_error_px:
            return None
        points = track.points.copy()
        # the square is a scaled, shifted copy of the frame: back to frame pixels without a matrix inverse
        points[FLOWED] = (after.reshape(-1, 2) - track.to_roi[:, 2]) / track.to_roi[0, 0]
        if abs(mouth_opening(points) - track.key_opening) > cfg.key_opening_change:
            return None
        track.box = track.box + np.tile(np.median(points[FLOWED] - track.points[FLOWED], axis=0), 2)
        track.roi = roi
        return points

    def _start_flow(self, track: _Live, frame, points: np.ndarray) -> None:
        """At a key frame: the square the flow will run on until the next one."""
        size = self.cfg.flow_roi_px
        eye_dist = float(np.linalg.norm(points[EYE_OUTER_RIGHT] - points[EYE_OUTER_LEFT]))
        scale = size / max(self.cfg.flow_roi_per_eye_dist * eye_dist, 1.0)
        centre = points[FLOWED].mean(axis=0)
        track.to_roi = np.array([[scale, 0, size / 2 - scale * centre[0]], [0, scale, size / 2 - scale * centre[1]]])
        track.roi = _warp_gray(frame, track.to_roi, (size, size))

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
        self._flush_pending(track, None, -1)
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


def landmark_box(points: np.ndarray) -> np.ndarray:
    """[x0, y0, x1, y1] around the landmarks."""
    return np.array([*points.min(axis=0), *points.max(axis=0)], dtype=np.float64)


def _apply(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    return (points @ affine[:, :2].T + affine[:, 2]).astype(np.float32)


def _rgb(frame) -> np.ndarray:
    return frame if isinstance(frame, np.ndarray) else frame.rgb


def _warp_rgb(frame, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A bilinear warp of the RGB frame, black outside it (FaceMesh's input)."""
    if isinstance(frame, np.ndarray):
        return cv2.warpAffine(frame, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return frame.warp_rgb(matrix, size)


def _warp_gray(frame, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A bilinear warp of the grey frame, edges repeated (the flow's square, the mouth crop)."""
    if not isinstance(frame, np.ndarray):
        return frame.warp_gray(matrix, size, cv2.BORDER_REPLICATE)
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
    return cv2.warpAffine(gray, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


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
