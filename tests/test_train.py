"""Training: cache reading, augmentation, the objective, end-to-end runs, resume and torchrun."""
import csv
import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from avsync.models.checkpoint import load_checkpoint
from avsync.models.syncnet_lite import SyncNetLite, normalize_mfcc
from avsync.train import loop
from avsync.train.augment import AudioAug, AugmentConfig, augment_crops, logmel_to_mfcc, mfcc_to_logmel
from avsync.train.config import TrainConfig
from avsync.testing.train_fixtures import write_synthetic_cache
from avsync.train.dataset import WindowDataset, load_clips, make_sample, read_index

TINY_MODEL = {"embed_dim": 16, "visual_channels": [8, 8, 16, 16], "audio_channels": [8, 8, 16], "lip_hidden": 16,
              "dropout": 0.0}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    return write_synthetic_cache(root, [("train", "real", 160), ("train", "real", 160), ("train", "generated", 160),
                                        ("dev", "real", 120), ("dev", "generated", 100)], seed=0)


def _cfg(cache, **changes) -> TrainConfig:
    values = {"cache_dir": str(cache), "epochs": 2, "batch_size": 8, "window_stride": 4, "lr": 3e-3,
              "warmup_epochs": 0.5, "threads": 1, "model": TINY_MODEL}
    values.update(changes)
    return TrainConfig.from_dict(values)


def test_cache_index_and_clips(cache):
    entries = read_index(cache)
    assert {e["status"] for e in entries} == {"ok", "skipped"}
    train = load_clips(cache, "train", ["real", "generated"])
    assert len(train) == 3 and len(load_clips(cache, "train", ["real"])) == 2
    assert len(load_clips(cache, "dev")) == 2
    clip = train[0]
    assert clip.crops.shape == (160, 48, 96) and clip.crops.dtype == np.uint8
    assert clip.lips.shape == (160, 40, 2) and clip.mfcc.shape[1] == 13


def test_unaugmented_sample_is_the_inference_input(cache):
    """Without augmentation a sample's candidates are exactly the normalised MFCC rows inference uses."""
    clip = load_clips(cache, "train")[0]
    frame = 60
    s = make_sample(clip, frame, 5, 15, None, np.random.default_rng(0))
    row = int(clip.row_at(clip.times_s[frame]))
    norm = normalize_mfcc(clip.mfcc)
    np.testing.assert_allclose(s["audio"][60:80].numpy(), norm[row:row + 20], atol=1e-6)  # offset 0
    np.testing.assert_allclose(s["audio"][0:20].numpy(), norm[row - 60:row - 40], atol=1e-6)  # offset -15
    np.testing.assert_array_equal(s["crops"].numpy(), clip.crops[frame:frame + 5].astype(np.float32))
    assert s["valid"].all()
    edge = make_sample(clip, 2, 5, 15, None, np.random.default_rng(0))
    assert not edge["valid"][0] and edge["valid"][15]  # audio before the recording is not a candidate
    wide = make_sample(clip, frame, 9, 15, None, np.random.default_rng(0))  # a 9-frame model's sample
    assert wide["crops"].shape == (9, 48, 96) and wide["audio"].shape == (156, 13)
    np.testing.assert_allclose(wide["audio"][60:96].numpy(), norm[row:row + 36], atol=1e-6)


def test_training_anchors_are_the_windows_the_scorer_scores(cache):
    """At 30 fps the last anchors' 40 ms-spaced frames would run past the clip; training must leave
    them out as the scorer does, not clamp them to the last frame."""
    from avsync.models.spec import window_positions
    from avsync.scoring.learned import model_windows

    clip = load_clips(cache, "train")[0]
    n = len(clip)
    for fps in (25.0, 30.0):
        timed = dataclasses.replace(clip, times_s=np.arange(n) / fps)
        anchors = WindowDataset._eligible(timed, 5, 0.0)
        scored = model_windows(timed.times_s, n, 5)
        assert anchors.max() == len(scored) - 1
        assert window_positions(timed.times_s, timed.times_s[anchors.max()], 5)[-1] <= n - 1 + 1e-9
    assert len(scored) < n - 4  # 30 fps: 0.16 s of window is more than 4 frames


