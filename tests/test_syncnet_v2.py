"""syncnet_python checkpoint loading, the syncnet_v2 scorer and the original's face-crop geometry."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from avsync.features.audio import AudioFeatures
from avsync.frontend.face_crop import PAD_VALUE, scale_box, smooth_face_boxes, syncnet_face_crop
from avsync.frontend.track import MouthTrack
from avsync.models.syncnet_v2 import SyncNetCheckpointError, load_syncnet_v2
from avsync.scoring.base import SCORERS, Scorer
from avsync.scoring.registry import ModelSpecError, resolve_scorer
from avsync.scoring.syncnet_v2 import SyncNetV2Scorer

# The original's layers, written out independently of avsync's model code:
# (sequential name, index, kind, weight shape). BatchNorm entries carry the channel count.
ORIGINAL_LAYOUT = [
    ("netcnnaud", 0, "conv", (64, 1, 3, 3)), ("netcnnaud", 1, "bn", 64),
    ("netcnnaud", 4, "conv", (192, 64, 3, 3)), ("netcnnaud", 5, "bn", 192),
    ("netcnnaud", 8, "conv", (384, 192, 3, 3)), ("netcnnaud", 9, "bn", 384),
    ("netcnnaud", 11, "conv", (256, 384, 3, 3)), ("netcnnaud", 12, "bn", 256),
    ("netcnnaud", 14, "conv", (256, 256, 3, 3)), ("netcnnaud", 15, "bn", 256),
    ("netcnnaud", 18, "conv", (512, 256, 5, 4)), ("netcnnaud", 19, "bn", 512),
    ("netfcaud", 0, "conv", (512, 512)), ("netfcaud", 1, "bn", 512), ("netfcaud", 3, "conv", (1024, 512)),
    ("netfclip", 0, "conv", (512, 512)), ("netfclip", 1, "bn", 512), ("netfclip", 3, "conv", (1024, 512)),
    ("netcnnlip", 0, "conv", (96, 3, 5, 7, 7)), ("netcnnlip", 1, "bn", 96),
    ("netcnnlip", 4, "conv", (256, 96, 1, 5, 5)), ("netcnnlip", 5, "bn", 256),
    ("netcnnlip", 8, "conv", (256, 256, 1, 3, 3)), ("netcnnlip", 9, "bn", 256),
    ("netcnnlip", 11, "conv", (256, 256, 1, 3, 3)), ("netcnnlip", 12, "bn", 256),
    ("netcnnlip", 14, "conv", (256, 256, 1, 3, 3)), ("netcnnlip", 15, "bn", 256),
    ("netcnnlip", 18, "conv", (512, 256, 1, 6, 6)), ("netcnnlip", 19, "bn", 512),
]


def original_state_dict(seed: int = 0, batch_counters: bool = False) -> dict[str, torch.Tensor]:
    """A random checkpoint with syncnet_python's key layout, scaled so activations stay moderate."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for seq, idx, kind, shape in ORIGINAL_LAYOUT:
        key = f"{seq}.{idx}"
        if kind == "conv":
            fan_in = math.prod(shape[1:])
            state[f"{key}.weight"] = torch.randn(shape, generator=gen) / math.sqrt(fan_in)
            state[f"{key}.bias"] = torch.randn(shape[0], generator=gen) * 0.01
        else:
            state[f"{key}.weight"] = 1 + 0.1 * torch.randn(shape, generator=gen)
            state[f"{key}.bias"] = 0.1 * torch.randn(shape, generator=gen)
            state[f"{key}.running_mean"] = torch.randn(shape, generator=gen)
            state[f"{key}.running_var"] = 0.5 + torch.rand(shape, generator=gen)
            if batch_counters:
                state[f"{key}.num_batches_tracked"] = torch.tensor(7)
    return state


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "syncnet_v2.model"
    state = original_state_dict()
    torch.save(state, path)
    return path, state


@pytest.fixture(scope="module")
def scorer(checkpoint):
    return SyncNetV2Scorer(checkpoint[0])


def test_loads_original_layout_and_every_tensor(checkpoint):
    path, state = checkpoint
    model = load_syncnet_v2(path)
    loaded = model.state_dict()
    assert not model.training
    for key, value in state.items():
        assert tuple(loaded[key].shape) == tuple(value.shape), key
        assert torch.equal(loaded[key], value), key
    params = {k for k in loaded if not k.endswith("num_batches_tracked")}
    assert params == set(state)


