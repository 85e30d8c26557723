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
    samples: np.ndarray  # float32: mono (n,), or (channels, n) when decoded by channel
    stream: int  # index among the file's audio streams
    decode_errors: int  # packets that failed to decode and were skipped
    packets: int  # packets with data
    channels: int = 1  # the stream's channel count


def load_audio(path: str, sample_rate: int = 16000, stream: int | None = None) -> np.ndarray:
    """Decode one audio stream of ``path`` (default: the default-disposition one) to mono float32."""
    return decode_audio(path, sample_rate, stream).samples


def decode_audio(path: str, sample_rate: int = 16000, stream: int | None = None,
                 max_error_fraction: float = 0.5, by_channel: bool = False) -> DecodedAudio:
    """Decode as far as the packets allow; ``corrupt`` when more than ``max_error_fraction`` of
    the packets fail (a few good frames, then garbage, is not an audio track). Mixed down to
    mono, or with ``by_channel`` each channel apart, as a (channels, n) array."""
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
            resampler = (av.AudioResampler(format="fltp", layout=audios[chosen].layout, rate=sample_rate)
                         if by_channel else av.AudioResampler(format="flt", layout="mono", rate=sample_rate))
            width = channels if by_channel else 1
            parts, errors, packets = [], 0, 0
            for packet in container.demux(audios[chosen]):
                if packet.size == 0:
                    continue  # the flush packet at the end
                packets += 1
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    errors += 1
                    if packet.duration and packet.time_base:  # silence keeps later audio on the clock
                        parts.append(np.zeros((width, int(round(packet.duration * packet.time_base * sample_rate))),
                                              np.float32))
                    continue
                for frame in frames:
                    parts.extend(out.to_ndarray().reshape(width, -1) for out in resampler.resample(frame))
            parts.extend(out.to_ndarray().reshape(width, -1) for out in resampler.resample(None))
    except MediaError:
        raise
    except Exception as exc:
        raise MediaError("corrupt", f"cannot decode audio: {path} ({exc.__class__.__name__})") from None
    samples = np.concatenate(parts, axis=1).astype(np.float32) if parts else np.zeros((width, 0), np.float32)
    if errors and errors > max_error_fraction * packets:
        raise MediaError("corrupt", f"audio is damaged: {errors} of {packets} packets do not decode: {path}")
    if samples.size == 0:
        raise MediaError("no_audio", f"audio stream is empty: {path}")
    return DecodedAudio(samples if by_channel else samples[0], chosen, errors, packets, channels)
