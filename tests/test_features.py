import numpy as np
import pytest

from avsync.config import FeatureConfig
from avsync.features.audio import extract_audio_features, speech_probability
from avsync.testing.synthetic import _buzz

SR = 16000


def tone_with_pause(seconds_on=1.0, seconds_off=1.0):
    """Silence, a vowel-formant voice in 5 Hz syllables, silence."""
    n_on, n_off = int(seconds_on * SR), int(seconds_off * SR)
    voiced = _buzz({"opening": 0.55 - 0.45 * np.cos(2 * np.pi * 5 * np.arange(n_on) / SR)}, seed=3, pitch_hz=120.0)
    return np.concatenate([np.zeros(n_off), voiced, np.zeros(n_off)]).astype(np.float32)


def music(seconds=8.0, seed=0):
    """Notes with harmonics on a beat, and a noise drum: loud, rhythmic, and not speech."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * SR))
    note = int(0.25 * SR)
    t = np.arange(note) / SR
    for start in range(0, len(out) - note, note):
        f0 = 220 * 2 ** (rng.integers(0, 12) / 12)
        tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8)) * np.exp(-3 * t)
        drum = rng.normal(0, 1, note) * np.exp(-40 * t) if start % (2 * note) == 0 else 0
        out[start:start + note] += 0.2 * tone + 0.3 * drum
    return out.astype(np.float32)


def test_mfcc_uses_syncnet_parameters():
    feats = extract_audio_features(tone_with_pause(), SR, 0.0, FeatureConfig())
    assert feats.mfcc.shape[1] == 13
    assert feats.hop_s == 0.01
    assert abs(len(feats) - 300) <= 2  # 3 s at 100 rows per second


def test_speech_detector_separates_sound_from_silence():
    feats = extract_audio_features(tone_with_pause(), SR, 0.0, FeatureConfig())
    assert feats.speech[115:180].all()
    assert not feats.speech[:80].any() and not feats.speech[-80:].any()
    assert feats.speech_fraction() == pytest.approx(1 / 3, abs=0.1)


@pytest.mark.parametrize("sound", ["music", "noise"])
def test_music_and_noise_are_not_speech(sound):
    samples = music() if sound == "music" else np.random.default_rng(0).normal(0, 0.2, 8 * SR).astype(np.float32)
    feats = extract_audio_features(samples, SR, 0.0, FeatureConfig())
    assert feats.speech_fraction() < FeatureConfig().vad_min_speech_fraction


def test_batched_pieces_give_the_one_pass_probabilities():
    samples = np.tile(tone_with_pause(), 4)
    pieces, window_s = speech_probability(samples, SR, piece_s=2.0)
    whole, _ = speech_probability(samples, SR, piece_s=1000.0)
    assert window_s == pytest.approx(0.032) and len(pieces) == len(whole) == -(-len(samples) // 512)
    assert ((pieces > 0.5) == (whole > 0.5)).mean() > 0.97


def test_alignment_to_video_time_honours_the_audio_start():
    feats = extract_audio_features(tone_with_pause(), SR, 0.5, FeatureConfig())
    # the tone starts 1.0 s into the audio, which itself starts 0.5 s into the video
    assert feats.index_at(np.array([1.5]))[0] == 100
    on = feats.speech_at(np.array([0.6, 1.7, 2.2, 5.0]), span_s=0.2)
    assert on.tolist() == [False, True, True, False]


def test_too_short_audio_gives_empty_features():
    feats = extract_audio_features(np.zeros(100, np.float32), SR, 0.0, FeatureConfig())
    assert len(feats) == 0 and feats.speech_fraction() == 0.0


@pytest.mark.parametrize("n_samples", [400, 16000 * 3 + 77, 16000 * 5])
def test_blockwise_mfcc_equals_one_python_speech_features_call(n_samples):
    from python_speech_features import mfcc

    samples = np.random.default_rng(0).normal(0, 0.1, n_samples).astype(np.float32)
    cfg = FeatureConfig()
    whole = mfcc(samples, samplerate=SR, numcep=13, winlen=0.025, winstep=0.01, nfilt=26, nfft=512)
    blocks = extract_audio_features(samples, SR, 0.0, cfg, block_frames=97)
    assert blocks.mfcc.shape == whole.shape
    np.testing.assert_allclose(blocks.mfcc, whole, rtol=1e-4, atol=1e-3)
    one_block = extract_audio_features(samples, SR, 0.0, cfg, block_frames=10**6)
    np.testing.assert_array_equal(blocks.log_energy, one_block.log_energy)


def test_speech_probability_through_onnxruntime_equals_silero_on_torch():
    """The ONNX graph run window by window gives silero's own (torch) probabilities."""
    import torch
    from silero_vad import load_silero_vad

    from avsync.features.audio import speech_probability

    samples = tone_with_pause(2.0, 1.0)
    ours, window_s = speech_probability(samples, SR, piece_s=30.0)
    win, warm = 512, int(0.5 * SR / 512)
    n = -(-len(samples) // win)
    padded = np.zeros((n + n + warm) * win, np.float32)
    padded[warm * win: warm * win + len(samples)] = samples
    model = load_silero_vad()
    model.reset_states()
    with torch.inference_mode():
        theirs = model.audio_forward(torch.from_numpy(padded[None, :(n + warm) * win]), SR).numpy()[0, warm:][:n]
    assert window_s == win / SR
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    assert (ours > 0.5).any() and (ours < 0.5).any()
