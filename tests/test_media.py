import numpy as np
import pytest

from avsync.media import MediaError, VideoReader, load_audio, probe


def test_probe_reads_streams_and_start_times(synthetic_clips):
    info = probe(synthetic_clips["matched"])
    assert info.has_video and info.has_audio
    assert info.fps == pytest.approx(25.0)
    late = probe(synthetic_clips["late_stream"])
    # AAC priming moves the container start a little earlier than the first audible sample
    assert late.audio_start_s - late.video_start_s == pytest.approx(0.3, abs=0.08)


def test_video_is_read_in_chunks_with_times(synthetic_clips):
    reader = VideoReader(str(synthetic_clips["matched"]), chunk_frames=16)
    chunks = list(reader.chunks())
    assert max(len(c.frames) for c in chunks) == 16
    assert sum(len(c.frames) for c in chunks) == len(reader) == 150
    times = np.concatenate([c.times_s for c in chunks])
    assert np.allclose(np.diff(times), 0.04, atol=1e-3)
    assert chunks[0].frames.shape[1:] == (256, 256, 3)


def test_analysis_step_halves_frames(synthetic_clips):
    reader = VideoReader(str(synthetic_clips["matched"]), step=2)
    assert len(reader) == 75 and reader.fps == pytest.approx(12.5)


def test_audio_decodes_to_16k_mono(synthetic_clips):
    samples = load_audio(str(synthetic_clips["matched"]))
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert len(samples) / 16000 == pytest.approx(6.0, abs=0.1)
    wav = load_audio(str(synthetic_clips["wav"]))
    assert len(wav) == pytest.approx(len(samples), abs=2000)


def test_audio_decodes_one_channel_alone(tmp_path):
    """A channel alone, resampled as the downmix is: the downmix is the channels' sum, scaled."""
    import soundfile

    from avsync.media.audio import channel_levels, decode_audio

    rng = np.random.default_rng(0)
    left = np.sin(2 * np.pi * 220 * np.arange(44100) / 44100) * 0.5
    stereo = np.stack([left, 0.3 * rng.standard_normal(44100)], axis=1).astype(np.float32)
    path = tmp_path / "stereo.wav"
    soundfile.write(str(path), stereo, 44100)
    mono = decode_audio(str(path))
    apart = [decode_audio(str(path), channel=c) for c in (0, 1)]
    assert mono.channels == apart[0].channels == 2
    assert all(a.samples.shape == mono.samples.shape for a in apart)
    total = apart[0].samples + apart[1].samples
    scale = float(np.dot(mono.samples, total) / np.dot(total, total))
    assert scale > 0 and np.allclose(scale * total, mono.samples, atol=1e-4)
    assert np.corrcoef(apart[0].samples, np.sin(2 * np.pi * 220 * np.arange(16000) / 16000))[0, 1] > 0.99
    levels = channel_levels(str(path))  # streamed: the RMS of each channel as decode_audio gives it
    assert np.allclose(levels, [np.sqrt(np.mean(a.samples.astype(np.float64) ** 2)) for a in apart], rtol=1e-4)


@pytest.mark.parametrize("name, code", [("missing", "not_found"), ("empty", "empty_file"), ("text", "not_media")])
def test_bad_paths_raise_media_errors(tmp_path, name, code):
    path = tmp_path / "x.mp4"
    if name == "empty":
        path.write_bytes(b"")
    elif name == "text":
        path.write_text("this is not a video\n" * 20)
    with pytest.raises(MediaError) as info:
        probe(path)
    assert info.value.code == code


@pytest.mark.parametrize("start", [25, 30])
def test_reading_from_a_later_frame_gives_the_same_frames(synthetic_clips, start):
    reader = VideoReader(synthetic_clips["delayed"], chunk_frames=16)
    assert 25 in reader.seek_points()
    whole = np.concatenate([c.frames for c in reader.chunks()])
    later = list(reader.chunks(start, start + 40))
    assert later[0].indices[0] == start
    np.testing.assert_array_equal(np.concatenate([c.frames for c in later]), whole[start:start + 40])


def test_a_url_or_stdin_is_named_as_given_and_not_read():
    from avsync.media.probe import check_path

    with pytest.raises(MediaError) as info:
        check_path("https://example.com/talk.mp4")
    assert info.value.code == "not_found"
    assert "https://example.com/talk.mp4" in info.value.message and "local files only" in info.value.message
    with pytest.raises(MediaError) as info:
        check_path("-")
    assert info.value.code == "not_found" and "standard input is not read" in info.value.message
