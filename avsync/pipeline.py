"""From a file to a SyncReport: decode -> face/mouth tracks -> audio features -> offset search -> verdict."""
from __future__ import annotations

import functools
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avsync.version import __version__
from avsync.config import Settings
from avsync.features.audio import AudioFeatures, extract_audio_features
from avsync.frontend.segments import add_face_crops, track_video
from avsync.frontend.track import MouthTrack
from avsync.media.audio import load_audio
from avsync.media.errors import MediaError
from avsync.media.probe import MediaInfo, check_path, probe
from avsync.media.video import VideoReader
from avsync.memory import heap_for_compute
from avsync.report import SyncReport, TrackReport
from avsync.scoring.base import Scorer
from avsync.scoring.localise import drift_ms_per_min, sync_segments
from avsync.scoring.protocol import OffsetCurve, local_curves, search_offset
from avsync.verdict import p_sync, sync_verdict, tolerance_gap


@dataclass
class Analysis:
    """Everything the scorers need from one video, before any scoring."""

    path: str
    fps: float  # analysis frame rate
    source_fps: float
    step: int
    n_frames: int
    duration_s: float
    tracks: list[MouthTrack]
    audio: AudioFeatures
    timings_s: dict[str, float]

    @property
    def frame_dt(self) -> float:
        return 1.0 / self.fps


# Shipped models are loaded once per process (an audit worker checks many videos with one).
_SHIPPED_SPECS = ("default", "syncnet_lite", "baseline")


def resolve_scorer(spec: str | Scorer | None) -> Scorer:
    if isinstance(spec, Scorer):
        return spec
    if (spec or "default") in _SHIPPED_SPECS:
        return _shipped_scorer(spec or "default")
    return _resolve_scorer(spec)


@functools.lru_cache(maxsize=len(_SHIPPED_SPECS))
def _shipped_scorer(spec: str) -> Scorer:
    return _resolve_scorer(spec)


def _resolve_scorer(spec: str | None) -> Scorer:
    try:
        from avsync.scoring.registry import resolve_scorer as resolve
    except ImportError:  # registry not written yet
        from avsync.scoring.baseline import EnvelopeCorrelationScorer

        return EnvelopeCorrelationScorer()
    return resolve(spec or "default")


def audio_features(path: str, audio: str | None, settings: Settings, info: MediaInfo | None = None,
                   audio_delay_s: float = 0.0) -> AudioFeatures:
    """Audio features on the video's clock: a separate ``audio`` file starts with the video;
    the video's own audio track starts where its container says, relative to the video stream."""
    rate = settings.features.sample_rate
    if audio is not None:
        check_path(audio)
        samples, start = load_audio(audio, rate), 0.0
    else:
        info = info or probe(path)
        if not info.has_audio:
            raise MediaError("no_audio", f"no audio stream (pass --audio FILE to pair one): {path}")
        samples, start = load_audio(path, rate), info.audio_start_s - info.video_start_s
    return extract_audio_features(samples, rate, start + audio_delay_s, settings.features)


