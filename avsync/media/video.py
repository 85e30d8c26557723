"""Chunked video decoding with PyAV: frames are decoded only when asked for, so memory stays flat
whatever the video's length.

decord was the first choice, but its background decoder keeps decoding ahead while the reader is
busy elsewhere (dmlc/decord#157, #208): a 10-minute 720p check peaked between 1.1 and 8.4 GB
depending on timing. PyAV pulls one frame at a time (62 MB flat in the same test).
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from avsync.media.errors import MediaError
from avsync.media.probe import main_video_stream


class DecodedFrame:
    """One decoded frame, converted only as far as its reader asks: the front-end mostly wants small
    warped squares of it (FaceMesh's input, the flow's square, the mouth crop), and those are warped
    straight from the YUV planes, so the whole frame is converted to RGB only for the face detector.

    Everything it gives is shown as a player shows it, and the face models and the sync model only
    know faces seen that way: upright, where a phone stores a portrait video sideways (or upside
    down) and says so in the stream's display matrix; in square pixels, where a video's pixels are
    not square (``pixel_aspect``, the stream's sample aspect ratio: SD broadcast 16:9 stores
    1024 x 576 in 720 x 576)."""

    __slots__ = ("_frame", "_gray", "_rgb", "_planes", "_turns", "_square", "_to_shown")

    def __init__(self, frame, pixel_aspect: float = 1.0):
        self._frame = frame
        self._gray = None
        self._rgb = None
        self._planes = False  # not looked up yet; None: not planar YUV
        self._turns = _quarter_turns(frame)
        self._square = _square_size(frame.width, frame.height, pixel_aspect)
        self._to_shown = None  # stored pixel -> shown pixel, where they differ
        if self._turns or self._square:
            self._to_shown = _shown_matrix(frame.width, frame.height, self._square, self._turns)

    def _yuv(self) -> tuple[np.ndarray, ...] | None:
        """The plane views, made once: a frame is warped up to four times."""
        if self._planes is False:
            self._planes = _yuv_planes(self._frame)
        return self._planes

    @property
    def shape(self) -> tuple[int, int, int]:
        w, h = self._square or (self._frame.width, self._frame.height)
        return (w, h, 3) if self._turns % 2 else (h, w, 3)

    @property
    def gray(self) -> np.ndarray:
        if self._gray is None:
            self._gray = self._shown(luma(self._frame))
        return self._gray

    @property
    def rgb(self) -> np.ndarray:
        if self._rgb is None:
            self._rgb = self._shown(self._frame.to_ndarray(format="rgb24"))
        return self._rgb

    def _shown(self, image: np.ndarray) -> np.ndarray:
        """A whole stored image as it is shown: stretched to square pixels, then turned upright."""
        if self._square:
            import cv2

            image = cv2.resize(image, self._square, interpolation=cv2.INTER_LINEAR)
        return np.ascontiguousarray(np.rot90(image, self._turns)) if self._turns else image

    def _from_stored(self, matrix: np.ndarray) -> np.ndarray:
        """A warp of the frame as shown, as a warp of the stored planes."""
        return matrix if self._to_shown is None else _compose(matrix, self._to_shown)

    def warp_gray(self, matrix: np.ndarray, size: tuple[int, int], border: int) -> np.ndarray:
        """``cv2.warpAffine`` of :attr:`gray` (bilinear): the luma plane is warped, and only the
        small result is stretched to full range (within two grey levels of warping :attr:`gray`)."""
        import cv2

        planes = self._yuv()
        if planes is None:
            return cv2.warpAffine(self.gray, matrix, size, flags=cv2.INTER_LINEAR, borderMode=border)
        out = cv2.warpAffine(planes[0], self._from_stored(matrix), size, flags=cv2.INTER_LINEAR, borderMode=border)
        return out if _full_range(self._frame) else cv2.LUT(out, _LIMITED_TO_FULL)

    def warp_rgb(self, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """``cv2.warpAffine`` of :attr:`rgb` (bilinear, black outside the frame), warped from the
        4:2:0 planes and converted to RGB at the output's size (BT.601 limited range, as FFmpeg's
        own conversion; within a few levels of it). Other formats convert the whole frame."""
        import cv2

        w, h = size
        planes = self._yuv()
        if planes is None or len(planes) != 3 or _full_range(self._frame) or w % 2 or h % 2:
            return cv2.warpAffine(self.rgb, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        y, u, v = planes
        matrix = np.asarray(self._from_stored(matrix), np.float64)
        # chroma pixel c sits at luma (2c + 0.5) in both the output and the frame
        chroma = np.hstack([matrix[:, :2], (0.25 * matrix[:, :2].sum(axis=1) + 0.5 * matrix[:, 2] - 0.25)[:, None]])
        out = [cv2.warpAffine(y, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=16)]
        out += [cv2.warpAffine(c, chroma, (w // 2, h // 2), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                               borderValue=128) for c in (u, v)]
        i420 = np.concatenate([p.ravel() for p in out]).reshape(h * 3 // 2, w)
        return cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420)


# Limited-range (16..235) luma stretched to 0..255, as an RGB conversion followed by a grey
# conversion would give it.
_LIMITED_TO_FULL = np.clip(np.round((np.arange(256) - 16) * 255.0 / 219.0), 0, 255).astype(np.uint8)
_PLANAR_YUV = {"yuv420p", "yuv422p", "yuv444p", "yuvj420p", "yuvj422p", "yuvj444p", "nv12", "nv21"}
_YUV420 = {"yuv420p", "yuvj420p"}


def _quarter_turns(frame) -> int:
    """Counter-clockwise quarter turns that show a PyAV frame upright, from its display matrix
    (0 where there is none, or where PyAV is too old to read it). Mirroring in the matrix is not
    applied: a mirrored mouth moves in time with its sound all the same."""
    return int(round(getattr(frame, "rotation", 0) / 90)) % 4


def _square_size(width: int, height: int, pixel_aspect: float) -> tuple[int, int] | None:
    """(width, height) in square pixels, stretched along one side as a player does; None when the
    pixels are square (within 1%)."""
    if not pixel_aspect or abs(pixel_aspect - 1.0) < 0.01:
        return None
    if pixel_aspect > 1:
        return int(round(width * pixel_aspect)), height
    return width, int(round(height / pixel_aspect))


def _shown_matrix(width: int, height: int, square: tuple[int, int] | None, turns: int) -> np.ndarray:
    """Stored pixel (x, y) -> its place in the frame as :meth:`DecodedFrame._shown` makes it."""
    w, h = square or (width, height)
    sx, sy = w / width, h / height
    stretch = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5]])  # cv2.resize's pixel centres
    if not turns:
        return stretch
    turn = {1: np.array([[0.0, 1, 0], [-1, 0, w - 1]]),  # as np.rot90, counter-clockwise
            2: np.array([[-1.0, 0, w - 1], [0, -1, h - 1]]),
            3: np.array([[0.0, -1, h - 1], [1, 0, 0]])}[turns]
    return _compose(turn, stretch)


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The 2 x 3 affine map ``outer(inner(p))``."""
    outer, inner = np.asarray(outer, np.float64), np.asarray(inner, np.float64)
    return np.hstack([outer[:, :2] @ inner[:, :2], (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]])


