"""Videos are read as a player shows them: stored turned with a display matrix that turns them back
(as phones store portrait video), or in pixels that are not square (as SD broadcast stores 16:9).
Whole frames, the warps cut from the planes, and the face front-end's tracks."""
import dataclasses
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from avsync.config import Settings
from avsync.frontend.segments import track_range
from avsync.media.video import VideoReader

TURNS = {90: 1, 180: 2, -90: 3}  # display rotation (counter-clockwise degrees) -> np.rot90 turns


def _write(path, frames, degrees=0, pixel_aspect=Fraction(1)):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt, stream.options = "yuv420p", {"preset": "ultrafast", "crf": "18"}
        stream.codec_context.sample_aspect_ratio = pixel_aspect
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


def _textured(path, pixel_aspect):
    """A 96 x 64 clip of grey noise over smooth colour: a warp a fraction of a pixel off shows,
    and the 4:2:0 chroma has nothing finer than it can hold."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:64, 0:96]
    colour = np.stack([xx * 1.5, yy * 2.0, 140 - xx], axis=-1)
    frames = []
    for _ in range(3):
        grain = cv2.GaussianBlur(rng.integers(0, 120, (64, 96), np.uint8), (3, 3), 0.8)
        frames.append(np.clip(colour + grain[..., None], 0, 255).astype(np.uint8))
    return _write(path, frames, pixel_aspect=pixel_aspect)


def _frames(path):
    return [frame for _, _, frame in VideoReader(str(path)).frames()]


@pytest.mark.parametrize("degrees, pixel_aspect", [(90, 1), (180, 1), (-90, 1), (0, 2), (0, 0.5), (90, 2)])
def test_frames_are_read_as_shown(tmp_path, degrees, pixel_aspect):
    turns = TURNS.get(degrees, 0)
    square = _textured(tmp_path / "stored.mp4", Fraction(pixel_aspect))
    assert VideoReader(str(square)).pixel_aspect == pixel_aspect
    stored = _frames(square)
    tall, wide = (64, 96) if pixel_aspect == 1 else (64, 192) if pixel_aspect == 2 else (128, 96)
    assert stored[0].shape == (tall, wide, 3)
    turned = _remux(square, tmp_path / "turned.mp4", degrees) if degrees else square
    for plain, frame in zip(stored, _frames(turned)):
        assert frame.shape == np.rot90(plain.rgb, turns).shape
        np.testing.assert_array_equal(frame.gray, np.rot90(plain.gray, turns))
        np.testing.assert_array_equal(frame.rgb, np.rot90(plain.rgb, turns))
        h, w = frame.shape[:2]
        c, s = 1.7 * np.cos(0.3), 1.7 * np.sin(0.3)
        matrix = np.array([[c, -s, 24 - c * 0.4 * w + s * 0.6 * h], [s, c, 24 - s * 0.4 * w - c * 0.6 * h]])
        grey = frame.warp_gray(matrix, (48, 48), cv2.BORDER_REPLICATE)
        whole = cv2.warpAffine(frame.gray, matrix, (48, 48), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        error = np.abs(grey.astype(int) - whole)
        if pixel_aspect == 1:
            assert error.max() <= 2
        else:  # one bilinear sampling of the planes against two (the stretch, then the warp): 0.5 on
            assert error.mean() < 0.8 and error.max() <= 8  # average; a quarter pixel off, 1.1
        rgb = frame.warp_rgb(matrix, (48, 48))
        whole = cv2.warpAffine(frame.rgb, matrix, (48, 48), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        error = np.abs(rgb.astype(int) - whole)
        assert error.mean() < 2.0 and np.percentile(error, 99) <= 12
    chunk = next(VideoReader(str(turned)).chunks())
    np.testing.assert_array_equal(chunk.frames[0], np.rot90(stored[0].rgb, turns))


@pytest.mark.parametrize("degrees, pixel_aspect", [(90, 1), (180, 1), (0, 2)])
def test_a_face_stored_otherwise_is_tracked_as_shown(synthetic_clips, tmp_path, degrees, pixel_aspect):
    upright = np.concatenate([c.frames for c in VideoReader(str(synthetic_clips["matched"])).chunks()])
    # the pixels turned the other way, or squeezed; the display matrix or the pixels' aspect undoes it
    stored = [cv2.resize(np.rot90(f, -TURNS.get(degrees, 0)), None, fx=1 / pixel_aspect, fy=1,
                         interpolation=cv2.INTER_AREA) for f in upright]
    copied = _write(tmp_path / "copy.mp4", stored, degrees, Fraction(pixel_aspect))
    cfg = dataclasses.replace(Settings.load().frontend, decode_threads=1)
    tracks = [track_range(str(p), 1, cfg, 0, len(upright))[0] for p in (synthetic_clips["matched"], copied)]
    assert [len(t) for t in tracks] == [1, 1]
    plain, copy = tracks[0][0], tracks[1][0]
    assert copy.valid.mean() > 0.95
    both = plain.valid & copy.valid & ~np.isnan(plain.opening) & ~np.isnan(copy.opening)
    # 0.88 with half the width stored (the front-end reading the stored pixels: -0.23, and crops 27 apart)
    assert np.corrcoef(plain.opening[both], copy.opening[both])[0, 1] > 0.8
    assert np.abs(plain.crops[both].astype(int) - copy.crops[both]).mean() < 6
