"""A real face photo whose mouth opens and closes with a speech-like signal, plus matching audio.

The face is NASA's public-domain portrait of Eileen Collins (scikit-image's ``astronaut``),
cropped and shipped as ``astronaut_face.png``. The signal is a train of
syllables (4-6 Hz mouth cycles in words of 0.2-0.7 s, separated by pauses); the audio is a
voice: ``voice="vowels"`` (the default) is a buzz through formants that move with the jaw and
lips, with consonants; ``voice="buzz"`` is glottal pulses through vowel formants, a new vowel per
syllable, loud where the mouth is open (only loudness and syllable timing follow the mouth). Delayed, advanced and mismatched variants come from
shifting the audio or drawing another signal.
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


def _words(seconds: float, seed: int):
    """(start_s, duration_s, syllable_hz, loudness) of each word, drawn in a fixed order from ``seed``."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.1, 0.4)
    while t < seconds:
        word = rng.uniform(0.2, 0.7)
        syllable_hz = rng.uniform(4.0, 6.0)
        yield t, word, syllable_hz, rng.uniform(0.6, 1.0)
        t += word + rng.uniform(0.12, 0.6)


def speech_envelope(seconds: float, rate: float, seed: int) -> np.ndarray:
    """Mouth opening in [0, 1] sampled at ``rate`` Hz: words of syllables separated by pauses."""
    n = int(round(seconds * rate))
    env = np.zeros(n)
    for start, word, syllable_hz, loudness in _words(seconds, seed):
        lo, hi = int(start * rate), min(n, int((start + word) * rate))
        phase = np.arange(hi - lo) / rate * syllable_hz * 2 * np.pi
        env[lo:hi] = np.clip(0.55 - 0.45 * np.cos(phase), 0, 1) * loudness
    return env


# Consonant spans around a syllable onset (seconds before, after): lips shut then a burst (/p b/),
# or teeth almost closed over a hiss (/s/).
STOP_SPAN, HISS_SPAN = (0.04, 0.02), (0.07, 0.03)


def consonants(seconds: float, seed: int) -> list[tuple[float, str]]:
    """(onset_s, kind) for the syllables that start with a consonant: kind ``stop`` or ``hiss``."""
    rng = np.random.default_rng(seed + 700)
    found = []
    for start, word, syllable_hz, _ in _words(seconds, seed):
        for onset in start + np.arange(0, word, 1 / syllable_hz):
            kind = rng.choice(["stop", "hiss", "vowel"], p=[0.35, 0.3, 0.35])
            if kind != "vowel" and onset < seconds:
                found.append((float(onset), str(kind)))
    return found


def _spans(events, kind: str, span: tuple[float, float], n: int, rate: float) -> np.ndarray:
    mask = np.zeros(n, bool)
    for onset, k in events:
        if k == kind:
            mask[max(0, int((onset - span[0]) * rate)):max(0, int((onset + span[1]) * rate))] = True
    return mask


def articulate(opening: np.ndarray, events, rate: float) -> np.ndarray:
    """The mouth opening with each consonant's closure: shut for a stop, nearly shut for a hiss."""
    opening = opening.copy()
    opening[_spans(events, "stop", STOP_SPAN, len(opening), rate)] = 0.0
    hiss = _spans(events, "hiss", HISS_SPAN, len(opening), rate)
    opening[hiss] = np.minimum(opening[hiss], 0.15)
    return opening


FACE_PNG = Path(__file__).with_name("astronaut_face.png")