def luma(frame) -> np.ndarray:
    """(H, W) uint8 full-range grey from a PyAV frame; the Y plane is read in place when it is one."""
    planes = _yuv_planes(frame)
    if planes is None:
        return frame.to_ndarray(format="gray")
    if _full_range(frame):
        return planes[0].copy()
    import cv2

    return cv2.LUT(planes[0], _LIMITED_TO_FULL)


def _yuv_planes(frame) -> tuple[np.ndarray, ...] | None:
    """Views of a planar YUV frame's planes (Y alone for NV12/NV21, whose chroma is interleaved),
    or None for other formats."""
    name = frame.format.name
    if name not in _PLANAR_YUV:
        return None
    def view(plane, height, width):
        return np.frombuffer(plane, np.uint8).reshape(height, plane.line_size)[:, :width]
    y = view(frame.planes[0], frame.height, frame.width)
    if name not in _YUV420:
        return (y,)
    ch, cw = (frame.height + 1) // 2, (frame.width + 1) // 2
    return y, view(frame.planes[1], ch, cw), view(frame.planes[2], ch, cw)


def _full_range(frame) -> bool:
    return frame.format.name.startswith("yuvj") or getattr(frame, "color_range", 1) == 2


@dataclass
class FrameChunk:
    indices: np.ndarray  # frame numbers in the source video
    times_s: np.ndarray  # presentation times, relative to the video stream start
    frames: np.ndarray  # (n, H, W, 3) uint8 RGB, as shown (DecodedFrame)


