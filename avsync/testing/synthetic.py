"""A real face photo whose mouth opens and closes with a speech-like signal, plus matching audio.

The face is NASA's public-domain astronaut portrait from scikit-image. The signal is a train of
syllables (4-6 Hz mouth cycles in words of 0.2-0.7 s, separated by pauses); the audio is a
voice (pulses through vowel formants) whose amplitude follows the same signal. Delayed, advanced
and mismatched variants come from shifting the audio or drawing another signal.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

SAMPLE_RATE = 16000
# In speech the lips move before the sound they shape; a matched fixture keeps that lead so a
# model trained on real talking faces sees it as in sync.
ARTICULATION_LEAD_S = 0.06


def speech_envelope(seconds: float, rate: float, seed: int) -> np.ndarray:
    """Mouth opening in [0, 1] sampled at ``rate`` Hz: words of syllables separated by pauses."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    env = np.zeros(n)
    t = rng.uniform(0.1, 0.4)
    while t < seconds:
        word = rng.uniform(0.2, 0.7)
        syllable_hz = rng.uniform(4.0, 6.0)
        lo, hi = int(t * rate), min(n, int((t + word) * rate))
        phase = np.arange(hi - lo) / rate * syllable_hz * 2 * np.pi
        env[lo:hi] = np.clip(0.55 - 0.45 * np.cos(phase), 0, 1) * rng.uniform(0.6, 1.0)
        t += word + rng.uniform(0.12, 0.6)
    return env


@lru_cache(maxsize=1)
def _face() -> tuple[np.ndarray, tuple[float, float, float]]:
    """256x256 crop of the astronaut portrait and its mouth (centre x, centre y, half-width)."""
    from skimage import data

    image = data.astronaut()[20:300, 100:380]  # RGB, the face and shoulders
    image = cv2.resize(image, (256, 256), interpolation=cv2.INTER_AREA)
    # Mouth position measured once with FaceMesh on this crop (lip corners 61/291, lips 13/14).
    return image, (113.0, 114.0, 19.5)


def _frame(face: np.ndarray, mouth: tuple[float, float, float], opening: float) -> np.ndarray:
    cx, cy, half = mouth
    h, w = face.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    drop = 9.0 * opening  # jaw drop in pixels
    across = np.clip(1 - ((xs - cx) / (half * 1.6)) ** 2, 0, 1)
    below = np.clip(1 - (ys - cy) / 45.0, 0, 1) * (ys >= cy)
    shift = drop * across * below
    warped = cv2.remap(face, xs, ys - shift, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    gap = (ys >= cy) & (ys < cy + shift) & (np.abs(xs - cx) < half * np.sqrt(np.clip(1 - (ys - cy) / max(drop, 1e-3), 0, 1)))
    warped[gap] = (40, 12, 16)
    return warped


# Vowel formants (F1, F2, F3 in Hz); a voice needs them for a speech detector to call it speech.
VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410))


def _voice(envelope_at_audio_rate: np.ndarray, seed: int) -> np.ndarray:
    """A glottal pulse train through vowel formants, a new vowel at each syllable (each dip of
    the envelope), loud where the envelope is."""
    from scipy.signal import find_peaks, lfilter

    rng = np.random.default_rng(seed + 1000)
    env = envelope_at_audio_rate
    n = len(env)
    t = np.arange(n) / SAMPLE_RATE
    f0 = 120 + 15 * np.sin(2 * np.pi * 0.7 * t)
    pulses = np.diff(np.floor(np.cumsum(f0) / SAMPLE_RATE), prepend=0.0)
    source = lfilter([1.0], [1.0, -0.97], pulses) + rng.normal(0, 0.02, n)
    dips, _ = find_peaks(-env, prominence=0.1)  # between syllables
    onsets = np.flatnonzero((env[1:] > 0) & (env[:-1] == 0)) + 1  # words
    bounds = np.unique(np.concatenate([[0], dips, onsets, [n]]))
    voiced = np.zeros(n)
    lead = 400  # the filters start 25 ms early so vowels join smoothly
    for start, stop in zip(bounds[:-1], bounds[1:]):
        formants = VOWELS[rng.integers(len(VOWELS))]
        part = source[max(0, start - lead):stop]
        sound = sum(_resonance(part, f, 80 + 40 * k) / (k + 1) for k, f in enumerate(formants))
        voiced[start:stop] = sound[len(part) - (stop - start):]
    voiced /= np.abs(voiced).max() + 1e-9
    return (0.3 * env * voiced + rng.normal(0, 0.002, n)).astype(np.float32)


