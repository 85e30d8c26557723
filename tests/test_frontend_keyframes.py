"""FaceMesh on key frames, optical flow between: the same MouthTrack, close lips, fewer FaceMesh runs."""
import dataclasses

import cv2
import numpy as np
import pytest

from avsync.config import Settings
from avsync.frontend import tracker as tracker_module
from avsync.frontend.segments import track_range
from avsync.media.video import VideoReader


def _track(path, monkeypatch, every, **settings):
    calls = []
    landmarks = tracker_module.FaceTracker._landmarks

    def counted(self, track, frame):
        calls.append(1)
        return landmarks(self, track, frame)

    monkeypatch.setattr(tracker_module.FaceTracker, "_landmarks", counted)
    cfg = dataclasses.replace(Settings.load().frontend, landmark_every=every, **settings)
    n = len(VideoReader(str(path)))
    tracks, _, _ = track_range(str(path), 1, cfg, 0, n)
    assert len(tracks) == 1
    return tracks[0], len(calls), n


@pytest.fixture(scope="module")
def every_frame_and_keyframes(synthetic_clips):
    with pytest.MonkeyPatch.context() as mp:
        dense = _track(synthetic_clips["matched"], mp, 1)
    with pytest.MonkeyPatch.context() as mp:
        sparse = _track(synthetic_clips["matched"], mp, 3)
    return dense, sparse


def test_keyframes_run_facemesh_less_often(every_frame_and_keyframes):
    (_, dense_calls, n), (_, sparse_calls, _) = every_frame_and_keyframes
    assert dense_calls >= n - 2
    assert sparse_calls <= 0.6 * n


def test_keyframe_track_has_the_same_format_and_close_lips(every_frame_and_keyframes):
    (dense, _, _), (sparse, _, _) = every_frame_and_keyframes
    for field in dataclasses.fields(dense):
        a, b = getattr(dense, field.name), getattr(sparse, field.name)
        if isinstance(a, np.ndarray):
            assert a.shape == b.shape and a.dtype == b.dtype, field.name
    assert np.array_equal(dense.frames, sparse.frames) and sparse.valid.all()
    width = np.linalg.norm(dense.lips[:, 10] - dense.lips[:, 0], axis=1).mean()  # mouth corners 61 and 291
    error = np.linalg.norm(dense.lips - sparse.lips, axis=2).mean()
    assert error < 0.05 * width
    assert np.corrcoef(dense.opening, sparse.opening)[0, 1] > 0.8
    assert np.abs(dense.crops.astype(float) - sparse.crops).mean() < 12


def test_interpolated_key_frames_run_facemesh_on_every_nth_frame_and_keep_lips_close(synthetic_clips,
                                                                                     every_frame_and_keyframes):
    (dense, _, n), _ = every_frame_and_keyframes
    with pytest.MonkeyPatch.context() as mp:
        track, calls, _ = _track(synthetic_clips["matched"], mp, 3, between_key_frames="interpolate")
    assert calls <= n // 3 + 2  # no optical flow and no extra key frames: every 3rd frame
    assert np.array_equal(dense.frames, track.frames) and track.valid.all()
    for field in ("lips", "crops", "boxes", "mouth_affine", "opening"):
        assert getattr(track, field).shape == getattr(dense, field).shape, field
    width = np.linalg.norm(dense.lips[:, 10] - dense.lips[:, 0], axis=1).mean()
    assert np.linalg.norm(dense.lips - track.lips, axis=2).mean() < 0.05 * width
    # the astronaut's mouth moves faster than three frames follow: 0.61 here, flow's key frames 0.82
    assert np.corrcoef(dense.opening, track.opening)[0, 1] > 0.5
    # a frame between key frames takes landmarks on the straight line between them
    key, between, next_key = track.lips[3], track.lips[4], track.lips[6]
    assert np.allclose(between, (2 * key + next_key) / 3, atol=1e-3)


def test_between_key_frames_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="between_key_frames"):
        dataclasses.replace(Settings.load().frontend, between_key_frames="skip")


def test_grey_from_the_luma_plane_matches_grey_from_rgb(synthetic_clips):
    reader = VideoReader(str(synthetic_clips["matched"]))
    for _, _, frame in reader.frames(0, 5):
        from_rgb = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY)
        assert frame.gray.shape == from_rgb.shape and frame.gray.dtype == np.uint8
        assert np.abs(frame.gray.astype(float) - from_rgb).mean() < 2.0


def test_tracking_runs_opencv_on_one_thread_and_gives_the_pool_back(synthetic_clips, monkeypatch):
    seen = []
    process = tracker_module.FaceTracker.process

    def recorded(self, frame, frame_no, time_s):
        seen.append(cv2.getNumThreads())
        return process(self, frame, frame_no, time_s)

    monkeypatch.setattr(tracker_module.FaceTracker, "process", recorded)
    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        _track(synthetic_clips["matched"], monkeypatch, 3)
        assert cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(before)
    assert seen and set(seen) == {1}