def test_nested_and_prefixed_checkpoint(tmp_path):
    state = original_state_dict(seed=1, batch_counters=True)
    path = tmp_path / "nested.pt"
    torch.save({"epoch": 3, "state_dict": {f"__S__.{k}": v for k, v in state.items()}}, path)
    model = load_syncnet_v2(path)
    assert torch.equal(model.state_dict()["netcnnlip.0.weight"], state["netcnnlip.0.weight"])


def test_missing_key_is_named(tmp_path):
    state = original_state_dict()
    del state["netfclip.3.weight"]
    path = tmp_path / "missing.model"
    torch.save(state, path)
    with pytest.raises(SyncNetCheckpointError, match=r"missing 1 key\(s\): netfclip\.3\.weight"):
        load_syncnet_v2(path)


def test_wrong_shape_and_extra_key_are_named(tmp_path):
    state = original_state_dict()
    state["netcnnaud.18.weight"] = torch.zeros(512, 256, 4, 4)
    state["netcnnaud.99.weight"] = torch.zeros(3)
    path = tmp_path / "shape.model"
    torch.save(state, path)
    with pytest.raises(SyncNetCheckpointError) as err:
        load_syncnet_v2(path)
    message = str(err.value)
    assert "netcnnaud.18.weight has shape (512, 256, 4, 4), expected (512, 256, 5, 4)" in message
    assert "unexpected 1 key(s): netcnnaud.99.weight" in message


class _NotATensor:
    pass


def test_refuses_pickled_objects_and_junk(tmp_path):
    path = tmp_path / "evil.model"
    torch.save({"state_dict": _NotATensor()}, path)
    with pytest.raises(SyncNetCheckpointError, match="_NotATensor, not just tensors; refusing to unpickle"):
        load_syncnet_v2(path)
    junk = tmp_path / "junk.model"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(SyncNetCheckpointError, match="cannot read .*junk.model as a PyTorch checkpoint"):
        load_syncnet_v2(junk)
    with pytest.raises(SyncNetCheckpointError, match="not found"):
        load_syncnet_v2(tmp_path / "absent.model")


def _track(n: int, seed: int = 0) -> MouthTrack:
    rng = np.random.default_rng(seed)
    return MouthTrack(
        track_id=0, frames=np.arange(n), times_s=np.arange(n) / 25.0,
        boxes=np.tile([10.0, 10.0, 110.0, 110.0], (n, 1)), lips=np.zeros((n, 40, 2), np.float32),
        opening=np.zeros(n, np.float32), crops=np.zeros((n, 48, 96), np.uint8), valid=np.ones(n, bool),
        face_crops=rng.integers(0, 256, (n, 224, 224, 3), dtype=np.uint8),
    )


def _audio(rows: int, seed: int = 0) -> AudioFeatures:
    rng = np.random.default_rng(seed)
    mfcc = rng.normal(0, 5, (rows, 13)).astype(np.float32)
    return AudioFeatures(mfcc, np.zeros(rows), np.ones(rows, bool), 0.01, 0.0)


def test_scorer_attributes_and_registration(scorer):
    assert SCORERS["syncnet_v2"] is SyncNetV2Scorer
    assert scorer.needs_face_crops and scorer.face_crop_size == 224 and scorer.face_crop_scale == 0.40
    assert scorer.describe()["name"] == "syncnet_v2"
    assert scorer.describe()["version"].startswith("sha256:")


def test_embed_visual_feeds_bgr_unnormalised_windows(scorer):
    track = _track(7)
    emb = scorer.embed_visual(track)
    assert emb.shape == (3, 1024) and np.isfinite(emb).all()
    # Window 1 by hand: frames 1..5, channels reversed (BGR), raw 0..255 values.
    clip = torch.from_numpy(track.face_crops[1:6, ..., ::-1].copy()).permute(3, 0, 1, 2).float()[None]
    with torch.no_grad():
        expected = scorer.model.forward_visual(clip).numpy()[0]
    np.testing.assert_allclose(emb[1], expected, rtol=1e-4, atol=1e-4)
    track.face_crops = None
    with pytest.raises(ValueError, match="face crops"):
        scorer.embed_visual(track)


