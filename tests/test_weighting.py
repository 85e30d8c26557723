"""Per-source window quotas: no one source dominates an epoch."""
import numpy as np
import pytest

from avsync.testing.train_fixtures import write_synthetic_cache
from avsync.train import loop
from avsync.train.config import TrainConfig
from avsync.train.dataset import WindowDataset, load_clips
from avsync.train.weighting import SourceWeighting, source_quotas

SIZES = {"big": 9000, "mid": 900, "small": 100}


def test_power_one_is_in_proportion_and_zero_is_equal():
    assert source_quotas(SIZES, 1000, SourceWeighting(power=1.0)) == {"big": 900, "mid": 90, "small": 10}
    equal = source_quotas(SIZES, 300, SourceWeighting(power=0.0))
    assert equal == {"big": 100, "mid": 100, "small": 100}


def test_share_cap_hands_the_rest_to_other_sources():
    q = source_quotas(SIZES, 1000, SourceWeighting(power=1.0, max_share=0.5))
    assert q["big"] == 500 and sum(q.values()) == 1000
    assert q["mid"] == pytest.approx(9 * q["small"], abs=1)  # the others keep their ratio


def test_repeat_cap_and_zero_weight():
    # Equal weights would give 'small' 1000 of its 100 windows: it stops at 2x, the rest go elsewhere.
    q = source_quotas(SIZES, 3000, SourceWeighting(power=0.0, max_repeat=2.0))
    assert q["small"] == 200 and q["mid"] == 1400 and q["big"] == 1400
    q = source_quotas(SIZES, 1000, SourceWeighting(weights={"big": 0.0}))
    assert q["big"] == 0 and q["mid"] + q["small"] == 1000
    # Every source capped (two at 20% of the epoch, 'small' at its 100 windows): the epoch is shorter.
    assert source_quotas(SIZES, 1000, SourceWeighting(power=0.0, max_share=0.2)) == {"big": 200, "mid": 200, "small": 100}


def test_bad_weighting_is_refused():
    for bad in ({"max_share": 0.0}, {"power": -1.0}, {"max_repeat": 0.0}, {"weights": {"a": -1.0}}):
        with pytest.raises(ValueError):
            SourceWeighting(**bad)
    with pytest.raises(ValueError, match="unknown keys"):
        TrainConfig.from_dict({"sources": {"cap": 0.2}})


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    clips = [("train", "real", 200, "big")] * 6 + [("train", "real", 200, "small"), ("dev", "real", 120, "other")]
    return write_synthetic_cache(root, clips, seed=1)


def _sources(data: WindowDataset) -> np.ndarray:
    return np.array([data.clips[ci].source for ci, _ in data.items])


def test_epoch_follows_the_quotas(cache):
    clips = load_clips(cache, "train")
    assert {c.source for c in clips} == {"big", "small"}
    plain = WindowDataset(clips, stride=3, seed=0)
    plain.set_epoch(0)
    assert np.mean(_sources(plain) == "big") > 0.8  # six clips of one source outweigh the seventh
    weighted = WindowDataset(clips, stride=3, seed=0, sources=SourceWeighting(power=0.0, max_repeat=3.0))
    weighted.set_epoch(0)
    assert len(weighted.items) == pytest.approx(len(plain.items), abs=2)  # the epoch keeps its size
    assert np.mean(_sources(weighted) == "small") == pytest.approx(0.5, abs=0.01)
    small = weighted.items[_sources(weighted) == "small"]
    assert len(small) > weighted.source_sizes["small"]  # more than it has: its windows repeat


def test_inactive_weighting_keeps_the_plain_epoch(cache):
    clips = load_clips(cache, "train")
    a = WindowDataset(clips, stride=3, seed=5)
    b = WindowDataset(clips, stride=3, seed=5, sources=SourceWeighting())
    a.set_epoch(2)
    b.set_epoch(2)
    assert b.quotas is None and np.array_equal(a.items, b.items)


def test_training_logs_the_source_shares(cache, tmp_path):
    cfg = TrainConfig.from_dict({"cache_dir": str(cache), "epochs": 1, "batch_size": 8, "window_stride": 4,
                                 "threads": 1, "model": {"embed_dim": 16, "visual_channels": [8, 8, 16, 16],
                                                         "audio_channels": [8, 8, 16], "lip_hidden": 16},
                                 "sources": {"power": 0.5, "max_share": 0.6, "weights": {"nowhere": 2.0}}})
    loop.train(cfg, tmp_path / "run", progress=False)
    text = (tmp_path / "run" / "train.log").read_text()
    assert "windows per epoch by source (power 0.5, max_share 0.6" in text
    assert "small:" in text and "big:" in text
    assert "sources.weights names no training source (a typo?): nowhere" in text


def test_manifest_repo_becomes_the_clip_source(tmp_path):
    from avsync.sources import read_sources

    (tmp_path / "manifest.csv").write_text("file,category,split,repo\nreal/a.mp4,real,train,Org/Repo\nreal/b.mp4,real,train,\n")
    a, b = read_sources([tmp_path / "manifest.csv"])
    assert (a.source, b.source) == ("Org/Repo", "")
