"""Media reading: probe streams, decode video frames in chunks, decode audio to 16 kHz mono."""
from avsync.media.errors import MediaError
from avsync.media.probe import MediaInfo, probe
from avsync.media.video import VideoReader
from avsync.media.audio import load_audio

__all__ = ["MediaError", "MediaInfo", "probe", "VideoReader", "load_audio"]
