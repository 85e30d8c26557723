"""Fixtures for the audit tests: fake checkers (via AVSYNC_AUDIT_CHECKER) and tiny synthetic videos.

A fake checker's behaviour comes from the file name: "hang" sleeps forever, "crash" exits the
worker, "killed" SIGKILLs it, "hog" grows its memory, "boom" raises, "flag" gives out_of_sync,
"mismatch" gives mismatch, anything else in_sync. AVSYNC_FAKE_SLEEP adds a delay per video.
"""
from __future__ import annotations

import base64
import os
import signal
import struct
import time
import zlib
from pathlib import Path

import numpy as np

from avsync.report import SyncReport

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FAKE = "audit_helpers:fake_check"
MEDIA_FAKE = "audit_helpers:media_check"


def tiny_png_b64(width: int = 24, height: int = 8, shade: int = 128) -> str:
    rows = b"".join(b"\x00" + bytes([(shade + x * 5) % 256 for x in range(width)]) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return base64.b64encode(png).decode("ascii")


def _verdict_report(path: str, audio=None) -> SyncReport:
    name = Path(path).name
    if "flag" in name:
        verdict, frames = "out_of_sync", 5
    elif "mismatch" in name:
        verdict, frames = "mismatch", 0
    else:
        verdict, frames = "in_sync", 0
    offsets = list(range(-15, 16))
    curve = [10.0 + 0.05 * (o - frames) ** 2 for o in offsets]
    curve[0] = None  # masked offsets are null in the schema
    return SyncReport(
        file=path, verdict=verdict, fps=25.0, duration_s=2.0, av_offset_ms=frames * 40.0, av_offset_frames=frames,
        av_offset_ci_ms=[frames * 40.0 - 20.0, frames * 40.0 + 20.0],
        verdict_reason="low_confidence" if verdict == "mismatch" else None,
        confidence=(2.0 if verdict == "mismatch" else 6.0 + len(name) % 3), min_dist=7.5, p_sync=0.9,
        scorer={"name": "fake", "version": "0"}, audio=audio, offsets_frames=offsets, offset_curve=curve,
        mouth_strip_png_b64=tiny_png_b64(shade=len(name) * 7 % 256), version="test")


def fake_check(path, audio=None, **options):
    name = Path(path).name
    delay = float(os.environ.get("AVSYNC_FAKE_SLEEP", "0") or 0)
    if delay:
        time.sleep(delay)
    if "hang" in name:
        while True:
            time.sleep(60)
    if "crash" in name:
        os._exit(7)
    if "killed" in name:
        os.kill(os.getpid(), signal.SIGKILL)
    if "hog" in name:
        hog = np.ones(400 * 2**20, dtype=np.uint8)  # touched pages count as resident memory
        time.sleep(30)
        return hog
    if "boom" in name:
        raise RuntimeError("boom\nsecond line")
    assert options.get("jobs") == 1 and isinstance(options.get("thumbnails"), bool)
    return _verdict_report(str(path), audio)


def media_check(path, audio=None, **options):
    """Reads the container like the real pipeline's first steps, then answers like fake_check."""
    import av

    from avsync.media import MediaError, probe

    try:
        info = probe(path)
    except MediaError as exc:
        return SyncReport.failure(str(path), exc.code, exc.message)
    if not info.has_video:
        return SyncReport.failure(str(path), "no_video", "no video stream")
    if not info.has_audio and audio is None:
        return SyncReport.failure(str(path), "no_audio", "no audio stream")
    try:
        with av.open(str(path)) as container:
            frames = sum(1 for _ in container.decode(video=0))
    except av.FFmpegError as exc:
        return SyncReport.failure(str(path), "corrupt", f"cannot decode: {exc.__class__.__name__}")
    if frames == 0:
        return SyncReport.failure(str(path), "corrupt", "no decodable frames")
    return _verdict_report(str(path), audio)


def write_clip(path, seconds: float = 1.0, fps: int = 25, size=(64, 48), audio: bool = True,
               video: bool = True, codec: str = "mpeg4", seed: int = 0) -> Path:
    """A small mp4: moving noise pattern and a 220 Hz tone, written with PyAV."""
    import av

    path = Path(path)
    rng = np.random.default_rng(seed)
    width, height = size
    with av.open(str(path), "w") as out:
        vstream = astream = None
        if video:
            vstream = out.add_stream(codec, rate=fps)
            vstream.width, vstream.height, vstream.pix_fmt = width, height, "yuv420p"
        if audio:
            astream = out.add_stream("aac", rate=16000)
            astream.layout = "mono"
        if vstream is not None:
            base = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
            for i in range(int(seconds * fps)):
                frame = av.VideoFrame.from_ndarray(np.roll(base, i, axis=1), format="rgb24")
                for packet in vstream.encode(frame):
                    out.mux(packet)
            for packet in vstream.encode():
                out.mux(packet)
        if astream is not None:
            sr, chunk = 16000, 1024
            t = np.arange(int(seconds * sr)) / sr
            wave = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
            for start in range(0, len(wave), chunk):
                piece = wave[start:start + chunk]
                frame = av.AudioFrame.from_ndarray(piece[None, :], format="fltp", layout="mono")
                frame.sample_rate = sr
                frame.pts = start
                for packet in astream.encode(frame):
                    out.mux(packet)
            for packet in astream.encode():
                out.mux(packet)
    return path


def make_mixed_folder(root: Path) -> dict[str, str | None]:
    """The issue's mixed folder. Returns file name -> expected error code (None = a real verdict)."""
    root.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str | None] = {}
    for i in range(2):
        write_clip(root / f"good_{i}.mp4", seconds=2.0, seed=i)
        expected[f"good_{i}.mp4"] = None
    (root / "sub").mkdir()
    write_clip(root / "sub" / "flag_offset.mp4", seconds=2.0, seed=5)
    expected["sub/flag_offset.mp4"] = None
    (root / "empty.mp4").write_bytes(b"")
    expected["empty.mp4"] = "empty_file"
    (root / "notes.mp4").write_text("this is a text file, not a video\n" * 20)
    expected["notes.mp4"] = "not_media"
    (root / "random.mp4").write_bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    expected["random.mp4"] = "not_media"
    source = write_clip(root.parent / f"{root.name}_whole.mp4", seconds=2.0, seed=7)
    whole = source.read_bytes()
    source.unlink()
    (root / "truncated.mp4").write_bytes(whole[: len(whole) // 2])
    expected["truncated.mp4"] = "corrupt"  # or not_media when the index was cut off
    write_clip(root / "silent.mp4", seconds=2.0, audio=False, seed=9)
    expected["silent.mp4"] = "no_audio"
    (root / "readme.txt").write_text("not a video extension: ignored\n")
    return expected