def analyse(path: str, audio: str | None = None, settings: Settings | None = None, jobs: int | None = None,
            scorer: Scorer | None = None, audio_delay_s: float = 0.0, progress: bool = False) -> Analysis:
    """Decode and track one video. ``audio_delay_s`` plays the audio that much later (for tests/evals)."""
    settings = settings or Settings.load()
    info = probe(path)
    if not info.has_video:
        raise MediaError("no_video", f"no video stream: {path}")
    if audio is None and not info.has_audio:
        raise MediaError("no_audio", f"no audio stream (pass --audio FILE to pair one): {path}")
    timings: dict[str, float] = {}

    tick = time.perf_counter()
    reader = VideoReader(path, chunk_frames=settings.frontend.chunk_frames)
    step = 1
    if reader.source_fps > 1.5 * settings.protocol.analysis_fps:
        step = int(round(reader.source_fps / settings.protocol.analysis_fps))
        reader = VideoReader(path, step=step, chunk_frames=settings.frontend.chunk_frames)
    n_frames, fps = len(reader), reader.fps
    duration = max(info.duration_s, reader.num_source_frames / max(reader.source_fps, 1e-6))
    del reader
    timings["open"] = time.perf_counter() - tick

    tick = time.perf_counter()
    features = audio_features(path, audio, settings, info, audio_delay_s)
    timings["features"] = time.perf_counter() - tick

    tick = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_frames, unit="frame", desc=Path(path).name[:30], leave=False)
    tracks, decode_s = track_video(str(path), n_frames, step, settings.frontend, jobs or os.cpu_count() or 1,
                                   bar.update if bar else None)
    if bar:
        bar.close()
    if settings.frontend.frame_mmap_threshold_kb > 0:
        heap_for_compute()
    if scorer is not None and getattr(scorer, "needs_face_crops", False):
        add_face_crops(str(path), step, settings.frontend, tracks, scorer.face_crop_size, scorer.face_crop_scale)
    timings["decode"] = decode_s
    timings["face"] = time.perf_counter() - tick - decode_s
    return Analysis(str(path), fps, fps * step, step, n_frames, duration, tracks, features, timings)


def score_track(track: MouthTrack, analysis: Analysis, scorer: Scorer, settings: Settings):
    """Distances, speech mask and the offset curve of one track (None when nothing comparable)."""
    proto = settings.protocol
    offsets = np.arange(-proto.max_offset_frames, proto.max_offset_frames + 1)
    dists = scorer.distances(track, analysis.audio, offsets, analysis.frame_dt, proto.window_frames)
    n = len(dists)
    times = track.times_s[:n]
    speech = analysis.audio.speech_at(times, proto.window_frames * analysis.frame_dt)
    curve = search_offset(dists, offsets, speech) if speech.sum() >= proto.min_windows else None
    return dists, offsets, times, speech, curve


def check(path, audio=None, *, settings: Settings | None = None, scorer: str | Scorer | None = None,
          jobs: int | None = None, thumbnails: bool = False, progress: bool = False,
          audio_delay_s: float = 0.0, keep_analysis: bool = False) -> SyncReport:
    """Check one video and return its report. Never raises for bad input: the report says ``error``."""
    path = str(path)
    try:
        settings = settings or Settings.load()
        try:
            scorer = resolve_scorer(scorer)
        except ValueError as exc:
            return SyncReport.failure(path, "bad_model", str(exc), version=__version__)
        analysis = analyse(path, audio, settings, jobs, scorer, audio_delay_s, progress)
        report = build_report(analysis, scorer, settings, thumbnails)
        report.audio = str(audio) if audio is not None else None
        if keep_analysis:
            report._analysis = analysis  # type: ignore[attr-defined]
        return report
    except MediaError as exc:
        return SyncReport.failure(path, exc.code, exc.message, version=__version__, audio=_str(audio))
    except MemoryError:
        return SyncReport.failure(path, "out_of_memory", f"out of memory while checking {path}", version=__version__)
    except Exception as exc:  # the tool never crashes on a bad file
        where = traceback.extract_tb(exc.__traceback__)[-1]
        message = f"{exc.__class__.__name__}: {exc} (at {Path(where.filename).name}:{where.lineno})"
        return SyncReport.failure(path, "internal", message, version=__version__, audio=_str(audio))


def _str(value):
    return None if value is None else str(value)


