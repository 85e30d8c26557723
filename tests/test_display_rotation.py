"""Videos stored turned, with a display matrix that turns them back (as phones store portrait video),
are read upright: whole frames, the warps cut from the planes, and the face front-end's tracks."""
import dataclasses

import av
import cv2
import numpy as np
import pytest

from avsync.config import Settings
from avsync.frontend.segments import track_range
from avsync.media.video import VideoReader

TURNS = {90: 1, 180: 2, -90: 3}  # display rotation (counter-clockwise degrees) -> np.rot90 turns


def _write(path, frames, degrees=0):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt, stream.options = "yuv420p", {"preset": "ultrafast", "crf": "18"}
        if degrees:
            stream.set_display_rotation(degrees)
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")))
        container.mux(stream.encode())
    return path


def _remux(src, dst, degrees):
    """``src``'s video packets unchanged, with a display matrix of ``degrees``."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        stream.set_display_rotation(degrees)
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return dst


@pytest.fixture(scope="module")
def textured(tmp_path_factory):
    """A 96 x 64 clip of grey noise over smooth colour: a warp one pixel off shows, and the 4:2:0
    chroma has nothing finer than it can hold."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:96]
    colour = np.stack([xx * 1.5, yy * 2.0, 140 - xx], axis=-1)
    frames = []
    for _ in range(3):
        grain = cv2.GaussianBlur(rng.integers(0, 120, (64, 96), np.uint8), (3, 3), 0.8)
        frames.append(np.clip(colour + grain[..., None], 0, 255).astype(np.uint8))
    return _write(tmp_path_factory.mktemp("rotation") / "upright.mp4", frames)


def _frames(path):
    return [frame for _, _, frame in VideoReader(str(path)).frames()]


@pytest.mark.parametrize("degrees", sorted(TURNS))
def test_frames_with_a_display_matrix_are_read_upright(textured, tmp_path, degrees):
    turns = TURNS[degrees]
    stored, shown = _frames(textured), _frames(_remux(textured, tmp_path / "turned.mp4", degrees))
    for plain, frame in zip(stored, shown):
        assert frame.shape == np.rot90(plain.rgb, turns).shape
        np.testing.assert_array_equal(frame.gray, np.rot90(plain.gray, turns))
        np.testing.assert_array_equal(frame.rgb, np.rot90(plain.rgb, turns))
        h, w = frame.shape[:2]
        c, s = 1.7 * np.cos(0.3), 1.7 * np.sin(0.3)
        matrix = np.array([[c, -s, 24 - c * 0.4 * w + s * 0.6 * h], [s, c, 24 - s * 0.4 * w - c * 0.6 * h]])
        grey = frame.warp_gray(matrix, (48, 48), cv2.BORDER_REPLICATE)
        whole = cv2.warpAffine(frame.gray, matrix, (48, 48), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        assert np.abs(grey.astype(int) - whole).max() <= 2
        rgb = frame.warp_rgb(matrix, (48, 48))
        whole = cv2.warpAffine(frame.rgb, matrix, (48, 48), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        error = np.abs(rgb.astype(int) - whole)
        assert error.mean() < 2.0 and np.percentile(error, 99) <= 12
    chunk = next(VideoReader(str(tmp_path / "turned.mp4")).chunks())
    np.testing.assert_array_equal(chunk.frames[0], np.rot90(stored[0].rgb, turns))


@pytest.mark.parametrize("degrees", [90, 180])
def test_a_face_stored_turned_is_tracked_as_upright(synthetic_clips, tmp_path, degrees):
    upright = np.concatenate([c.frames for c in VideoReader(str(synthetic_clips["matched"])).chunks()])
    # the pixels turned the other way; the display matrix turns them back
    phone = _write(tmp_path / "phone.mp4", [np.rot90(f, -TURNS[degrees]) for f in upright], degrees=degrees)
    cfg = dataclasses.replace(Settings.load().frontend, decode_threads=1)
    tracks = [track_range(str(p), 1, cfg, 0, len(upright))[0] for p in (synthetic_clips["matched"], phone)]
    assert [len(t) for t in tracks] == [1, 1]
    plain, turned = tracks[0][0], tracks[1][0]
    assert turned.valid.mean() > 0.95
    both = plain.valid & turned.valid & ~np.isnan(plain.opening) & ~np.isnan(turned.opening)
    assert np.corrcoef(plain.opening[both], turned.opening[both])[0, 1] > 0.9
    assert np.abs(plain.crops[both].astype(int) - turned.crops[both]).mean() < 6
