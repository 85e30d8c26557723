"""Audio decoding with PyAV to mono float32 at a fixed rate, one packet at a time so that a damaged
packet is counted and skipped instead of ending the decode (or, as decord did, being decoded as
noise)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avsync.media.errors import MediaError
from avsync.media.probe import check_path, default_audio_stream


@dataclass
class DecodedAudio:
    samples: np.ndarray  # float32 mono: the downmix, or the one channel asked for
    stream: int  # index among the file's audio streams
    decode_errors: int  # packets that failed to decode and were skipped
    packets: int  # packets with data
    channels: int = 1  # the stream's channel count


def load_audio(path: str, sample_rate: int = 16000, stream: int | None = None) -> np.ndarray:
    """Decode one audio stream of ``path`` (default: the default-disposition one) to mono float32."""
    return decode_audio(path, sample_rate, stream).samples


def decode_audio(path: str, sample_rate: int = 16000, stream: int | None = None,
                 max_error_fraction: float = 0.5, channel: int | None = None) -> DecodedAudio:
    """Decode as far as the packets allow; ``corrupt`` when more than ``max_error_fraction`` of
    the packets fail (a few good frames, then garbage, is not an audio track). Mixed down to
    mono, or only ``channel`` (counted from 0) where that is given."""
    parts: list[np.ndarray] = []
    keep = 0 if channel is None else channel
    chosen, errors, packets, channels = _decode(path, sample_rate, stream, max_error_fraction, channel is not None,
                                                lambda block: parts.append(block[keep]))
    samples = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
    if samples.size == 0:
        raise MediaError("no_audio", f"audio stream is empty: {path}")
    return DecodedAudio(samples, chosen, errors, packets, channels)


def channel_levels(path: str, sample_rate: int = 16000, stream: int | None = None,
                   max_error_fraction: float = 0.5) -> np.ndarray:
    """Each channel's RMS level, on the scale of ``decode_audio``'s samples; streamed, nothing kept."""
    power, count = 0.0, 0

    def add(block: np.ndarray) -> None:
        nonlocal power, count
        power = power + np.square(block, dtype=np.float64).sum(axis=1)
        count += block.shape[1]

    _decode(path, sample_rate, stream, max_error_fraction, True, add)
    return np.sqrt(np.asarray(power) / max(count, 1))


def _decode(path: str, sample_rate: int, stream: int | None, max_error_fraction: float, by_channel: bool,
            take) -> tuple[int, int, int, int]:
    """Feed ``take`` every resampled block, a (channels, n) float32 array: one row, the downmix, unless
    ``by_channel``. A packet that does not decode is counted, and silence of its length is fed in its
    place. Returns the stream used, the packets that failed, the packets, and the stream's channels."""
    import av

    check_path(path)
    try:
        with av.open(str(path)) as container:
            audios = list(container.streams.audio)
            if not audios:
                raise MediaError("no_audio", f"no audio stream: {path}")
            chosen = default_audio_stream(audios) if stream is None else stream
            if not 0 <= chosen < len(audios):
                raise MediaError("no_such_audio_stream",
                                 f"no audio stream {chosen}: {path} has {len(audios)} (numbered from 0)")
            channels = audios[chosen].codec_context.channels or 1
            resampler = (av.AudioResampler(format="fltp", layout=audios[chosen].layout, rate=sample_rate) if by_channel
                         else av.AudioResampler(format="flt", layout="mono", rate=sample_rate))
            width = channels if by_channel else 1
            errors, packets = 0, 0
            for packet in container.demux(audios[chosen]):
                if packet.size == 0:
                    continue  # the flush packet at the end
                packets += 1
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    errors += 1
                    if packet.duration and packet.time_base:  # silence keeps later audio on the clock
                        take(np.zeros((width, int(round(packet.duration * packet.time_base * sample_rate))),
                                      np.float32))
                    continue
                for frame in frames:
                    for out in resampler.resample(frame):
                        take(out.to_ndarray().reshape(width, -1))
            for out in resampler.resample(None):
                take(out.to_ndarray().reshape(width, -1))
    except MediaError:
        raise
    except Exception as exc:
        raise MediaError("corrupt", f"cannot decode audio: {path} ({exc.__class__.__name__})") from None
    if errors and errors > max_error_fraction * packets:
        raise MediaError("corrupt", f"audio is damaged: {errors} of {packets} packets do not decode: {path}")
    return chosen, errors, packets, channels
