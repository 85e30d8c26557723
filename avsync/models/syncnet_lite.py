"""SyncNet-lite: a small two-stream audio-visual sync model trained on aligned mouth crops.

Visual stream: W aligned grayscale mouth crops (W x 48 x 96 uint8; W = ``window_frames``, 5 by
default), normalised per window (so global brightness and contrast drop out) and stacked with
their W - 1 frame differences, then a strided 2-D CNN. Optional lip-geometry branch: the
window's lip landmarks after a per-window similarity normalisation (translation, scale and roll
removed, so pixel landmarks and crop-normalised landmarks give the same features) plus the
mouth-opening ratio, through an MLP.

Audio stream: 13 x 4W MFCC (0.2 s for W = 5), normalised per clip by :func:`normalize_mfcc`. Its
trunk uses no padding along time and a total time stride of 4 rows (one 25 fps frame), so running
it once over a long MFCC segment and slicing equals running it on each window: training
embeds all 31 candidate offsets of a window from one 140-row segment, and inference embeds a
clip's windows from one pass (see :meth:`SyncNetLite.embed_audio_segment`).

Embeddings are L2-normalised (or plain) and compared by Euclidean distance.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


from avsync.models.spec import (AUDIO_STRIDE, CROP_H, CROP_W, MFCC_ROWS, ModelConfig, mfcc_stats,  # noqa: F401
                                normalize_mfcc)


def _conv_bn(cin: int, cout: int, kernel, stride, padding) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class VisualStream(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        chans = cfg.visual_channels
        layers, cin = [], 2 * cfg.window_frames - 1
        for cout in chans:  # each layer halves height and width: 48x96 -> 3x6 after four
            layers.append(_conv_bn(cin, cout, 3, 2, 1))
            cin = cout
        self.cnn = nn.Sequential(*layers)
        h, w = CROP_H >> len(chans), CROP_W >> len(chans)
        self.flat = chans[-1] * h * w
        self.use_lips = cfg.use_lips
        lip_out = 0
        if cfg.use_lips:
            lip_in = cfg.window_frames * (cfg.n_lip_points * 2 + 1)
            self.lips = nn.Sequential(nn.Linear(lip_in, cfg.lip_hidden), nn.ReLU(inplace=True),
                                      nn.Linear(cfg.lip_hidden, cfg.lip_hidden), nn.ReLU(inplace=True))
            lip_out = cfg.lip_hidden
        self.head = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(self.flat + lip_out, 256), nn.ReLU(inplace=True),
                                  nn.Linear(256, cfg.embed_dim))

    def forward(self, crops: torch.Tensor, lips: torch.Tensor | None = None, opening: torch.Tensor | None = None):
        x = normalize_crops(crops)
        x = torch.cat([x, x[:, 1:] - x[:, :-1]], dim=1)
        feats = self.cnn(x).flatten(1)
        if self.use_lips:
            if lips is None or opening is None:
                raise ValueError("this model uses lip landmarks: pass lips and opening")
            feats = torch.cat([feats, self.lips(lip_features(lips, opening))], dim=1)
        return self.head(feats)


class AudioStream(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c1, c2, c3 = cfg.audio_channels
        # (kernel, stride, padding) are (freq, time); time is never padded.
        self.trunk = nn.Sequential(
            _conv_bn(1, c1, (3, 3), 1, (1, 0)),  # 13 x (T-2)
            _conv_bn(c1, c2, (3, 3), (2, 1), (1, 0)),  # 7 x (T-4)
            nn.MaxPool2d((1, 2)),  # 7 x (T-4)/2
            _conv_bn(c2, c3, (3, 3), (2, 1), (1, 0)),  # 4 x ((T-4)/2 - 2)
            nn.MaxPool2d((1, 2)),  # stride 4 rows overall; a 4W-row window gives W - 2 steps
        )
        self.steps = cfg.trunk_steps
        self.flat = c3 * 4 * self.steps
        self.head = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(self.flat, 256), nn.ReLU(inplace=True),
                                  nn.Linear(256, cfg.embed_dim))

    def trunk_map(self, mfcc: torch.Tensor) -> torch.Tensor:
        """(B, T, 13) normalised MFCC -> (B, C, 4, steps); step j sees rows 4j .. 4j+11."""
        return self.trunk(mfcc.transpose(1, 2).unsqueeze(1))

    def windows(self, fmap: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        """Embeddings of the windows whose first trunk step is ``steps`` (B, K) -> (B, K, D)."""
        b, c, f, _ = fmap.shape
        idx = steps[:, :, None] + torch.arange(self.steps, device=fmap.device)  # (B, K, W - 2)
        gathered = fmap[torch.arange(b, device=fmap.device)[:, None, None], :, :, idx]  # (B, K, W - 2, C, 4)
        flat = gathered.permute(0, 1, 3, 4, 2).reshape(b, steps.shape[1], self.flat)
        return self.head(flat)

    def forward(self, mfcc: torch.Tensor) -> torch.Tensor:
        """(B, 4W, 13) windows -> (B, D)."""
        fmap = self.trunk_map(mfcc)
        return self.windows(fmap, torch.zeros(len(mfcc), 1, dtype=torch.long, device=mfcc.device))[:, 0]


class SyncNetLite(nn.Module):
    def __init__(self, cfg: ModelConfig | None = None):
        super().__init__()
        self.cfg = cfg or ModelConfig()
        self.visual = VisualStream(self.cfg)
        self.audio = AudioStream(self.cfg)
        self.logit_scale = nn.Parameter(torch.tensor(float(np.log(self.cfg.init_logit_scale))))

    def _out(self, emb: torch.Tensor) -> torch.Tensor:
        return F.normalize(emb, dim=-1) if self.cfg.normalize else emb

    def embed_visual(self, crops, lips=None, opening=None) -> torch.Tensor:
        """crops (B, W, 48, 96) in 0..255; lips (B, W, L, 2); opening (B, W) -> (B, D)."""
        return self._out(self.visual(crops, lips, opening))

    def embed_audio(self, mfcc: torch.Tensor) -> torch.Tensor:
        """(B, 4W, 13) normalised MFCC windows -> (B, D)."""
        return self._out(self.audio(mfcc))

    def embed_audio_segment(self, mfcc: torch.Tensor, n_windows: int | None = None) -> torch.Tensor:
        """(B, T, 13) segments -> (B, K, D) for the windows starting at rows 0, 4, 8, ... (all that fit)."""
        fmap = self.audio.trunk_map(mfcc)
        k = fmap.shape[-1] - self.audio.steps + 1 if n_windows is None else n_windows
        steps = torch.arange(k, device=mfcc.device).expand(len(mfcc), k)
        return self._out(self.audio.windows(fmap, steps))

    def forward(self, crops, lips, opening, segments, n_windows: int):
        """Training pass: visual (B, D) and the (B, n_windows, D) candidates of each audio segment."""
        return self.embed_visual(crops, lips, opening), self.embed_audio_segment(segments, n_windows)

    def scale(self) -> torch.Tensor:
        return self.logit_scale.exp().clamp(max=100.0)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def normalize_crops(crops: torch.Tensor) -> torch.Tensor:
    """Per-window zero mean, unit variance: global brightness and contrast do not reach the model."""
    x = crops.float()
    var, mean = torch.var_mean(x, dim=(1, 2, 3), keepdim=True)
    return (x - mean) / (var.sqrt() + 1.0)


def lip_features(lips: torch.Tensor, opening: torch.Tensor) -> torch.Tensor:
    """(B, W, L, 2) landmarks in any 2-D frame + (B, W) opening -> (B, W * (2L + 1)) features.

    Per window: translate to the centroid, rotate the main axis of the point cloud to
    horizontal, scale to unit RMS radius. Frames with lost landmarks (NaN) take the window's
    mean shape (no motion); windows with none get zeros.
    """
    b, t, n, _ = lips.shape
    pts = lips.float()
    ok = torch.isfinite(pts).all(dim=-1).all(dim=-1)  # (B, T)
    w = ok.float()[:, :, None, None]
    cnt = (w.sum(dim=1, keepdim=True) * n).clamp(min=1)
    pts0 = torch.where(ok[:, :, None, None], pts, torch.zeros_like(pts))
    centre = (pts0 * w).sum(dim=(1, 2), keepdim=True) / cnt
    d = (pts0 - centre) * w
    sxx = (d[..., 0] ** 2).sum(dim=(1, 2)) / cnt[:, 0, 0, 0]
    syy = (d[..., 1] ** 2).sum(dim=(1, 2)) / cnt[:, 0, 0, 0]
    sxy = (d[..., 0] * d[..., 1]).sum(dim=(1, 2)) / cnt[:, 0, 0, 0]
    theta = 0.5 * torch.atan2(2 * sxy, sxx - syy)  # main axis, cos(theta) >= 0
    cos, sin = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    x = d[..., 0] * cos + d[..., 1] * sin
    y = -d[..., 0] * sin + d[..., 1] * cos
    scale = torch.sqrt(sxx + syy).clamp(min=1e-6)[:, None, None]
    norm = torch.stack([x, y], dim=-1) / scale[..., None]
    mean_shape = (norm * w).sum(dim=1, keepdim=True) / w.sum(dim=1, keepdim=True).clamp(min=1)
    norm = torch.where(ok[:, :, None, None], norm, mean_shape.expand_as(norm))
    op = opening.float()
    op_ok = torch.isfinite(op)
    op0 = torch.where(op_ok, op, torch.zeros_like(op))
    op_mean = op0.sum(dim=1, keepdim=True) / op_ok.sum(dim=1, keepdim=True).clamp(min=1)
    op = torch.where(op_ok, op0, op_mean.expand_as(op0))
    return torch.cat([norm.reshape(b, -1), op], dim=1)