def test_speed_perturbation_stretches_both_streams(cache):
    clip = load_clips(cache, "train")[0]
    aug = AugmentConfig(speed_p=1.0, speed_range=0.1, noise_p=0, filter_p=0, gain_p=0, brightness_p=0, blur_p=0,
                        affine_p=0, pixel_noise_p=0, flip_p=0)
    rng = np.random.default_rng(1)
    s = make_sample(clip, 60, 5, 15, aug, rng)
    replay = np.random.default_rng(1)
    replay.random()  # make_sample's speed_p draw
    speed = replay.uniform(0.9, 1.1)
    assert not np.allclose(s["crops"].numpy(), clip.crops[60:65])
    # The last visual frame sits at 60 + 4 * speed frames, interpolated between its neighbours.
    pos = 60 + 4 * speed
    lo = int(np.floor(pos))
    w = pos - lo
    want = clip.crops[lo] * (1 - w) + clip.crops[lo + 1] * w
    assert abs(speed - 1) > 0.01 and np.abs(s["crops"][4].numpy() - want).max() < 1e-3
    # The audio segment is resampled by the same factor: candidate +15 starts 60 * speed rows late.
    norm = normalize_mfcc(clip.mfcc)
    row = int(clip.row_at(clip.times_s[60]))
    p = row + 60 * speed
    lo = int(np.floor(p))
    want_row = norm[lo] * (1 - (p - lo)) + norm[lo + 1] * (p - lo)
    np.testing.assert_allclose(s["audio"][120].numpy(), want_row, atol=1e-4)


def test_mfcc_domain_round_trip_and_effects():
    rng = np.random.default_rng(0)
    mfcc = rng.normal(size=(200, 13)).astype(np.float32) * 3
    back = logmel_to_mfcc(mfcc_to_logmel(mfcc), mfcc_to_logmel(mfcc), mfcc)
    np.testing.assert_allclose(back, mfcc, atol=1e-4)
    loud = mfcc.copy()
    loud[:, 0] = np.where(np.arange(200) < 100, -20.0, 5.0)  # half silence, half loud
    cfg = AugmentConfig(noise_p=1.0, snr_db=[5.0, 5.0], filter_p=0.0)
    noisy = AudioAug.draw(np.random.default_rng(1), cfg, loud)(loud, np.random.default_rng(2))
    assert noisy[:100, 0].mean() > loud[:100, 0].mean() + 5  # noise fills the silence
    assert abs(noisy[100:, 0].mean() - loud[100:, 0].mean()) < 1.0  # speech at 5 dB SNR barely moves
    cfg = AugmentConfig(noise_p=0.0, filter_p=1.0, lowpass_band=[8, 8], highpass_p=0.0)
    low = AudioAug.draw(np.random.default_rng(1), cfg, mfcc)(mfcc, np.random.default_rng(2))
    assert (mfcc_to_logmel(low)[:, 20:] - mfcc_to_logmel(low)[:, :6]).mean() < \
        (mfcc_to_logmel(mfcc)[:, 20:] - mfcc_to_logmel(mfcc)[:, :6]).mean() - 3


def test_crop_augmentation_flips_and_keeps_range():
    crops = np.tile(np.linspace(0, 255, 96, dtype=np.float32), (5, 48, 1))
    only_flip = AugmentConfig(brightness_p=0, blur_p=0, affine_p=0, pixel_noise_p=0, flip_p=1.0)
    np.testing.assert_array_equal(augment_crops(crops, np.random.default_rng(0), only_flip), crops[:, :, ::-1])
    out = augment_crops(crops, np.random.default_rng(0), AugmentConfig(brightness_p=1, blur_p=1, affine_p=1, pixel_noise_p=1))
    assert out.shape == crops.shape and out.min() >= 0 and out.max() <= 255 and not np.allclose(out, crops)


def test_low_resolution_augmentation_loses_fine_detail_only():
    """A mouth filmed 4x smaller: a one-pixel checkerboard is gone, a smooth ramp stays."""
    only_lowres = AugmentConfig(brightness_p=0, blur_p=0, affine_p=0, pixel_noise_p=0, flip_p=0, lowres_p=1.0,
                                lowres_factor=[4.0, 4.0])
    checker = np.tile((np.indices((48, 96)).sum(0) % 2 * 255).astype(np.float32), (5, 1, 1))
    assert augment_crops(checker, np.random.default_rng(0), only_lowres).std() < 0.05 * checker.std()
    ramp = np.tile(np.linspace(0, 255, 96, dtype=np.float32), (5, 48, 1))
    assert np.abs(augment_crops(ramp, np.random.default_rng(0), only_lowres) - ramp)[:, :, 4:-4].max() < 2.0
    off = dataclasses.replace(only_lowres, lowres_p=0.0)  # the default: crops untouched
    np.testing.assert_array_equal(augment_crops(checker, np.random.default_rng(0), off), checker)