def _resonance(x: np.ndarray, freq: float, bandwidth: float) -> np.ndarray:
    from scipy.signal import lfilter

    r = np.exp(-np.pi * bandwidth / SAMPLE_RATE)
    return lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * freq / SAMPLE_RATE), r * r], x)


def make_talking_clip(path: str | Path, seconds: float = 6.0, fps: float = 25.0, seed: int = 0,
                      audio_seed: int | None = None, audio_delay_s: float = 0.0,
                      audio_stream_start_s: float = 0.0, with_audio: bool = True,
                      wav_path: str | Path | None = None, keyframe_every: int | None = None) -> Path:
    """Write an mp4 of the talking astronaut.

    ``audio_seed`` (default: ``seed``) picks the syllables heard; another value gives a
    mismatched clip. ``audio_delay_s`` > 0 makes the sound come later than the mouth (on top
    of the natural articulation lead).
    ``audio_stream_start_s`` sets the audio stream's container start time. ``wav_path``
    also writes the audio alone. ``keyframe_every`` sets the encoder's GOP length (frames).
    """
    import av

    path = Path(path)
    face, mouth = _face()
    video_env = speech_envelope(seconds, fps, seed)
    audio_env_fine = speech_envelope(seconds, SAMPLE_RATE / 10, seed if audio_seed is None else audio_seed)
    audio_env = np.repeat(audio_env_fine, 10)[: int(seconds * SAMPLE_RATE)]
    shift = int(round((audio_delay_s + ARTICULATION_LEAD_S) * SAMPLE_RATE))
    if shift > 0:
        audio_env = np.concatenate([np.zeros(shift), audio_env[:-shift]])
    elif shift < 0:
        audio_env = np.concatenate([audio_env[-shift:], np.zeros(-shift)])
    samples = _voice(audio_env, seed)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w") as container:
        vstream = container.add_stream("libx264", rate=rate)
        vstream.width, vstream.height, vstream.pix_fmt = 256, 256, "yuv420p"
        vstream.options = {"preset": "ultrafast", "crf": "20"}
        if keyframe_every:
            vstream.options = {**vstream.options, "g": str(keyframe_every), "keyint_min": str(keyframe_every)}
        astream = None
        if with_audio:
            astream = container.add_stream("aac", rate=SAMPLE_RATE)
            astream.layout = "mono"
        for i, opening in enumerate(video_env):
            frame = av.VideoFrame.from_ndarray(_frame(face, mouth, float(opening)), format="rgb24")
            for packet in vstream.encode(frame):
                container.mux(packet)
        for packet in vstream.encode():
            container.mux(packet)
        if astream is not None:
            pts0 = int(round(audio_stream_start_s * SAMPLE_RATE))
            block = 1024
            for start in range(0, len(samples), block):
                chunk = samples[start:start + block]
                frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
                frame.sample_rate = SAMPLE_RATE
                frame.pts = pts0 + start
                frame.time_base = Fraction(1, SAMPLE_RATE)
                for packet in astream.encode(frame):
                    container.mux(packet)
            for packet in astream.encode():
                container.mux(packet)
    if wav_path is not None:
        import soundfile

        soundfile.write(str(wav_path), samples, SAMPLE_RATE)
    return path
