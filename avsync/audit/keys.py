"""What makes a video "already done" in an audit: path + size + mtime, or its content's SHA-256."""
from __future__ import annotations

import hashlib
import os
import stat

from avsync.sources import Clip


def file_key(clip: Clip, content_hash: bool) -> str:
    """The resume key of ``clip``: its video's (and separate audio's) fingerprint."""
    parts = [_fingerprint(clip.video, content_hash)]
    if clip.audio:
        parts.append("audio " + _fingerprint(clip.audio, content_hash))
    return " | ".join(parts)


def _fingerprint(path: str, content_hash: bool) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return f"missing:{path}"
    if not content_hash or not stat.S_ISREG(st.st_mode):  # reading a FIFO blocks, /dev/zero never ends
        return f"{path}:{st.st_size}:{st.st_mtime_ns}"
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return f"unreadable:{path}"
    return "sha256:" + digest.hexdigest()
