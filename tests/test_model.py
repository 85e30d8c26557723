"""SyncNet-lite: shapes, the segment/window equivalence, invariances, checkpoints and the scorer."""
import json
import math

import numpy as np
import pytest
import torch

from avsync.models.checkpoint import CheckpointError, load_checkpoint, load_optim_state, save_checkpoint
from avsync.models.syncnet_lite import ModelConfig, SyncNetLite, lip_features, normalize_mfcc
from avsync.scoring.base import SCORERS
from avsync.scoring.learned import SyncNetLiteScorer, _segments, model_windows
from avsync.testing.train_fixtures import synthetic_clip_arrays
from avsync.train.dataset import Clip

TINY = ModelConfig(embed_dim=16, visual_channels=[8, 8, 16, 16], audio_channels=[8, 8, 16], lip_hidden=16)


def _model(cfg=TINY, seed=0):
    torch.manual_seed(seed)
    return SyncNetLite(cfg).eval()


def _inputs(b, seed=0):
    g = torch.Generator().manual_seed(seed)
    crops = torch.randint(0, 256, (b, 5, 48, 96), generator=g, dtype=torch.uint8)
    lips = torch.rand(b, 5, 40, 2, generator=g)
    opening = torch.rand(b, 5, generator=g)
    return crops, lips, opening


@pytest.mark.parametrize("normalize", [True, False])
def test_embedding_shapes_and_norms(normalize):
    cfg = ModelConfig(normalize=normalize)
    model = _model(cfg)
    crops, lips, opening = _inputs(3)
    with torch.no_grad():
        v = model.embed_visual(crops, lips, opening)
        a = model.embed_audio(torch.randn(4, 20, 13))
        seg = model.embed_audio_segment(torch.randn(2, 140, 13))
    assert v.shape == (3, cfg.embed_dim) and a.shape == (4, cfg.embed_dim)
    assert seg.shape == (2, 31, cfg.embed_dim)
    norms = v.norm(dim=1)
    assert torch.allclose(norms, torch.ones(3), atol=1e-5) == normalize


def test_default_model_is_small():
    assert SyncNetLite().n_params() < 2_000_000


def test_model_without_lips_ignores_landmarks():
    model = _model(ModelConfig(embed_dim=16, visual_channels=[8, 8, 16, 16], audio_channels=[8, 8, 16], use_lips=False))
    crops, _, _ = _inputs(2)
    with torch.no_grad():
        assert model.embed_visual(crops).shape == (2, 16)
    with pytest.raises(ValueError):
        _model().embed_visual(crops)  # a lips model needs landmarks


@pytest.mark.parametrize("window", [5, 7])
def test_audio_segment_equals_separate_windows(window):
    """The trunk has no time padding and stride 4: a segment pass must equal per-window passes."""
    model = _model(TINY.replace(window_frames=window))
    hops = 4 * window
    seg = torch.randn(2, 120 + hops, 13)
    with torch.no_grad():
        together = model.embed_audio_segment(seg)
        apart = torch.stack([model.embed_audio(seg[:, 4 * k:4 * k + hops]) for k in range(31)], dim=1)
    assert together.shape == (2, 31, 16)
    assert torch.allclose(together, apart, atol=1e-5)
    # A window that differs only outside its rows gives the same embedding.
    seg2 = seg.clone()
    seg2[:, hops:] = 0
    with torch.no_grad():
        assert torch.allclose(model.embed_audio_segment(seg2)[:, 0], together[:, 0], atol=1e-5)
        assert not torch.allclose(model.embed_audio_segment(seg2)[:, 1], together[:, 1], atol=1e-3)


def test_visual_embedding_ignores_global_brightness_and_contrast():
    model = _model()
    crops, lips, opening = _inputs(2)
    dimmer = crops.float() * 0.5 + 20  # stays inside 0..255: no clipping
    with torch.no_grad():
        a = model.embed_visual(crops, lips, opening)
        b = model.embed_visual(dimmer, lips, opening)
    assert torch.allclose(a, b, atol=1e-2)


