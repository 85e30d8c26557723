"""Warps cut straight from the YUV planes: what the front-end sees of most frames."""
import av
import cv2
import numpy as np
import pytest

from avsync.media.video import DecodedFrame, VideoReader


def _similarity(scale, angle, centre, size):
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    return np.array([[c, -s, size[0] / 2 - c * centre[0] + s * centre[1]],
                     [s, c, size[1] / 2 - s * centre[0] - c * centre[1]]])


@pytest.fixture(scope="module")
def decoded(synthetic_clips):
    frames = [frame for _, _, frame in VideoReader(str(synthetic_clips["matched"])).frames(0, 4)]
    assert frames[0]._frame.format.name == "yuv420p"
    return frames


def _matrices(shape):
    h, w = shape[:2]
    return [_similarity(192 / (0.6 * h), 0.0, (w / 2, h / 2), (192, 192)),
            _similarity(192 / (0.3 * h), 0.2, (0.4 * w, 0.6 * h), (192, 192)),
            _similarity(192 / (1.5 * h), -0.1, (0.1 * w, 0.1 * h), (192, 192))]  # half outside the frame


def test_rgb_warped_from_the_planes_matches_warping_the_rgb_frame(decoded):
    for frame in decoded:
        for matrix in _matrices(frame.shape):
            planes = frame.warp_rgb(matrix, (192, 192))
            whole = cv2.warpAffine(frame.rgb, matrix, (192, 192), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_CONSTANT)
            assert planes.shape == whole.shape and planes.dtype == np.uint8
            error = np.abs(planes.astype(int) - whole)
            assert error.mean() < 2.0 and np.percentile(error, 99) <= 12


def test_grey_warped_from_the_luma_plane_is_within_two_levels_of_warping_the_grey_frame(decoded):
    for frame in decoded:
        for matrix in _matrices(frame.shape):
            planes = frame.warp_gray(matrix, (96, 48), cv2.BORDER_REPLICATE)
            whole = cv2.warpAffine(frame.gray, matrix, (96, 48), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)
            assert planes.shape == (48, 96)
            error = np.abs(planes.astype(int) - whole)
            # rounding once before the range stretch instead of after it; 2 where black is clipped
            assert error.max() <= 2 and error.mean() < 0.5


@pytest.mark.parametrize("fmt", ["rgb24", "yuvj420p"])
def test_other_formats_warp_the_whole_converted_frame(fmt):
    rgb = np.random.default_rng(0).integers(0, 256, (64, 96, 3), np.uint8)
    frame = DecodedFrame(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=fmt))
    matrix = _similarity(1.3, 0.1, (40, 30), (32, 32))
    expected = cv2.warpAffine(frame.rgb, matrix, (32, 32), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    assert np.array_equal(frame.warp_rgb(matrix, (32, 32)), expected)


def test_only_the_face_detector_converts_whole_frames(synthetic_clips, monkeypatch):
    import dataclasses

    from avsync.config import Settings
    from avsync.frontend import tracker as tracker_module
    from avsync.frontend.segments import track_range

    converted, detected = [], []
    rgb, detect = DecodedFrame.rgb, tracker_module.FaceTracker.detect
    monkeypatch.setattr(DecodedFrame, "rgb", property(lambda self: converted.append(1) or rgb.fget(self)))
    monkeypatch.setattr(tracker_module.FaceTracker, "detect",
                        lambda self, frame: detected.append(1) or detect(self, frame))
    cfg = Settings.load().frontend
    assert not cfg.mouth_crop_from_rgb
    n = len(VideoReader(str(synthetic_clips["matched"])))
    tracks, _, _ = track_range(str(synthetic_clips["matched"]), 1, dataclasses.replace(cfg, decode_threads=1), 0, n)
    assert len(tracks) == 1 and tracks[0].valid.all()
    assert 0 < len(converted) <= len(detected) < n
