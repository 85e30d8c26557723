"""Container-level facts (streams, start times) read with PyAV without decoding."""
from __future__ import annotations

import errno
import os
import re
import stat
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
    video_duration_s: float = 0.0  # the video stream's own duration, else the container's
    audio_stream: int | None = None  # the audio stream used: its index among the audio streams
    audio_streams: int = 0


def check_path(path: str | Path) -> Path:
    """A regular file this process may read, or a MediaError saying why not.

    Only regular files are opened: a FIFO blocks for ever and ``/dev/zero`` never ends.
    """
    given, path = str(path), Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if given == "-":
            raise MediaError("not_found", "no such file: - (standard input is not read: save the stream to a file "
                                          "and check that)") from None
        if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://", given):
            raise MediaError("not_found", f"no such file: {given} (avsync reads local files only, and downloads "
                                          "nothing: fetch it first)") from None
        raise MediaError("not_found", f"no such file: {path}") from None
    except PermissionError:
        raise MediaError("permission_denied", f"permission denied: {path}") from None
    except OSError as exc:
        raise MediaError("not_found", f"cannot read {path}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise MediaError("is_directory", f"is a directory, not a media file: {path}")
    if not stat.S_ISREG(st.st_mode):
        raise MediaError("not_a_regular_file", f"not a regular file ({_kind(st.st_mode)}): {path}")
    if st.st_size == 0:
        raise MediaError("empty_file", f"file is empty (0 bytes): {path}")
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except PermissionError:
        raise MediaError("permission_denied", f"permission denied: {path}") from None
    except OSError as exc:
        code = "permission_denied" if exc.errno == errno.EACCES else "corrupt"
        raise MediaError(code, f"cannot read {path}: {exc.strerror}") from None
    return path


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def _start(stream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _player_pick(streams: list):
    """The stream a player would pick among ``streams``: the first marked default, else the first;
    None when there is none."""
    return next((s for s in streams if s.disposition & av.stream.Disposition.default), streams[0] if streams else None)


def default_audio_stream(audios) -> int:
    """The index, among ``audios``, of the audio stream a player would pick (0 when there is none)."""
    audios = list(audios)
    return audios.index(_player_pick(audios)) if audios else 0


def main_video_stream(videos):
    """The video stream a player would show, or None: cover art (an attached picture) left out,
    then the player's pick."""
    return _player_pick([s for s in videos if not s.disposition & av.stream.Disposition.attached_pic])


def probe(path: str | Path, audio_stream: int | None = None) -> MediaInfo:
    """``audio_stream`` picks an audio stream by its index among the audio streams (None: the default one)."""
    path = check_path(path)
    try:
        with av.open(str(path)) as container:
            v = main_video_stream(container.streams.video)
            audios = [s for s in container.streams if s.type == "audio"]
            duration = float(container.duration / 1e6) if container.duration else 0.0
            info = MediaInfo(str(path), v is not None, bool(audios), duration_s=duration)
            if v is not None:
                info.video_start_s = _start(v)
                rate = v.average_rate or v.guessed_rate
                info.fps = float(rate) if rate else 0.0
                info.width, info.height = v.codec_context.width, v.codec_context.height
                own = float(v.duration * v.time_base) if v.duration and v.time_base else 0.0
                info.video_duration_s = own or duration
            info.audio_streams = len(audios)
            if audios:
                chosen = default_audio_stream(audios) if audio_stream is None else audio_stream
                if not 0 <= chosen < len(audios):
                    raise MediaError("no_such_audio_stream", f"no audio stream {chosen}: {path} has "
                                     f"{len(audios)} (numbered from 0)")
                info.audio_stream = chosen
                info.audio_start_s = _start(audios[chosen])
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
