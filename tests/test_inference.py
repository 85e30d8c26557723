"""onnxruntime inference gives the distances torch gives, from the shipped weights or a fresh export."""
import shutil

import numpy as np
import pytest
import torch

from avsync.features.audio import AudioFeatures
from avsync.frontend.track import MouthTrack
from avsync.models.checkpoint import save_checkpoint
from avsync.models.inference import PARTS, OnnxSyncNet, TorchSyncNet, onnx_path
from avsync.models.syncnet_lite import ModelConfig, SyncNetLite
from avsync.scoring.learned import DEFAULT_WEIGHTS, SyncNetLiteScorer

pytest.importorskip("onnxruntime")


def _track(n=60, seed=0):
    rng = np.random.default_rng(seed)
    lips = rng.uniform(20, 80, (n, 40, 2)).astype(np.float32)
    lips[7] = np.nan  # a lost frame
    return MouthTrack(0, np.arange(n), np.arange(n) / 25.0, np.tile([0, 0, 100, 100], (n, 1)).astype(np.float32),
                      lips, rng.uniform(0, 0.5, n).astype(np.float32), rng.integers(0, 256, (n, 48, 96), np.uint8),
                      np.ones(n, bool), np.tile(np.eye(2, 3, dtype=np.float32), (n, 1, 1)))


def _audio(n_rows=400, seed=1):
    rng = np.random.default_rng(seed)
    return AudioFeatures(mfcc=rng.normal(size=(n_rows, 13)).astype(np.float32), log_energy=np.zeros(n_rows, np.float32),
                         speech=np.ones(n_rows, bool), t0_s=0.0, hop_s=0.01)


def _distances(scorer):
    return scorer.distances(_track(), _audio(), np.arange(-15, 16), 0.04)


def _both(weights, monkeypatch):
    monkeypatch.setenv("AVSYNC_BACKEND", "onnxruntime")
    onnx = SyncNetLiteScorer(weights)
    monkeypatch.setenv("AVSYNC_BACKEND", "torch")
    ref = SyncNetLiteScorer(weights)
    assert isinstance(onnx.backend, OnnxSyncNet) and isinstance(ref.backend, TorchSyncNet)
    return onnx, ref


def test_shipped_onnx_graphs_match_the_weights(monkeypatch):
    onnx, ref = _both(DEFAULT_WEIGHTS, monkeypatch)
    got, want = _distances(onnx), _distances(ref)
    assert np.isfinite(want).any()
    np.testing.assert_allclose(got, want, atol=2e-5, equal_nan=True)


def test_default_scorer_runs_without_torch_when_graphs_match(monkeypatch):
    monkeypatch.delenv("AVSYNC_BACKEND", raising=False)
    assert isinstance(SyncNetLiteScorer().backend, OnnxSyncNet)


@pytest.mark.parametrize("window", [5, 9])
def test_export_round_trip_and_stale_graphs_are_ignored(tmp_path, monkeypatch, window):
    pytest.importorskip("onnx")
    from avsync.models.onnx_export import export_onnx

    torch.manual_seed(0)
    cfg = ModelConfig(window_frames=window, embed_dim=16, visual_channels=[8, 8, 16, 16], audio_channels=[8, 8, 16],
                      lip_hidden=16)
    weights = save_checkpoint(tmp_path / "m.safetensors", SyncNetLite(cfg).eval(), epoch=0)
    export_onnx(weights)
    onnx, ref = _both(weights, monkeypatch)
    np.testing.assert_allclose(_distances(onnx), _distances(ref), atol=2e-5, equal_nan=True)

    # other weights under the same name: the graphs no longer match and torch is used
    other = save_checkpoint(tmp_path / "other.safetensors", SyncNetLite(cfg).eval(), epoch=0)
    shutil.copy(other, weights)
    monkeypatch.setenv("AVSYNC_BACKEND", "auto")
    assert isinstance(SyncNetLiteScorer(weights).backend, TorchSyncNet)
    assert all(onnx_path(weights, p).exists() for p in PARTS)
