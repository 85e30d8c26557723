"""Re-encode a clip at another size and length (looping it), for benchmarks. Not a data tool for training."""
from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import numpy as np


def make_clip(src: str, out: str, height: int, seconds: float) -> Path:
    """``src`` resized to ``height`` (even width kept in aspect), looped to ``seconds``, h264 + aac."""
    import av
    import cv2
    import decord

    from avsync.media.audio import load_audio

    reader = decord.VideoReader(src)
    fps = float(reader.get_avg_fps())
    h, w = reader[0].shape[:2]
    width = int(round(w * height / h / 2)) * 2
    audio = load_audio(src, 16000)
    n_out = int(round(seconds * fps))
    with av.open(out, "w") as container:
        vs = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.options = {"preset": "ultrafast", "crf": "23"}
        aus = container.add_stream("aac", rate=16000)
        aus.layout = "mono"
        for i in range(n_out):
            frame = reader[i % len(reader)].asnumpy()
            frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
            for p in vs.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(p)
        for p in vs.encode():
            container.mux(p)
        # audio looped with the same period as the video, so every loop stays in sync
        period = int(round(len(reader) / fps * 16000))
        loop = np.resize(np.pad(audio[:period], (0, max(0, period - len(audio)))), period)
        total = np.tile(loop, int(np.ceil(seconds * 16000 / period)) + 1)[: int(seconds * 16000)]
        for start in range(0, len(total), 1024):
            frame = av.AudioFrame.from_ndarray(total[None, start:start + 1024].astype(np.float32), format="flt",
                                               layout="mono")
            frame.sample_rate = 16000
            frame.pts = start
            frame.time_base = Fraction(1, 16000)
            for p in aus.encode(frame):
                container.mux(p)
        for p in aus.encode():
            container.mux(p)
    return Path(out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("src")
    parser.add_argument("out")
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    print(make_clip(args.src, args.out, args.height, args.seconds))