def test_lip_features_are_similarity_invariant_and_handle_lost_frames():
    arrays = synthetic_clip_arrays(np.random.default_rng(1), 40)  # mouth-shaped: wider than tall
    lips = torch.from_numpy(arrays["lips"][np.array([[0, 1, 2, 3, 4], [20, 21, 22, 23, 24]])])
    opening = torch.from_numpy(arrays["opening"][np.array([[0, 1, 2, 3, 4], [20, 21, 22, 23, 24]])])
    angle = math.radians(20)
    rot = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    moved = (lips - 0.5) @ rot.T * 300 + torch.tensor([640.0, 360.0])  # crop coords -> "pixels"
    assert torch.allclose(lip_features(lips, opening), lip_features(moved, opening), atol=1e-3)
    lost = lips.clone()
    lost[0, 2] = float("nan")
    op = opening.clone()
    op[0, 2] = float("nan")
    feats = lip_features(lost, op)
    assert torch.isfinite(feats).all()
    all_lost = torch.full_like(lips, float("nan"))
    assert torch.isfinite(lip_features(all_lost, torch.full_like(opening, float("nan")))).all()
    # Motion matters: a frame with a different shape changes the features.
    other = lips.clone()
    other[:, 3, :, 1] *= 1.5
    assert not torch.allclose(lip_features(lips, opening), lip_features(other, opening), atol=1e-3)


def test_checkpoint_round_trip(tmp_path):
    model = _model()
    opt = torch.optim.AdamW(model.parameters())
    model(*_inputs(2), torch.randn(2, 140, 13), 31)[0].sum().backward()
    opt.step()
    path = save_checkpoint(tmp_path / "m.safetensors", model, epoch=3, metrics={"dev_acc_w5": 0.5},
                           train_config={"lr": 1e-3}, optim_state={"optimizer": opt.state_dict(), "best": 0.5})
    loaded, meta = load_checkpoint(path)
    assert meta["epoch"] == 3 and meta["metrics"]["dev_acc_w5"] == 0.5 and meta["train"]["lr"] == 1e-3
    assert ModelConfig.from_dict(meta["model"]) == TINY
    x = _inputs(2, seed=5)
    with torch.no_grad():
        assert torch.equal(model.embed_visual(*x), loaded.embed_visual(*x))
    state = load_optim_state(path)
    opt2 = torch.optim.AdamW(loaded.parameters())
    opt2.load_state_dict(state["optimizer"])
    assert state["best"] == 0.5 and len(opt2.state) == len(opt.state)


def test_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no such"):
        load_checkpoint(tmp_path / "none.safetensors")
    path = save_checkpoint(tmp_path / "m.safetensors", _model(), epoch=0)
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["format"] = "other"
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="not a SyncNet-lite"):
        load_checkpoint(path)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    bad.with_suffix(".json").write_text(path.with_suffix(".json").read_text().replace('"other"', '"avsync.syncnet_lite/1"'))
    with pytest.raises(CheckpointError, match="cannot load"):
        load_checkpoint(bad)


@pytest.fixture
def clip():
    arrays = synthetic_clip_arrays(np.random.default_rng(3), 80)
    return Clip(id="c", category="real", crops=arrays["crops"], lips=arrays["lips"], opening=arrays["opening"],
                times_s=arrays["times_s"], mfcc=arrays["mfcc"], speech=arrays["speech"], t0_s=0.0, hop_s=0.01, fps=25.0)


def test_scorer_registered_and_built_from_checkpoint(tmp_path, clip):
    assert SCORERS["syncnet_lite"] is SyncNetLiteScorer
    path = save_checkpoint(tmp_path / "m.safetensors", _model(), epoch=0)
    scorer = SyncNetLiteScorer(path)
    assert scorer.describe()["name"] == "syncnet_lite" and scorer.version.startswith("sha256:")
    offsets = np.arange(-15, 16)
    d = scorer.distances(clip.track(), clip.audio(), offsets, 0.04)
    assert d.shape == (76, 31)
    assert np.isnan(d[0, 0]) and np.isfinite(d[30, 15])  # audio before the recording is masked


