"""Audio decoding to mono float32 at a fixed rate, with the stream's start time kept."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avsync.media.errors import MediaError
from avsync.media.probe import check_path


@dataclass
class AudioTrack:
    samples: np.ndarray  # float32 mono
    sample_rate: int
    start_s: float = 0.0  # time of the first sample on the video's clock

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    def shifted(self, delay_s: float) -> "AudioTrack":
        """The same audio played ``delay_s`` later (negative: earlier)."""
        return AudioTrack(self.samples, self.sample_rate, self.start_s + delay_s)


def load_audio(path: str, sample_rate: int = 16000) -> np.ndarray:
    """Decode the first audio stream of ``path`` to mono float32 at ``sample_rate``."""
    check_path(path)
    try:
        import decord

        reader = decord.AudioReader(str(path), sample_rate=sample_rate, mono=True)
        samples = np.asarray(reader._array, dtype=np.float32).reshape(-1)
    except Exception:
        samples = _load_with_pyav(path, sample_rate)
    if samples.size == 0:
        raise MediaError("no_audio", f"audio stream is empty: {path}")
    return samples


def _load_with_pyav(path: str, sample_rate: int) -> np.ndarray:
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError("no_audio", f"no audio stream: {path}")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            parts = []
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    parts.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                parts.append(out.to_ndarray().reshape(-1))
    except MediaError:
        raise
    except Exception as exc:
        raise MediaError("corrupt", f"cannot decode audio: {path} ({exc.__class__.__name__})") from None
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
