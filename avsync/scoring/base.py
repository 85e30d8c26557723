"""The scorer interface behind the offset-search protocol, and a registry of scorers."""
from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable

import numpy as np

from avsync.features.audio import AudioFeatures
from avsync.frontend.track import MouthTrack
from avsync.scoring.sidecar import Calibration, read_calibration

SCORERS: dict[str, Callable[..., "Scorer"]] = {}


def register_scorer(name: str):
    def wrap(factory):
        SCORERS[name] = factory
        return factory

    return wrap


def file_digest(path: str | Path) -> str:
    """sha256 of a weights file, so reports name exactly which weights scored them."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Scorer(ABC):
    """Gives a distance for every (visual window, audio offset) pair; smaller = better match.

    ``weights_digest`` names exactly what was calibrated (the weights' sha256, or a digest of a
    training-free scorer's parameters) and ``calibration_path`` is the sidecar JSON that holds its
    calibration; :meth:`load_calibration` reads it (None: uncalibrated)."""

    name: str = "scorer"
    version: str = "0"
    window_frames: int = 5  # frames per visual window, one row of the distance matrix
    weights_digest: str | None = None
    calibration_path: Path | None = None
    calibration: Calibration | None = None

    def load_calibration(self) -> None:
        self.calibration = (read_calibration(self.calibration_path, self.weights_digest)
                            if self.weights_digest else None)

    @abstractmethod
    def distances(self, track: MouthTrack, audio: AudioFeatures, offsets: np.ndarray, frame_dt: float) -> np.ndarray:
        """Return (n_windows, len(offsets)); row i is the window of track frames i..i+window_frames-1,
        column k compares it with audio shifted by ``offsets[k] * frame_dt`` seconds.
        Pairs that need audio outside the recording are NaN (masked, never zero-padded)."""

    def describe(self) -> dict[str, str]:
        out = {"name": self.name, "version": self.version}
        if self.calibration is not None:  # which calibration judged the report (a digest of the block)
            block = json.dumps(self.calibration.to_dict(), sort_keys=True, default=str).encode()
            out["calibration"] = "sha256:" + hashlib.sha256(block).hexdigest()[:16]
        return out

    @property
    def calibrated(self) -> bool:
        return self.calibration is not None


class EmbeddingScorer(Scorer):
    """A two-stream model: visual and audio embeddings compared by Euclidean distance (SyncNet)."""

    audio_window_hops: int = 20  # 0.2 s of MFCC at 10 ms

    @abstractmethod
    def embed_visual(self, track: MouthTrack) -> np.ndarray:
        """(n - window_frames + 1, D) embedding of each visual window."""

    @abstractmethod
    def embed_audio(self, audio: AudioFeatures, starts: np.ndarray) -> np.ndarray:
        """(len(starts), D) embedding of ``audio_window_hops`` MFCC rows from each start row."""

    def visual_embeddings(self, track: MouthTrack) -> np.ndarray:
        """:meth:`embed_visual`, remembered for the last track: one clip is scored against several
        audios in a row (calibration, the dev variants), and the video side does not change."""
        memo = getattr(self, "_visual_memo", None)
        if memo is not None and memo[0] is track and memo[1] == len(track):
            return memo[2]
        visual = self.embed_visual(track)
        self._visual_memo = (track, len(track), visual)
        return visual

    def distances(self, track, audio, offsets, frame_dt):
        visual = self.visual_embeddings(track)
        n = len(visual)
        times = track.times_s[:n, None] + offsets[None, :] * frame_dt
        rows = audio.index_at(times)
        valid = (rows >= 0) & (rows + self.audio_window_hops <= len(audio))
        out = np.full(rows.shape, np.nan, np.float32)
        if not valid.any():
            return out
        unique_rows = np.unique(rows[valid])
        emb = self.embed_audio(audio, unique_rows)
        for k in range(rows.shape[1]):  # one offset at a time: memory stays (n, D), not (n * offsets, D)
            ok = valid[:, k]
            if ok.any():
                out[ok, k] = np.linalg.norm(visual[ok] - emb[np.searchsorted(unique_rows, rows[ok, k])], axis=1)
        return out
