import numpy as np
import pytest

from avsync.config import FeatureConfig
from avsync.features.audio import extract_audio_features

SR = 16000


def tone_with_pause(seconds_on=1.0, seconds_off=1.0):
    t = np.arange(int(seconds_on * SR)) / SR
    voiced = 0.3 * np.sin(2 * np.pi * 200 * t)
    return np.concatenate([np.zeros(int(seconds_off * SR)), voiced, np.zeros(int(seconds_off * SR))]).astype(np.float32)


def test_mfcc_uses_syncnet_parameters():
    feats = extract_audio_features(tone_with_pause(), SR, 0.0, FeatureConfig())
    assert feats.mfcc.shape[1] == 13
    assert feats.hop_s == 0.01
    assert abs(len(feats) - 300) <= 2  # 3 s at 100 rows per second


def test_speech_detector_separates_sound_from_silence():
    feats = extract_audio_features(tone_with_pause(), SR, 0.0, FeatureConfig())
    assert feats.speech[110:190].all()
    assert not feats.speech[:80].any() and not feats.speech[-80:].any()
    assert feats.speech_fraction() == pytest.approx(1 / 3, abs=0.08)


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