def test_the_window_length_travels_with_the_checkpoint(tmp_path, clip):
    """A checkpoint says how long its windows are, and the scorer built from it scores that many
    frames and MFCC rows; sidecars written before the key existed mean 5."""
    path = save_checkpoint(tmp_path / "w7.safetensors", _model(TINY.replace(window_frames=7)), epoch=0)
    assert json.loads(path.with_suffix(".json").read_text())["model"]["window_frames"] == 7
    scorer = SyncNetLiteScorer(path)
    assert (scorer.window_frames, scorer.audio_window_hops) == (7, 28)
    d = scorer.distances(clip.track(), clip.audio(), np.arange(-15, 16), 0.04)
    assert d.shape == (74, 31) and np.isfinite(d[30, 15])
    assert ModelConfig.from_dict({}).window_frames == 5
    with pytest.raises(ValueError, match="window_frames"):
        ModelConfig(window_frames=2)


@pytest.mark.parametrize("window", [5, 7])
def test_scorer_audio_matches_per_window_embedding(clip, window):
    model = _model(TINY.replace(window_frames=window))
    scorer = SyncNetLiteScorer.from_model(model)
    hops = 4 * window
    rng = np.random.default_rng(0)
    starts = np.unique(np.concatenate([np.arange(0, 100, 4), rng.integers(0, len(clip.mfcc) - hops, 25)]))
    starts = rng.permutation(starts)
    got = scorer.embed_audio(clip.audio(), starts)
    norm = torch.from_numpy(normalize_mfcc(clip.mfcc))
    with torch.no_grad():
        want = model.embed_audio(torch.stack([norm[s:s + hops] for s in starts])).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    with pytest.raises(ValueError):
        scorer.embed_audio(clip.audio(), np.array([len(clip.mfcc) - 5]))


def test_segments_cover_every_start_once():
    starts = np.array([0, 4, 8, 200, 204, 1, 5, 9999, 3, 8])
    seen = []
    for rows, where in _segments(starts):
        assert np.all(rows % 4 == rows[0] % 4) and np.all(np.diff(rows) >= 0)
        assert np.array_equal(starts[where], rows)
        seen.extend(where.tolist())
    assert sorted(seen) == list(range(len(starts)))


@pytest.mark.parametrize("window", [5, 7])
def test_visual_windows_match_model(clip, window):
    model = _model(TINY.replace(window_frames=window))
    scorer = SyncNetLiteScorer.from_model(model)
    emb = scorer.embed_visual(clip.track())
    assert emb.shape == (81 - window, 16)
    part = slice(10, 10 + window)
    with torch.no_grad():
        want = model.embed_visual(torch.from_numpy(clip.crops[part])[None], torch.from_numpy(clip.lips[part])[None],
                                  torch.from_numpy(clip.opening[part])[None]).numpy()
    np.testing.assert_allclose(emb[10], want[0], atol=1e-5)


def test_visual_windows_span_the_models_40ms_grid_at_other_frame_rates(clip):
    """At 50 fps a window anchored on an even frame holds exactly the 25 fps clip's frames, and at
    30 fps it holds frames interpolated 40 ms apart (as training samples them), never 5 frames
    33 ms apart."""
    scorer = SyncNetLiteScorer.from_model(_model())
    slow = clip.track()
    fast = clip.track()
    n = len(slow)
    double = lambda a: np.repeat(a, 2, axis=0)[:2 * n - 1]  # odd frames: copies, overwritten below
    fast.crops, fast.lips, fast.opening = double(slow.crops), double(slow.lips), double(slow.opening)
    fast.crops[1::2] = np.random.default_rng(1).integers(0, 256, fast.crops[1::2].shape, dtype=np.uint8)
    fast.times_s = slow.times_s[0] + np.arange(2 * n - 1) * 0.02
    fast.frames = np.arange(2 * n - 1)
    got = scorer.embed_visual(fast)
    want = scorer.embed_visual(slow)
    assert len(got) == 2 * n - 1 - 8  # the last window must end on the last frame
    np.testing.assert_allclose(got[::2], want, atol=1e-5)
    assert not np.allclose(got[1], want[0], atol=1e-3)

    thirty = clip.track()
    thirty.times_s = slow.times_s[0] + np.arange(n) / 30.0
    pos = model_windows(thirty.times_s, n, 5)
    np.testing.assert_allclose(np.diff(pos, axis=1), 1.2, atol=1e-9)
    assert pos[-1, -1] <= n - 1 < pos[-1, -1] + 1.2 + 1e-9
    assert len(scorer.embed_visual(thirty)) == len(pos)
