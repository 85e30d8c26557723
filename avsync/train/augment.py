"""Training augmentation for both streams.

Audio works on the cached MFCC (the cache holds no waveform). python_speech_features MFCC
are the lifted DCT of 26 log mel energies with c0 replaced by the log frame energy, so the
log mel spectrum is recovered (up to a per-row constant that cancels below) by undoing the
lifter and the DCT. In that domain:

- noise: add a noise spectrum at a random SNR to the mel *powers* (log-add-exp);
- codec-like filtering: attenuate mel bands above a random low-pass cutoff and, sometimes,
  below a high-pass cutoff (telephone / low-bitrate codecs);
- gain: a constant gain only moves c0 and is removed by per-clip normalisation, so gain is a
  random linear ramp across the segment (loudness changing while speaking).

Speed perturbation resamples the visual and MFCC time axes by the same factor; it happens
where windows are cut (``dataset.py``). Video: brightness/contrast/gamma (after per-window
normalisation only clipping and gamma survive), Gaussian blur, scale/shift/rotation jitter of
the whole window plus a smaller per-frame jitter (the front-end's alignment wobbles), pixel
noise and horizontal flips. A flip changes appearance only: lip landmarks are left as they are
(they are normalised per window and the mouth's motion does not depend on the flip).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.fft import dct

from avsync.config import YamlConfig

N_FILT = 26
N_CEP = 13
CEP_LIFTER = 22
_LIFT = 1 + (CEP_LIFTER / 2.0) * np.sin(np.pi * np.arange(N_CEP) / CEP_LIFTER)
_DCT = dct(np.eye(N_FILT), type=2, axis=0, norm="ortho")[:N_CEP]  # (13, 26): ceps = _DCT @ logmel


@dataclass
class AugmentConfig(YamlConfig):
    speed_p: float = 0.5
    speed_range: float = 0.1  # factor in [1 - r, 1 + r]
    noise_p: float = 0.4
    snr_db: list[float] = field(default_factory=lambda: [5.0, 30.0])
    filter_p: float = 0.3
    lowpass_band: list[int] = field(default_factory=lambda: [12, 22])  # mel filter index of the cutoff (26 filters to 8 kHz)
    highpass_p: float = 0.5  # of filtered samples
    gain_p: float = 0.3
    gain_ramp_db: float = 6.0
    brightness_p: float = 0.5
    gamma_range: float = 0.3
    blur_p: float = 0.3
    blur_sigma: list[float] = field(default_factory=lambda: [0.3, 1.5])
    # a mouth filmed smaller: shrunk by the factor and enlarged back (the shipped model reads audio
    # earlier the blurrier the mouth, docs/pipeline.md)
    lowres_p: float = 0.0
    lowres_factor: list[float] = field(default_factory=lambda: [1.0, 4.0])
    affine_p: float = 0.8
    scale_range: float = 0.1
    shift_px: float = 4.0
    rotate_deg: float = 5.0
    frame_jitter_px: float = 1.0
    pixel_noise_p: float = 0.3
    pixel_noise_std: float = 4.0
    flip_p: float = 0.5


def mfcc_to_logmel(mfcc: np.ndarray) -> np.ndarray:
    """(T, 13) MFCC -> (T, 26) smoothed log mel energies (c0 used as the level)."""
    ceps = mfcc[:, 1:] / _LIFT[1:]
    return mfcc[:, :1] + ceps @ _DCT[1:]


def logmel_to_mfcc(logmel: np.ndarray, ref_logmel: np.ndarray, mfcc: np.ndarray) -> np.ndarray:
    """Back to MFCC; c0 moves by the change in total mel power from ``ref_logmel``."""
    out = np.empty_like(mfcc)
    out[:, 1:] = (logmel @ _DCT[1:].T) * _LIFT[1:]
    out[:, 0] = mfcc[:, 0] + _logsumexp(logmel) - _logsumexp(ref_logmel)
    return out


def _logsumexp(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=1)
    return m + np.log(np.exp(x - m[:, None]).sum(axis=1))


@dataclass
class AudioAug:
    """One draw of spectral audio augmentation, applied alike to any rows of one clip."""

    snr: float | None = None  # natural-log power units
    noise_tilt: float = 0.0
    atten: np.ndarray | None = None  # (26,) natural-log attenuation per mel band
    ref_level: float = 0.0

    @classmethod
    def draw(cls, rng: np.random.Generator, cfg: AugmentConfig, ref_rows: np.ndarray) -> "AudioAug":
        aug = cls()
        if rng.random() < cfg.noise_p:
            aug.snr = float(rng.uniform(*cfg.snr_db)) * np.log(10) / 10
            aug.noise_tilt = float(rng.uniform(-0.1, 0.1))
            level = _logsumexp(mfcc_to_logmel(ref_rows)) - np.log(N_FILT)
            aug.ref_level = float(np.percentile(level, 90)) if len(level) else 0.0
        if rng.random() < cfg.filter_p:
            f = np.arange(N_FILT)
            cut = rng.uniform(*cfg.lowpass_band)
            slope = rng.uniform(0.7, 2.5)  # natural-log units per band (~3-11 dB)
            atten = -slope * np.clip(f - cut, 0, None)
            if rng.random() < cfg.highpass_p:
                atten -= slope * np.clip(rng.uniform(1, 3) - f, 0, None)
            aug.atten = atten
        return aug

    @property
    def active(self) -> bool:
        return self.snr is not None or self.atten is not None

    def __call__(self, mfcc: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not self.active or not len(mfcc):
            return mfcc
        ref = mfcc_to_logmel(mfcc)
        mel = ref
        if self.atten is not None:
            mel = np.maximum(mel + self.atten, ref.min(axis=1, keepdims=True) - 10.0)
        if self.snr is not None:
            f = np.arange(N_FILT)
            noise = self.ref_level - self.snr + self.noise_tilt * (f - N_FILT / 2)
            noise = noise + rng.normal(0.0, 0.35, size=mel.shape)  # periodogram fluctuation
            mel = np.logaddexp(mel, noise)
        return logmel_to_mfcc(mel, ref, mfcc).astype(np.float32)


def gain_ramp(mfcc: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    if rng.random() >= cfg.gain_p:
        return mfcc
    db = rng.uniform(-cfg.gain_ramp_db, cfg.gain_ramp_db)
    ramp = np.linspace(-0.5, 0.5, len(mfcc)) * db * np.log(10) / 10
    out = mfcc.copy()
    out[:, 0] += ramp.astype(np.float32)
    return out


def augment_crops(crops: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """(5, H, W) float 0..255 -> augmented copy."""
    t, h, w = crops.shape
    out = crops.astype(np.float32, copy=True)
    if rng.random() < cfg.affine_p:
        scale = rng.uniform(1 - cfg.scale_range, 1 + cfg.scale_range)
        angle = rng.uniform(-cfg.rotate_deg, cfg.rotate_deg)
        shift = rng.uniform(-cfg.shift_px, cfg.shift_px, size=2) * (1.0, 0.75)
        for i in range(t):
            jitter = rng.normal(0, cfg.frame_jitter_px, size=2)
            m = cv2.getRotationMatrix2D((w / 2, h / 2), angle + rng.normal(0, 0.5), scale * (1 + rng.normal(0, 0.01)))
            m[:, 2] += shift + jitter
            out[i] = cv2.warpAffine(out[i], m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < cfg.lowres_p:
        factor = rng.uniform(*cfg.lowres_factor)
        small = (max(2, round(w / factor)), max(1, round(h / factor)))
        for i in range(t):
            out[i] = cv2.resize(cv2.resize(out[i], small, interpolation=cv2.INTER_AREA), (w, h),
                                interpolation=cv2.INTER_LINEAR)
    if rng.random() < cfg.blur_p:
        sigma = rng.uniform(*cfg.blur_sigma)
        for i in range(t):
            out[i] = cv2.GaussianBlur(out[i], (0, 0), sigma)
    if rng.random() < cfg.brightness_p:
        contrast = rng.uniform(0.6, 1.4)
        bright = rng.uniform(-40, 40)
        gamma = np.exp(rng.uniform(-cfg.gamma_range, cfg.gamma_range))
        out = np.clip(out * contrast + bright, 0, 255)
        out = 255.0 * (out / 255.0) ** gamma
    if rng.random() < cfg.pixel_noise_p:
        out = out + rng.normal(0, cfg.pixel_noise_std, size=out.shape).astype(np.float32)
    if rng.random() < cfg.flip_p:
        out = out[:, :, ::-1]
    return np.ascontiguousarray(np.clip(out, 0, 255), dtype=np.float32)
