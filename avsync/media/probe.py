"""Container-level facts (streams, start times) read with PyAV without decoding."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av

from avsync.media.errors import MediaError


@dataclass
class MediaInfo:
    path: str
    has_video: bool
    has_audio: bool
    video_start_s: float = 0.0
    audio_start_s: float = 0.0
    duration_s: float = 0.0
    fps: float = 0.0
    width: int = 0
    height: int = 0


def check_path(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise MediaError("not_found", f"no such file: {path}")
    if path.is_dir():
        raise MediaError("is_directory", f"is a directory, not a media file: {path}")
    if os.path.getsize(path) == 0:
        raise MediaError("empty_file", f"file is empty (0 bytes): {path}")
    return path


def _start(stream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def probe(path: str | Path) -> MediaInfo:
    path = check_path(path)
    try:
        with av.open(str(path)) as container:
            videos = [s for s in container.streams if s.type == "video"]
            audios = [s for s in container.streams if s.type == "audio"]
            duration = float(container.duration / 1e6) if container.duration else 0.0
            info = MediaInfo(str(path), bool(videos), bool(audios), duration_s=duration)
            if videos:
                v = videos[0]
                info.video_start_s = _start(v)
                rate = v.average_rate or v.guessed_rate
                info.fps = float(rate) if rate else 0.0
                info.width, info.height = v.codec_context.width, v.codec_context.height
            if audios:
                info.audio_start_s = _start(audios[0])
            return info
    except MediaError:
        raise
    except Exception as exc:  # PyAV raises many error types for unreadable input
        if _has_media_signature(path):
            raise MediaError("corrupt", f"corrupt or truncated media file: {path} ({exc.__class__.__name__})") from None
        raise MediaError("not_media", f"not a media file: {path} ({exc.__class__.__name__})") from None


_SIGNATURES = (b"RIFF", b"\x1aE\xdf\xa3", b"FLV", b"OggS", b"ID3", b"fLaC", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")


def _has_media_signature(path: Path) -> bool:
    """Whether the file starts like a media container, so a failure means damage, not wrong type."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    return head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide") or head.startswith(_SIGNATURES)
