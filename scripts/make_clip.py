"""Write talking-face clips for benchmarks and evaluations: resize, loop, splice or drift the audio.

Not a training-data tool: the outputs are derived from corpus clips and stay out of the repo.
"""
from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import numpy as np

SR = 16000


def write_av(out: str | Path, frames: Iterable[np.ndarray], fps: float, audio: np.ndarray | None) -> Path:
    """Encode RGB frames (h264) and 16 kHz mono float audio (aac) into ``out``."""
    import av

    with av.open(str(out), "w") as container:
        vs = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        vs.pix_fmt = "yuv420p"
        vs.options = {"preset": "ultrafast", "crf": "23"}
        aus = None
        if audio is not None:
            aus = container.add_stream("aac", rate=SR)
            aus.layout = "mono"
        for i, frame in enumerate(frames):
            if i == 0:
                vs.height, vs.width = frame.shape[0] // 2 * 2, frame.shape[1] // 2 * 2
            frame = np.ascontiguousarray(frame[: vs.height, : vs.width])
            for p in vs.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(p)
        for p in vs.encode():
            container.mux(p)
        if aus is not None:
            audio = audio.astype(np.float32)
            for start in range(0, len(audio), 1024):
                frame = av.AudioFrame.from_ndarray(audio[None, start:start + 1024], format="flt", layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = SR, start, Fraction(1, SR)
                for p in aus.encode(frame):
                    container.mux(p)
            for p in aus.encode():
                container.mux(p)
    return Path(out)


def read_frames(src: str, height: int | None = None, n_out: int | None = None,
                width: int | None = None) -> tuple[Iterable[np.ndarray], float, int]:
    """Frames of ``src`` (resized to ``height``, centred on a black ``width`` canvas when given,
    looped to ``n_out``), its fps and frame count."""
    import cv2
    import decord

    reader = decord.VideoReader(src)
    fps, n = float(reader.get_avg_fps()), len(reader)

    def frames():
        for i in range(n_out or n):
            frame = reader[i % n].asnumpy()
            if height:
                h, w = frame.shape[:2]
                frame = cv2.resize(frame, (int(round(w * height / h / 2)) * 2, height), interpolation=cv2.INTER_AREA)
            if width and width > frame.shape[1]:
                left = (width - frame.shape[1]) // 2
                frame = cv2.copyMakeBorder(frame, 0, 0, left, width - frame.shape[1] - left, cv2.BORDER_CONSTANT)
            yield frame

    return frames(), fps, n


def looped_audio(src: str, period_s: float, seconds: float) -> np.ndarray:
    """The clip's audio looped with the video's period, so every loop stays in sync."""
    from avsync.media.audio import load_audio

    audio = load_audio(src, SR)
    period = int(round(period_s * SR))
    loop = np.resize(np.pad(audio[:period], (0, max(0, period - len(audio)))), period)
    return np.tile(loop, int(np.ceil(seconds * SR / period)) + 1)[: int(seconds * SR)]


def make_clip(src: str, out: str, height: int, seconds: float, width: int | None = None) -> Path:
    """``src`` resized to ``height`` (letterboxed to ``width``) and looped to ``seconds``."""
    import decord

    fps = float(decord.VideoReader(src).get_avg_fps())
    frames, fps, n = read_frames(src, height, int(round(seconds * fps)), width)
    return write_av(out, frames, fps, looped_audio(src, n / fps, seconds))


def make_drift(src: str, out: str, seconds: float, drift_ms_per_min: float) -> Path:
    """``src`` looped to ``seconds`` with audio lagging linearly: 0 ms at the start, growing by
    ``drift_ms_per_min`` each minute (a clock drift: audio read at t * (1 - rate))."""
    import decord

    fps = float(decord.VideoReader(src).get_avg_fps())
    frames, fps, n = read_frames(src, None, int(round(seconds * fps)))
    audio = looped_audio(src, n / fps, seconds + 1)
    rate = drift_ms_per_min / 60000.0
    t = np.arange(int(seconds * SR)) / SR
    drifted = np.interp(t * (1 - rate), np.arange(len(audio)) / SR, audio)
    return write_av(out, frames, fps, drifted)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("src")
    parser.add_argument("out")
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--drift-ms-per-min", type=float, default=None, help="make a drifting clip instead")
    args = parser.parse_args()
    if args.drift_ms_per_min is not None:
        print(make_drift(args.src, args.out, args.seconds, args.drift_ms_per_min))
    else:
        print(make_clip(args.src, args.out, args.height, args.seconds))