class VideoReader:
    """Frame ``i`` is the ``i``-th frame in presentation order; its time comes from its packet's
    timestamp (variable frame rates keep their real times)."""

    def __init__(self, path: str, step: int = 1, chunk_frames: int = 64, threads: int = 0):
        self.path = str(path)
        self.threads = threads  # decoder threads; 0 lets FFmpeg choose
        pts, keys, self._time_base, self._origin, self.source_fps, self.pixel_aspect = _index(self.path)
        n = len(pts)
        if n == 0:
            raise MediaError("corrupt", f"video stream has no frames: {path}")
        self.step = max(1, int(step))
        self.chunk_frames = chunk_frames
        self.num_source_frames = n
        self._pts = pts
        self._keys = keys
        self.indices = np.arange(0, n, self.step)
        self.times_s = (pts[self.indices] - self._origin) * self._time_base
        self.decode_errors = 0  # packets that chunks() skipped because they do not decode

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def fps(self) -> float:
        return self.source_fps / self.step

    @property
    def end_s(self) -> float:
        """Where the last frame's packet ends, on the stream's clock: short of the stream's
        duration when the file is cut off."""
        return float((self._pts[-1] - self._origin) * self._time_base) + 1.0 / max(self.source_fps, 1e-6)

    def seek_points(self) -> np.ndarray:
        """Analysis frames where reading can start at a key frame (or fewer than ``step`` source
        frames after one) without decoding what comes before."""
        return np.unique(np.ceil(self._keys / self.step).astype(np.int64))

    def chunks(self, start: int = 0, stop: int | None = None) -> Iterator[FrameChunk]:
        """Yield analysis frames ``start:stop`` (indices into ``self.indices``) in chunks, as RGB."""
        pending: list[int] = []
        frames: list[np.ndarray] = []
        for index, frame in self._decode(start, stop):
            pending.append(index)
            frames.append(DecodedFrame(frame, self.pixel_aspect).rgb)
            if len(frames) == self.chunk_frames:
                yield self._chunk(pending, frames)
                pending, frames = [], []
        if frames:
            yield self._chunk(pending, frames)

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, float, DecodedFrame]]:
        """Yield (source frame number, time, frame) for analysis frames ``start:stop``, one at a time,
        each converted only to what its reader asks for."""
        for index, frame in self._decode(start, stop):
            yield index, float((self._pts[index] - self._origin) * self._time_base), DecodedFrame(frame, self.pixel_aspect)

    def _decode(self, start: int, stop: int | None):
        import av

        stop = len(self) if stop is None else min(stop, len(self))
        if start >= stop:
            return
        first, last = int(self.indices[start]), int(self.indices[stop - 1])
        key = int(self._keys[np.searchsorted(self._keys, first, side="right") - 1])
        wanted = set(self.indices[start:stop].tolist())
        near = first
        try:
            with av.open(self.path) as container:
                stream = main_video_stream(container.streams.video)
                stream.thread_type = "AUTO"
                stream.codec_context.thread_count = self.threads
                if key:
                    container.seek(int(self._pts[key]), stream=stream, backward=True, any_frame=False)
                for frame in self._decode_skipping_damage(container, stream):
                    index = self._frame_index(frame, key)
                    if index is None or index < first:
                        continue
                    if index > last:
                        break
                    key = index + 1  # frames without a timestamp follow the previous one
                    if index in wanted:
                        near = index
                        yield index, frame
        except MediaError:
            raise
        except Exception as exc:
            raise MediaError("corrupt", f"video decode failed near frame {near}: {self.path} ({_short(exc)})") from None

    def _decode_skipping_damage(self, container, stream):
        """Frames of ``stream``, one packet at a time: a packet that does not decode is counted
        and skipped, the way ffmpeg conceals errors, instead of ending the decode."""
        import av

        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                self.decode_errors += 1
                continue
            yield from frames

    def _frame_index(self, frame, expected: int) -> int | None:
        if frame.pts is None:
            return expected
        at = int(np.searchsorted(self._pts, frame.pts))
        return at if at < len(self._pts) and self._pts[at] == frame.pts else None

    def _chunk(self, indices: list[int], frames: list[np.ndarray]) -> FrameChunk:
        idx = np.asarray(indices, np.int64)
        return FrameChunk(idx, (self._pts[idx] - self._origin) * self._time_base, np.stack(frames))


def _index(path: str):
    """Presentation timestamps (sorted), key-frame numbers, time base, stream origin, mean fps and
    the pixels' aspect ratio (a pixel's width over its height), from the packets alone (no
    decoding). A check opens a video several times (probing the frame rate, splitting into
    segments, tracking), so one pass per file version is kept."""
    try:
        stat = os.stat(path)
    except OSError:
        return _read_index(path, 0, 0)  # reports the unreadable path as corrupt
    return _read_index(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _read_index(path: str, size: int, mtime_ns: int):
    import av

    try:
        with av.open(path) as container:
            stream = main_video_stream(container.streams.video)
            if stream is None:
                raise MediaError("no_video", f"no video stream: {path}")
            pts, key_pts = [], []
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                pts.append(packet.pts)
                if packet.is_keyframe:
                    key_pts.append(packet.pts)
            time_base = float(stream.time_base)
            rate = float(stream.average_rate or stream.guessed_rate or 0)
            pixel_aspect = float(stream.sample_aspect_ratio or 1)
            start = stream.start_time
    except MediaError:
        raise
    except Exception as exc:
        raise MediaError("corrupt", f"cannot decode video stream: {path} ({_short(exc)})") from None
    pts = np.unique(np.asarray(pts, np.int64))
    keys = np.union1d(np.searchsorted(pts, np.asarray(key_pts, np.int64)), [0]).astype(np.int64)
    origin = start if start is not None else (int(pts[0]) if len(pts) else 0)
    if not rate and len(pts) > 1:
        rate = (len(pts) - 1) / ((pts[-1] - pts[0]) * time_base)
    return pts, keys, time_base, origin, rate, pixel_aspect


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else exc.__class__.__name__)[:160]