def test_epochs_shard_windows_without_overlap(cache):
    clips = load_clips(cache, "train")
    data = WindowDataset(clips, stride=2, seed=3)
    n0 = data.set_epoch(0, rank=0, world=2, batch=4)
    a = {tuple(x) for x in data.items}
    n1 = data.set_epoch(0, rank=1, world=2, batch=4)
    b = {tuple(x) for x in data.items}
    assert n0 == n1 > 0 and len(a) == len(b) == n0 * 4 and not a & b
    data.set_epoch(1, rank=0, world=2, batch=4)
    assert {tuple(x) for x in data.items} != a  # a new draw every epoch


def test_training_steps_lower_the_loss(cache):
    cfg = _cfg(cache)
    torch.manual_seed(0)
    model = SyncNetLite(cfg.model)
    data = WindowDataset(load_clips(cache, "train"), stride=1, augment=None, seed=0)
    data.set_epoch(0, batch=16)
    batch = torch.utils.data.default_collate([data[i] for i in range(16)])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)

    def step():
        vis, aud = model(batch["crops"], batch["lips"], batch["opening"], batch["audio"], 31)
        loss, hit = loop.multiway_loss(vis, aud, batch["valid"], batch["clip"], model.scale(), 15)
        return loss, hit

    first = step()[0].item()
    for _ in range(30):
        loss, _ = step()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert step()[0].item() < 0.6 * first


def test_multiway_loss_masks_same_clip_and_invalid():
    vis = torch.nn.functional.normalize(torch.randn(3, 8), dim=1)
    aud = torch.nn.functional.normalize(torch.randn(3, 5, 8), dim=2)
    aud[:, 2] = vis  # every target is a perfect match
    valid = torch.ones(3, 5, dtype=torch.bool)
    loss, hit = loop.multiway_loss(vis, aud, valid, torch.tensor([0, 1, 2]), torch.tensor(50.0), 2)
    assert hit.all() and loss.item() < 1e-3
    aud2 = aud.clone()
    aud2[1, 0] = vis[0]  # another clip holds an equally good candidate at offset index 0: "all" sees it ...
    loss2, _ = loop.multiway_loss(vis, aud2, valid, torch.tensor([0, 1, 2]), torch.tensor(50.0), 2, "all")
    assert loss2.item() > 0.2  # ln 2 for sample 0, averaged over 3
    # ... unless it is the same clip (masked), an invalid candidate, or not the other clip's aligned window.
    loss3, _ = loop.multiway_loss(vis, aud2, valid, torch.tensor([0, 0, 2]), torch.tensor(50.0), 2, "all")
    invalid = valid.clone()
    invalid[1, 0] = False
    loss4, _ = loop.multiway_loss(vis, aud2, invalid, torch.tensor([0, 1, 2]), torch.tensor(50.0), 2, "all")
    loss5, _ = loop.multiway_loss(vis, aud2, valid, torch.tensor([0, 1, 2]), torch.tensor(50.0), 2, "aligned")
    assert loss3.item() < 1e-3 and loss4.item() < 1e-3 and loss5.item() < 1e-3
    aud3 = aud.clone()
    aud3[1, 2] = vis[0]  # the other clip's aligned window is a negative under "aligned", not under "none"
    aligned = loop.multiway_loss(vis, aud3, valid, torch.tensor([0, 1, 2]), torch.tensor(50.0), 2, "aligned")[0]
    none = loop.multiway_loss(vis, aud3, valid, torch.tensor([0, 1, 2]), torch.tensor(50.0), 2, "none")[0]
    assert aligned.item() - none.item() > 0.2  # sample 0's extra ln 2 (sample 1 lost its match in both)
    with pytest.raises(ValueError):
        loop.multiway_loss(vis, aud, valid, torch.tensor([0, 1, 2]), torch.tensor(50.0), 2, "some")


