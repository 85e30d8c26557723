"""The synthetic talking face: the vowel voice's spectrum follows the jaw and the lips."""
import numpy as np
import pytest
import soundfile

from avsync.testing import make_talking_clip, speech_envelope
from avsync.testing.synthetic import ARTICULATION_LEAD_S, SAMPLE_RATE, lip_rounding


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


def test_an_unknown_voice_is_named(tmp_path):
    with pytest.raises(ValueError, match="buzz, vowels"):
        make_talking_clip(tmp_path / "x.mp4", seconds=1.0, voice="whisper")