def test_embed_audio_patches_and_int16_scale(scorer):
    audio = _audio(60)
    emb = scorer.embed_audio(audio, np.array([0, 4, 40]))
    assert emb.shape == (3, 1024) and np.isfinite(emb).all()
    patch = audio.mfcc[4:24].T.copy()
    patch[0] += 2 * math.log(32768)
    with torch.no_grad():
        expected = scorer.model.forward_audio(torch.from_numpy(patch)[None, None]).numpy()[0]
    np.testing.assert_allclose(emb[1], expected, rtol=1e-4, atol=1e-4)
    assert scorer.embed_audio(audio, np.array([], np.int64)).shape == (0, 1024)
    with pytest.raises(ValueError, match="outside"):
        scorer.embed_audio(audio, np.array([41]))


def test_distances_mask_offsets_without_audio(scorer):
    track, audio = _track(8), _audio(60)  # 0.32 s of video, 0.6 s of MFCC
    offsets = np.arange(-3, 4)
    dists = scorer.distances(track, audio, offsets, 1 / 25)
    assert dists.shape == (4, 7)
    assert np.isnan(dists[0, 0])  # window 0 at offset -3 needs audio before t = 0
    assert np.isfinite(dists[:, 3]).all() and (dists[:, 3] > 0).all()


def test_resolve_scorer(checkpoint):
    scorer = resolve_scorer(f"syncnet_v2:{checkpoint[0]}")
    assert isinstance(scorer, SyncNetV2Scorer)
    with pytest.raises(ModelSpecError, match="needs a checkpoint path"):
        resolve_scorer("syncnet_v2")
    with pytest.raises(ModelSpecError, match="unknown model"):
        resolve_scorer("wav2lip_expert")
    with pytest.raises(SyncNetCheckpointError, match="not found"):
        resolve_scorer("syncnet_v2:/nonexistent/dir/syncnet_v2.model")
    assert isinstance(resolve_scorer("baseline"), Scorer)


def test_face_crop_centres_box_like_the_original():
    frame = np.zeros((400, 500, 3), np.uint8)
    frame[100:200, 200:300] = 255  # a 100 px square face box centred at (250, 150)
    crop = syncnet_face_crop(frame, np.array([200, 100, 300, 200]), scale=0.40, size=224)
    assert crop.shape == (224, 224, 3) and crop.dtype == np.uint8
    ys, xs = np.nonzero(crop[..., 0] > 127)
    # bs = 50, cs = 0.4: a 140 px square, x 180..320 (box centred) and y 100..240 (box top at
    # the crop top, so the mouth region below the box centre fills the rest).
    assert xs.mean() == pytest.approx(112, abs=1)
    assert ys.min() == 0 and ys.mean() == pytest.approx(224 * 50 / 140, abs=1)
    assert xs.max() - xs.min() + 1 == pytest.approx(224 * 100 / 140, abs=2)


def test_face_crop_pads_with_grey_at_the_border():
    frame = np.full((120, 160, 3), 30, np.uint8)
    crop = syncnet_face_crop(frame, np.array([0, 0, 60, 60]))
    assert crop.shape == (224, 224, 3)
    assert (crop[:10, :10] == PAD_VALUE).all()  # above-left of the frame
    assert (crop[150:, 150:] == 30).all()  # inside the frame
    with pytest.raises(ValueError, match="positive size"):
        syncnet_face_crop(frame, np.array([5, 5, 5, 5]))


def test_smooth_face_boxes_removes_a_jump_and_keeps_steady_boxes():
    boxes = np.tile([100.0, 80.0, 180.0, 180.0], (31, 1))
    boxes[15] += 40  # one-frame detector glitch
    smooth = smooth_face_boxes(boxes)
    steady = np.array([90.0, 80.0, 190.0, 180.0])  # square of half-size max(w, h) / 2 = 50
    np.testing.assert_allclose(smooth[6:-6], np.tile(steady, (19, 1)))
    assert smooth[0, 2] - smooth[0, 0] == pytest.approx(100)  # zero padding leaves the size intact here


def test_scale_box():
    np.testing.assert_allclose(scale_box(np.array([0, 0, 100, 50]), 1.2, shift_y=0.1), [-10, 0, 110, 60])
