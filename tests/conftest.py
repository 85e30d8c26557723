import os
from pathlib import Path

import pytest

os.environ.setdefault("GLOG_minloglevel", "2")

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason=f"corpus not found at {CORPUS}")
    for item in items:
        if "corpus" in item.keywords and not (CORPUS / "manifest.csv").exists():
            item.add_marker(skip)


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def write_files():
    """``write_files(root, ["a.mp4", "sub/b.wav"])``: small files (each holding its own name) under root."""
    def write(root: Path, names: list[str]) -> None:
        for name in names:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(name.encode())
    return write


@pytest.fixture(scope="session")
def synthetic_clips(tmp_path_factory):
    """Talking-astronaut clips: matched, audio delayed 200 ms, advanced 120 ms, another voice,
    audio stream starting 0.3 s late, no audio, and the matched audio alone as a wav."""
    from avsync.testing import make_talking_clip

    root = tmp_path_factory.mktemp("synthetic")
    clips = {
        "matched": make_talking_clip(root / "matched.mp4", seed=1, wav_path=root / "matched.wav"),
        "delayed": make_talking_clip(root / "delayed.mp4", seed=1, audio_delay_s=0.2, keyframe_every=25),
        "advanced": make_talking_clip(root / "advanced.mp4", seed=1, audio_delay_s=-0.12),
        "mismatched": make_talking_clip(root / "mismatched.mp4", seed=1, audio_seed=7),
        "late_stream": make_talking_clip(root / "late_stream.mp4", seed=1, audio_stream_start_s=0.3),
        "silent_video": make_talking_clip(root / "silent_video.mp4", seed=1, with_audio=False),
    }
    clips["wav"] = root / "matched.wav"
    return clips