def build_report(analysis: Analysis, scorer: Scorer, settings: Settings, thumbnails: bool = False) -> SyncReport:
    tick = time.perf_counter()
    vcfg, proto = settings.verdict, settings.protocol
    ms_per_frame = 1000.0 * analysis.frame_dt
    report = SyncReport(file=analysis.path, verdict="inconclusive", fps=round(analysis.source_fps, 4),
                        duration_s=round(analysis.duration_s, 3), scorer=scorer.describe(), version=__version__,
                        speech_fraction=round(analysis.audio.speech_fraction(), 3))
    report.timings_s = analysis.timings_s
    if analysis.step > 1:
        report.scorer = {**report.scorer, "analysis_step": str(analysis.step)}

    covered = sum(len(t) for t in analysis.tracks)
    if not analysis.tracks:
        report.verdict = "no_face"
        return report
    if analysis.audio.speech_fraction() < settings.features.vad_min_speech_fraction:
        report.verdict = "no_speech"
        return report

    scored = []
    for track in analysis.tracks:
        dists, offsets, times, speech, curve = score_track(track, analysis, scorer, settings)
        tr = TrackReport(track.track_id, track.frame_start * analysis.step, track.frame_end * analysis.step,
                         "inconclusive",
                         face_box_median=[round(float(v), 1) for v in np.median(track.boxes, axis=0)])
        if curve is not None:
            _fill(tr, curve, ms_per_frame, analysis.source_fps, vcfg, scorer)
            tr.timeline = local_curves(dists, offsets, times, speech, proto.timeline_window_s, proto.timeline_hop_s)
            for row in tr.timeline:
                frames = row.pop("av_offset_frames")
                row["av_offset_ms"] = None if frames is None else round(frames * ms_per_frame, 1)
            tr.drift_ms_per_min = drift_ms_per_min(tr.timeline)
            tr.segments = sync_segments(tr.timeline, vcfg, scorer.name)
            scored.append((curve, tr, track))
        report.tracks.append(tr)

    long_enough = analysis.duration_s >= vcfg.min_duration_s
    face_fraction = covered / max(analysis.n_frames, 1)
    if scored and long_enough and face_fraction >= vcfg.min_face_fraction:
        curve, best, track = max(scored, key=lambda s: s[0].confidence)
        report.speaking_track = best.track_id
        for key in ("verdict", "av_offset_ms", "av_offset_frames", "confidence", "min_dist", "p_sync",
                    "tolerance_gap", "offset_curve", "timeline", "segments", "drift_ms_per_min"):
            setattr(report, key, getattr(best, key))
        report.av_offset_ms_subframe = round(curve.av_offset_subframe * ms_per_frame, 1)
        report.offsets_frames = [int(-k) * analysis.step for k in curve.offsets]
        if thumbnails:
            report.mouth_strip_png_b64 = mouth_strip(track)
    report.timings_s["scoring"] = time.perf_counter() - tick
    return report


def _fill(tr: TrackReport, curve: OffsetCurve, ms_per_frame: float, source_fps: float, vcfg, scorer: Scorer) -> None:
    """Offsets in ms (sub-frame refined) and in the video's own frames."""
    offset_ms = curve.av_offset_subframe * ms_per_frame
    tr.av_offset_frames = int(round(curve.av_offset_frames * ms_per_frame * source_fps / 1000.0))
    tr.av_offset_ms = round(offset_ms, 1)
    tr.confidence = round(curve.confidence, 4)
    tr.min_dist = round(curve.min_dist, 4)
    gap = tolerance_gap(curve.curve, -np.asarray(curve.offsets) * ms_per_frame, vcfg)
    tr.tolerance_gap = None if gap is None else round(gap, 4)
    tr.verdict = sync_verdict(offset_ms, curve.confidence, vcfg, scorer.name, tr.tolerance_gap)
    tr.p_sync = p_sync(curve.confidence, vcfg, scorer.name)
    tr.offset_curve = [None if not np.isfinite(v) else round(float(v), 4) for v in curve.curve]


def mouth_strip(track: MouthTrack, count: int = 8) -> str:
    import base64

    import cv2

    picks = np.linspace(0, len(track) - 1, min(count, len(track))).astype(int)
    strip = np.concatenate([track.crops[i] for i in picks], axis=1)
    ok, png = cv2.imencode(".png", strip)
    return base64.b64encode(png.tobytes()).decode("ascii") if ok else None
