"""Chunked video decoding with decord: memory stays flat whatever the video's length."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from avsync.media.errors import MediaError


@dataclass
class FrameChunk:
    indices: np.ndarray  # frame numbers in the source video
    times_s: np.ndarray  # presentation times, relative to the video stream start
    frames: np.ndarray  # (n, H, W, 3) uint8 RGB


class VideoReader:
    def __init__(self, path: str, step: int = 1, chunk_frames: int = 64):
        import decord

        try:
            self._reader = decord.VideoReader(str(path))
            n = len(self._reader)
        except Exception as exc:
            raise MediaError("corrupt", f"cannot decode video stream: {path} ({_short(exc)})") from None
        if n == 0:
            raise MediaError("corrupt", f"video stream has no frames: {path}")
        self.path = str(path)
        self.step = max(1, int(step))
        self.chunk_frames = chunk_frames
        self.num_source_frames = n
        self.indices = np.arange(0, n, self.step)
        try:
            stamps = self._reader.get_frame_timestamp(self.indices)
        except Exception as exc:
            raise MediaError("corrupt", f"cannot read frame times: {path} ({_short(exc)})") from None
        self.times_s = np.asarray(stamps, dtype=np.float64)[:, 0]
        self.source_fps = float(self._reader.get_avg_fps())
        self.height, self.width = self._reader[0].shape[:2] if n else (0, 0)
        self._reader.seek(0)

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def fps(self) -> float:
        return self.source_fps / self.step

    def chunks(self, start: int = 0, stop: int | None = None) -> Iterator[FrameChunk]:
        """Yield analysis frames ``start:stop`` (indices into ``self.indices``) in chunks.

        Frames are read one by one with ``next()``: decord's ``get_batch`` keeps memory that
        grows with every batch (measured: 0.65 GB after 500 720p frames, 1.1 GB after 9000).
        """
        stop = len(self) if stop is None else min(stop, len(self))
        if start >= stop:
            return
        try:
            self._reader.seek_accurate(int(self.indices[start])) if start else self._reader.seek(0)
        except Exception as exc:
            raise MediaError("corrupt", f"cannot seek in video: {self.path} ({_short(exc)})") from None
        for lo in range(start, stop, self.chunk_frames):
            hi = min(stop, lo + self.chunk_frames)
            frames = []
            try:
                for pos in range(lo, hi):
                    frames.append(self._reader.next().asnumpy())
                    if pos + 1 < stop:
                        for _ in range(self.step - 1):  # skip_frames() fails on some files' key index
                            self._reader.next()
            except StopIteration:
                hi = lo + len(frames)  # the container held fewer frames than its index said
            except Exception as exc:
                raise MediaError("corrupt", f"video decode failed near frame {self.indices[lo + len(frames)]}: "
                                            f"{self.path} ({_short(exc)})") from None
            if frames:
                yield FrameChunk(self.indices[lo:hi], self.times_s[lo:hi], np.stack(frames))
            if hi < min(stop, lo + self.chunk_frames):
                return


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else exc.__class__.__name__)[:160]