def test_label_sigma_spreads_the_target_over_neighbouring_offsets():
    vis = torch.nn.functional.normalize(torch.randn(3, 8), dim=1)
    aud = torch.nn.functional.normalize(torch.randn(3, 5, 8), dim=2)
    valid = torch.ones(3, 5, dtype=torch.bool)
    clip, scale = torch.tensor([0, 1, 2]), torch.tensor(20.0)
    hard = loop.multiway_loss(vis, aud, valid, clip, scale, 2)[0]
    assert loop.multiway_loss(vis, aud, valid, clip, scale, 2, label_sigma=1e-3)[0].item() == pytest.approx(hard.item(), rel=1e-5)
    aud[:, 3] = vis  # every clip's best match one offset off the aligned one
    off_hard = loop.multiway_loss(vis, aud, valid, clip, scale, 2)[0]
    off_soft = loop.multiway_loss(vis, aud, valid, clip, scale, 2, label_sigma=1.0)[0]
    assert off_soft.item() < off_hard.item() - 1.0
    valid[:, 1:4] = False  # no valid neighbour: the target is the aligned window alone, and finite
    assert torch.isfinite(loop.multiway_loss(vis, aud, valid | (torch.arange(5) == 2), clip, scale, 2, label_sigma=1.0)[0])


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("ema_decay", [0.0, 0.9])
def test_train_end_to_end_and_resume_matches_uninterrupted(cache, tmp_path, monkeypatch, ema_decay):
    cfg = _cfg(cache, ema_decay=ema_decay)
    straight = loop.train(cfg, tmp_path / "a", progress=False)
    assert {"train_loss", "dev_acc_w5", "dev_acc_ctx15", "dev_acc_clip", "dev_acc_w5_real"} <= set(straight)
    for name in ("last.safetensors", "last.json", "last.optim.pt", "best.safetensors", "config.yaml", "train.log"):
        assert (tmp_path / "a" / name).exists(), name
    rows = _rows(tmp_path / "a" / "metrics.csv")
    assert [r["epoch"] for r in rows] == ["0", "1"]
    meta = json.loads((tmp_path / "a" / "last.json").read_text())
    assert meta["epoch"] == 1 and meta["train"]["batch_size"] == 8 and "dev_acc_w5" in meta["metrics"]
    assert any((tmp_path / "a" / "tb").iterdir())

    # Interrupt after the first epoch's checkpoint, then resume.
    original = loop.RunLog.epoch

    def stop_after_first(self, epoch, metrics):
        original(self, epoch, metrics)
        raise KeyboardInterrupt

    monkeypatch.setattr(loop.RunLog, "epoch", stop_after_first)
    with pytest.raises(KeyboardInterrupt):
        loop.train(cfg, tmp_path / "b", progress=False)
    monkeypatch.setattr(loop.RunLog, "epoch", original)
    assert json.loads((tmp_path / "b" / "last.json").read_text())["epoch"] == 0
    loop.train(cfg, tmp_path / "b", resume=True, progress=False)
    assert "resuming after epoch 0" in (tmp_path / "b" / "train.log").read_text()
    assert [r["epoch"] for r in _rows(tmp_path / "b" / "metrics.csv")] == ["0", "1"]
    a, _ = load_checkpoint(tmp_path / "a" / "last.safetensors")
    b, _ = load_checkpoint(tmp_path / "b" / "last.safetensors")
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.allclose(pa.float(), pb.float(), atol=1e-5), name
    trained = torch.load(tmp_path / "a" / "last.optim.pt", weights_only=True).get("trained")
    # with an average the checkpoint holds it, and the weights as trained go to the optimizer file
    assert (trained is not None) == bool(ema_decay)
    if trained is not None:
        assert not torch.allclose(trained["visual.head.3.weight"], a.state_dict()["visual.head.3.weight"])


def test_a_longer_window_trains_from_the_config_alone(cache, tmp_path):
    """window_frames is a model setting: the samples, the held-out metrics and the checkpoint follow it."""
    from avsync.scoring.learned import SyncNetLiteScorer

    cfg = _cfg(cache, epochs=1, model={**TINY_MODEL, "window_frames": 9})
    metrics = loop.train(cfg, tmp_path / "w9", progress=False)
    assert 0 <= metrics["dev_acc_ctx15"] <= 1 and metrics["dev_windows"] > 0
    assert json.loads((tmp_path / "w9" / "last.json").read_text())["model"]["window_frames"] == 9
    scorer = SyncNetLiteScorer(tmp_path / "w9" / "last.safetensors")
    assert scorer.window_frames == 9 and scorer.model.visual.cnn[0][0].in_channels == 17


def test_val_sources_are_held_out_of_training_and_scored(tmp_path):
    cache = write_synthetic_cache(tmp_path / "c", [("train", "real", 160, "a/one"), ("train", "real", 160, "a/one"),
                                                   ("train", "real", 120, "b/held"), ("dev", "real", 100, "d/dev")])
    cfg = _cfg(cache, epochs=1, val_sources=["b/held", "c/absent"], select_metric="val_acc_ctx15")
    metrics = loop.train(cfg, tmp_path / "run", progress=False)
    assert {"val_acc_w5", "val_acc_ctx15", "val_acc_clip", "dev_acc_ctx15"} <= set(metrics)
    log = (tmp_path / "run" / "train.log").read_text()
    assert "train: 2 clips" in log and "val: 1 train-split clips of 2 held-out sources (none of: c/absent)" in log