@lru_cache(maxsize=1)
def _face() -> tuple[np.ndarray, tuple[float, float, float]]:
    """256x256 RGB crop of the astronaut portrait and its mouth (centre x, centre y, half-width)."""
    # scikit-image's astronaut()[20:300, 100:380] resized with INTER_AREA, shipped as a lossless PNG
    # so that a user install (no scikit-image) can make clips too.
    image = cv2.cvtColor(cv2.imread(str(FACE_PNG), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    # Mouth position measured once with FaceMesh on this crop (lip corners 61/291, lips 13/14).
    return image, (113.0, 114.0, 19.5)


def lip_rounding(seconds: float, rate: float, seed: int) -> np.ndarray:
    """Lip rounding in [0, 1] sampled at ``rate`` Hz: one value per vowel of 0.12-0.3 s, eased in."""
    rng = np.random.default_rng(seed + 500)
    n = int(round(seconds * rate))
    times = np.arange(n) / rate
    bounds = np.cumsum(rng.uniform(0.12, 0.3, int(seconds / 0.12) + 2))
    values = rng.uniform(0, 1, len(bounds) + 1)
    steps = values[np.searchsorted(bounds, times)]
    ease = max(1, int(round(0.06 * rate)))  # lips take ~60 ms to move from one vowel to the next
    return np.convolve(np.pad(steps, (ease, ease), mode="edge"), np.ones(ease) / ease, "same")[ease:ease + n]


def _frame(face: np.ndarray, mouth: tuple[float, float, float], opening: float, rounding: float = 0.0) -> np.ndarray:
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
    if rounding > 0:  # rounded lips: the mouth narrows towards its centre
        near = np.exp(-((xs - cx) / (half * 1.8)) ** 2 - ((ys - cy - drop / 2) / (14 + drop)) ** 2)
        warped = cv2.remap(warped, xs + (xs - cx) * 0.4 * rounding * near, ys, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
    return warped


# Vowel formants (F1, F2, F3 in Hz); a voice needs them for a speech detector to call it speech.
VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410))


def _buzz(mouth: dict[str, np.ndarray], seed: int, pitch_hz: float) -> np.ndarray:
    """A glottal pulse train through vowel formants, a new vowel at each syllable (each dip of
    the envelope), loud where the mouth opens: the loudness and the syllable timing carry the coupling."""
    from scipy.signal import find_peaks, lfilter

    envelope_at_audio_rate = mouth["opening"]
    rng = np.random.default_rng(seed + 1000)
    env = envelope_at_audio_rate
    n = len(env)
    t = np.arange(n) / SAMPLE_RATE
    f0 = pitch_hz + pitch_hz / 8 * np.sin(2 * np.pi * 0.7 * t)
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


def _vowels(mouth: dict[str, np.ndarray], seed: int, pitch_hz: float) -> np.ndarray:
    """Source-filter speech: a glottal buzz through formants that move with the mouth, and consonants.

    A wider jaw opening raises the first formant (closed /i u/ near 280 Hz, open /a/ near 800 Hz);
    rounded lips lower the second (/i/ near 2200 Hz, /u/ near 800 Hz). So the spectrum's shape,
    which MFCCs see, follows the mouth as in real vowels, not only the loudness. Stops are silent
    while the lips are shut and end in a broadband burst; a hiss is noise above 3.5 kHz.
    """
    from scipy.signal import butter, istft, sosfilt, stft

    rng = np.random.default_rng(seed + 1000)
    opening, rounding = mouth["opening"], mouth["rounding"]
    n = len(opening)
    t = np.arange(n) / SAMPLE_RATE
    f0 = pitch_hz * (1 + 0.12 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    harmonics = int(4000 // (pitch_hz * 1.15))
    source = sum(np.sin(k * phase) for k in range(1, harmonics)) / np.sqrt(harmonics) + rng.normal(0, 0.1, n)
    hop, window = 160, 512
    freqs, times, spectrum = stft(source, SAMPLE_RATE, nperseg=window, noverlap=window - hop)
    at = np.clip((times * SAMPLE_RATE).astype(int), 0, n - 1)
    o, r = opening[at], rounding[at]
    f = freqs[:, None]

    def formant(centre, width, gain):
        return gain * np.exp(-0.5 * ((f - centre) / width) ** 2)

    shape = formant(280 + 520 * o, 90, 1.0) + formant(2200 - 1400 * r, 120, 0.6) + formant(2500, 200, 0.3) + 0.02
    _, speech = istft(spectrum * shape * o[None, :], SAMPLE_RATE, nperseg=window, noverlap=window - hop)
    speech = np.pad(speech[:n], (0, max(0, n - len(speech)))) / (np.abs(speech).max() + 1e-9) * 0.5
    hiss = sosfilt(butter(4, 3500, "highpass", fs=SAMPLE_RATE, output="sos"), rng.normal(0, 1, n))
    speech += 0.08 * mouth["hiss"] * hiss / hiss.std() + 0.15 * mouth["burst"] * rng.normal(0, 1, n)
    return (speech + rng.normal(0, 0.002, n)).astype(np.float32)


VOICES = {"buzz": _buzz, "vowels": _vowels}


def _shifted(signal: np.ndarray, shift: int) -> np.ndarray:
    """``signal`` later by ``shift`` samples (earlier when negative), zero-filled."""
    if shift > 0:
        return np.concatenate([np.zeros(shift), signal[:-shift]])
    if shift < 0:
        return np.concatenate([signal[-shift:], np.zeros(-shift)])
    return signal


def make_talking_clip(path: str | Path, seconds: float = 6.0, fps: float = 25.0, seed: int = 0,
                      audio_seed: int | None = None, audio_delay_s: float = 0.0,
                      audio_stream_start_s: float = 0.0, with_audio: bool = True,
                      wav_path: str | Path | None = None, keyframe_every: int | None = None,
                      voice: str = "vowels", pitch_hz: float = 120.0) -> Path:
    """Write an mp4 of the talking astronaut.

    ``audio_seed`` (default: ``seed``) picks the syllables heard; another value gives a
    mismatched clip. ``audio_delay_s`` > 0 makes the sound come later than the mouth (on top
    of the natural articulation lead).
    ``audio_stream_start_s`` sets the audio stream's container start time. ``wav_path``
    also writes the audio alone. ``keyframe_every`` sets the encoder's GOP length (frames).
    ``voice`` is ``buzz`` (loudness follows the mouth) or ``vowels`` (formants follow it too, which
    the learned model reads far more confidently); ``pitch_hz`` is the speaker's mean pitch.
    """
    import av

    if voice not in VOICES:
        raise ValueError(f"voice must be one of {', '.join(VOICES)}, not {voice!r}")
    path = Path(path)
    face, mouth = _face()
    video_env = speech_envelope(seconds, fps, seed)
    audio_env_fine = speech_envelope(seconds, SAMPLE_RATE / 10, seed if audio_seed is None else audio_seed)
    audio_env = np.repeat(audio_env_fine, 10)[: int(seconds * SAMPLE_RATE)]
    heard_seed = seed if audio_seed is None else audio_seed
    n = len(audio_env)
    heard = {"opening": audio_env, "rounding": np.zeros(n), "burst": np.zeros(n), "hiss": np.zeros(n)}
    video_rounding = np.zeros(len(video_env))
    if voice == "vowels":  # the buzz carries neither vowel colour nor consonants: its face only opens
        video_rounding = lip_rounding(seconds, fps, seed)
        video_env = articulate(video_env, consonants(seconds, seed), fps)
        events = consonants(seconds, heard_seed)
        heard["rounding"] = np.repeat(lip_rounding(seconds, SAMPLE_RATE / 10, heard_seed), 10)[:n]
        heard["opening"] = articulate(audio_env, events, SAMPLE_RATE)
        heard["burst"] = _spans([(t + STOP_SPAN[1] + 0.01, k) for t, k in events], "stop", (0.01, 0.0), n,
                                SAMPLE_RATE).astype(float)
        heard["hiss"] = _spans(events, "hiss", HISS_SPAN, n, SAMPLE_RATE).astype(float)
    shift = int(round((audio_delay_s + ARTICULATION_LEAD_S) * SAMPLE_RATE))
    samples = VOICES[voice]({k: _shifted(a, shift) for k, a in heard.items()}, seed, pitch_hz)
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
        for opening, rounding in zip(video_env, video_rounding):
            frame = av.VideoFrame.from_ndarray(_frame(face, mouth, float(opening), float(rounding)), format="rgb24")
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
