"""The synthetic talking face: the vowel voice's spectrum follows the jaw and the lips."""
import numpy as np
import pytest
import soundfile

from avsync.testing import make_talking_clip, speech_envelope
from avsync.testing.synthetic import ARTICULATION_LEAD_S, HISS_SPAN, SAMPLE_RATE, STOP_SPAN, consonants, lip_rounding


def test_vowel_voice_formants_follow_jaw_and_lips(tmp_path):
    seconds, hop = 4.0, 160
    make_talking_clip(tmp_path / "v.mp4", seconds=seconds, seed=2, voice="vowels", wav_path=tmp_path / "v.wav")
    samples, rate = soundfile.read(tmp_path / "v.wav")
    assert rate == SAMPLE_RATE
    frames = np.lib.stride_tricks.sliding_window_view(samples, 512)[::hop]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(512), axis=1))
    freqs = np.fft.rfftfreq(512, 1 / SAMPLE_RATE)
    lead = int(ARTICULATION_LEAD_S * 100)
    opening = speech_envelope(seconds, 100, 2)[: len(frames) - lead]
    rounding = lip_rounding(seconds, 100, 2)[: len(opening)]
    spectrum = spectrum[lead:lead + len(opening)]
    voiced = opening > 0.3
    low = freqs < 1000
    f1 = (spectrum[:, low] * freqs[low]).sum(1) / spectrum[:, low].sum(1)
    high = (freqs > 700) & (freqs < 2300)
    f2 = (spectrum[:, high] * freqs[high]).sum(1) / spectrum[:, high].sum(1)
    assert np.corrcoef(f1[voiced], opening[voiced])[0, 1] > 0.5
    assert np.corrcoef(f2[voiced], rounding[voiced])[0, 1] < -0.5


def test_vowel_voice_has_silent_stops_and_high_hiss(tmp_path):
    seconds, seed = 4.0, 3
    make_talking_clip(tmp_path / "c.mp4", seconds=seconds, seed=seed, voice="vowels", wav_path=tmp_path / "c.wav")
    samples, _ = soundfile.read(tmp_path / "c.wav")
    events = consonants(seconds, seed)
    assert {"stop", "hiss"} <= {kind for _, kind in events}

    def part(onset, span):
        lo = int((onset + ARTICULATION_LEAD_S - span[0]) * SAMPLE_RATE)
        return samples[lo:int((onset + ARTICULATION_LEAD_S + span[1]) * SAMPLE_RATE)]

    def high_share(x):
        power = np.abs(np.fft.rfft(x)) ** 2
        return power[np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE) > 3500].sum() / power.sum()

    loud = np.sqrt(np.mean(samples[np.abs(samples) > 0.01] ** 2))
    closures = [part(t, (STOP_SPAN[0] - 0.01, STOP_SPAN[1] - 0.01)) for t, k in events if k == "stop"]
    assert max(np.sqrt(np.mean(c ** 2)) for c in closures) < 0.1 * loud
    hisses = [high_share(part(t, HISS_SPAN)) for t, k in events if k == "hiss"]
    assert min(hisses) > 0.8 > 0.4 > high_share(samples)


def test_an_unknown_voice_is_named(tmp_path):
    with pytest.raises(ValueError, match="buzz, vowels"):
        make_talking_clip(tmp_path / "x.mp4", seconds=1.0, voice="whisper")