def test_train_cli_overrides_the_configs_cache_and_seed(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from avsync.cli.train import train
    from avsync.train import loop

    seen = []
    monkeypatch.setattr(loop, "train", lambda cfg, out, **kw: seen.append(cfg) or {})
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump({"cache_dir": "a", "seed": 5, "epochs": 1}))
    result = CliRunner().invoke(train, ["--config", str(cfg_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0 and (seen[-1].cache_dir, seen[-1].seed) == ("a", 5)
    result = CliRunner().invoke(train, ["--config", str(cfg_path), "--out", str(tmp_path / "o"),
                                        "--cache", "b", "--seed", "7"])
    assert result.exit_code == 0 and (seen[-1].cache_dir, seen[-1].seed) == ("b", 7)


def test_train_cli_reports_a_missing_cache(tmp_path):
    from click.testing import CliRunner

    from avsync.cli.train import train

    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump({"cache_dir": str(tmp_path / "nothing"), "epochs": 1}))
    result = CliRunner().invoke(train, ["--config", str(cfg_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 3 and "no index.jsonl" in result.output
    cfg_path.write_text(yaml.safe_dump({"cache_dir": "x", "epochz": 1}))
    result = CliRunner().invoke(train, ["--config", str(cfg_path)])
    assert result.exit_code == 3 and "unknown keys" in result.output


def test_default_config_loads():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "configs" / "train"
    cfg = TrainConfig.load(folder / "default.yaml")
    assert cfg.epochs > 0 and cfg.n_offsets == 31 and cfg.sources.active
    for path in folder.glob("*.yaml"):  # every ablation names default.yaml as its base
        TrainConfig.load(path)
    real = TrainConfig.load(folder / "real_only.yaml")
    assert real.categories == ["real"] and real.sources == cfg.sources and real.model == cfg.model


def test_config_base_supplies_what_a_file_does_not_set(tmp_path):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"epochs": 7, "lr": 0.1, "model": {"embed_dim": 32, "dropout": 0.3}}))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump({"base": "a.yaml", "lr": 0.2, "model": {"embed_dim": 64}}))
    cfg = TrainConfig.load(tmp_path / "b.yaml")
    assert (cfg.epochs, cfg.lr, cfg.model.embed_dim, cfg.model.dropout) == (7, 0.2, 64, 0.3)
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"base": "b.yaml"}))
    with pytest.raises(ValueError, match="loops"):
        TrainConfig.load(tmp_path / "b.yaml")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"base": "missing.yaml"}))
    with pytest.raises(ValueError, match="no base config"):
        TrainConfig.load(tmp_path / "c.yaml")


def test_torchrun_two_cpu_processes_gloo(cache, tmp_path):
    cfg = _cfg(cache, epochs=1, batch_size=8, window_stride=8)
    cfg_path = tmp_path / "tiny.yaml"
    cfg.to_yaml(cfg_path)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "avsync.cli.train", "--config", str(cfg_path), "--out", str(tmp_path / "ddp"), "--no-progress"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (tmp_path / "ddp" / "train.log").read_text()
    assert "2 process(es) on cpu" in log and "epoch 1/1" in log
    assert (tmp_path / "ddp" / "last.safetensors").exists()


def test_still_mouths_are_left_out_of_training(cache, tmp_path):
    clip = load_clips(cache, "train")[0]
    assert clip.mouth_motion > 0.008
    clip.opening = np.full_like(clip.opening, 0.2)
    assert clip.mouth_motion == 0.0
    with pytest.raises(ValueError, match="no usable"):
        loop.train(_cfg(cache, min_mouth_motion=10.0), tmp_path / "still", progress=False)
    assert "left out 3 training tracks whose mouth does not move" in (tmp_path / "still" / "train.log").read_text()


def test_offset_hits_count_windows_contexts_and_the_clip_within_a_frame():
    from avsync.train.loop import CONTEXT_FRAMES, offset_hits

    n, target = 30, 15
    dists = np.ones((n, 31))
    dists[:, target + 1] = 0.5  # every window's best is one frame off: a hit
    dists[:5, target + 1] = 1.0
    dists[:5, 0] = 0.0  # the first five windows' best is 15 frames off
    include = np.ones(n, bool)
    include[-3:] = False  # left out: not counted
    hits = offset_hits(dists, include, target, 5)
    contexts = n - (CONTEXT_FRAMES - 5 + 1) + 1
    assert hits[:2] == [22.0, 27.0]
    assert hits[4:] == [1.0, 1.0]  # the whole clip's mean curve: 0.59 one frame off, 0.81 far off
    assert hits[3] == contexts and 0 < hits[2] < contexts  # the first contexts are mostly far windows
    assert offset_hits(dists, np.zeros(n, bool), target, 5) == [0.0] * 6
