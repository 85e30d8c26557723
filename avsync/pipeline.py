"""From a file to a SyncReport: decode -> face/mouth tracks -> audio features -> offset search -> verdict."""
from __future__ import annotations

import functools
import os
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avsync.version import __version__
from avsync.config import Settings
from avsync.features.audio import AudioFeatures, extract_audio_features
from avsync.frontend.segments import add_face_crops, track_video
from avsync.frontend.track import MouthTrack
from avsync.media.audio import DecodedAudio, channel_levels, decode_audio
from avsync.media.errors import MediaError
from avsync.media.probe import MediaInfo, check_path, probe
from avsync.media.scan import field_delay_s, field_order
from avsync.media.video import VideoReader
from avsync.memory import heap_for_compute
from avsync.native_threads import one_blas_thread
from avsync.report import SyncReport, TrackReport
from avsync.scoring.base import Scorer
from avsync.scoring.localise import drift_ms_per_min, foreign_audio_segments, sync_segments
from avsync.scoring.protocol import OffsetCurve, bootstrap_offsets, local_curves, search_offset
from avsync.scoring.sidecar import Calibration
from avsync.verdict import Decision, OffsetEstimate, decide


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
    decode_errors: int = 0  # video packets skipped because they do not decode
    truncated: bool = False  # the video stream ends before its container says it does
    field_order: str | None = None  # "tff" / "bff": interlaced, frames timed between their fields

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
    from avsync.scoring.registry import resolve_scorer as resolve

    return resolve(spec or "default")


def audio_features(path: str, audio: str | None, settings: Settings, info: MediaInfo | None = None,
                   audio_delay_s: float = 0.0, audio_stream: int | None = None) -> AudioFeatures:
    """Audio features on the video's clock: a separate ``audio`` file starts with the video;
    the video's own audio track starts where its container says, relative to the video stream.
    ``audio_stream`` picks a stream of the file decoded (None: its default stream)."""
    rate, cfg = settings.features.sample_rate, settings.features
    if audio is not None:
        check_path(audio)
        sound, start = decode_audio(audio, rate, audio_stream, cfg.audio_max_error_fraction), 0.0
    else:
        info = info or probe(path, audio_stream)
        if not info.has_audio:
            raise MediaError("no_audio", f"no audio stream (pass --audio FILE to pair one): {path}")
        sound = decode_audio(path, rate, info.audio_stream, cfg.audio_max_error_fraction)
        start = info.audio_start_s - info.video_start_s
    features = extract_audio_features(sound.samples, rate, start + audio_delay_s, cfg)
    if features.speech_fraction() < cfg.vad_min_speech_fraction and sound.channels > 1:
        features = _speaking_channel(audio or path, sound, rate, start + audio_delay_s, cfg) or features
    features.stream, features.decode_errors = sound.stream, sound.decode_errors
    return features


# The downmix this far below the channels' mean level has cancelled what they hold (opposite phase).
CANCELLED_BELOW = 0.1


def _speaking_channel(path: str, sound: DecodedAudio, rate: int, start_s: float, cfg) -> AudioFeatures | None:
    """The loudest channel's features where the mono downmix cancels the channels: one in opposite
    phase cancels the speech, though a stereo player plays it. None where the downmix holds the
    channels' level (music, silence: no channel has what the downmix lacks) or that channel has no
    speech either. Costs one more decode of a multi-channel file without speech, and a VAD pass only
    where the downmix cancels."""
    try:
        levels = channel_levels(path, rate, sound.stream, cfg.audio_max_error_fraction)
        downmix = float(np.sqrt(np.mean(np.square(sound.samples, dtype=np.float64))))
        if not len(levels) or downmix >= CANCELLED_BELOW * float(levels.mean()):
            return None
        channel = int(np.argmax(levels))
        samples = decode_audio(path, rate, sound.stream, cfg.audio_max_error_fraction, channel).samples
    except MediaError:  # channels the resampler cannot keep apart: the downmix's reading stands
        return None
    found = extract_audio_features(samples, rate, start_s, cfg)
    if found.speech_fraction() < cfg.vad_min_speech_fraction:
        return None
    found.channel = channel
    return found


def analyse(path: str, audio: str | None = None, settings: Settings | None = None, jobs: int | None = None,
            scorer: Scorer | None = None, audio_delay_s: float = 0.0, progress: bool = False,
            audio_stream: int | None = None) -> Analysis:
    """Decode and track one video. ``audio_delay_s`` plays the audio that much later (for tests/evals).

    A damaged or truncated video is analysed as far as it decodes; it is ``corrupt`` only when
    less than ``min_duration_s`` of it is left."""
    settings = settings or Settings.load()
    info = probe(path, None if audio is not None else audio_stream)
    if not info.has_video:
        raise MediaError("no_video", f"no video stream: {path}")
    if audio is None and not info.has_audio:
        raise MediaError("no_audio", f"no audio stream (pass --audio FILE to pair one): {path}")
    if audio is not None:
        check_path(audio)  # before the front-end's work, not after it
    timings: dict[str, float] = {}

    tick = time.perf_counter()
    reader = VideoReader(path, chunk_frames=settings.frontend.chunk_frames)
    step = 1
    if reader.source_fps > 1.5 * settings.protocol.analysis_fps:
        step = int(round(reader.source_fps / settings.protocol.analysis_fps))
        reader = VideoReader(path, step=step, chunk_frames=settings.frontend.chunk_frames)
    n_frames, fps = len(reader), reader.fps
    decodable_s = reader.end_s
    truncated = bool(info.video_duration_s) and decodable_s < info.video_duration_s - max(0.5, 2 / max(fps, 1e-6))
    duration = decodable_s if truncated else max(info.duration_s, reader.num_source_frames / max(reader.source_fps, 1e-6))
    del reader
    if truncated:
        _enough_left(path, decodable_s, info.video_duration_s, settings)
    timings["open"] = time.perf_counter() - tick

    # The audio is decoded and featurised on a thread while the face front-end runs: native code
    # (FFmpeg, numpy, onnxruntime) does that work, so it uses the core the front-end leaves idle
    # at its start and end instead of delaying it.
    with ThreadPoolExecutor(1) as audio_thread:
        features_job = audio_thread.submit(_timed, audio_features, path, audio, settings, info, audio_delay_s,
                                           audio_stream)
        fields_job = audio_thread.submit(field_order, path)
        tick = time.perf_counter()
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=n_frames, unit="frame", desc=Path(path).name[:30], leave=False)
        tracks, decode_s, decode_errors = track_video(str(path), n_frames, step, settings.frontend,
                                                      jobs or os.cpu_count() or 1, bar.update if bar else None)
        if bar:
            bar.close()
        front_s = time.perf_counter() - tick
        features, timings["features"] = features_job.result()
        fields = fields_job.result()
    delay = field_delay_s(fields, fps * step)
    for track in tracks:
        track.times_s = track.times_s + delay
    if decode_errors:
        _enough_left(path, decodable_s * (1 - decode_errors / max(n_frames * step, 1)), info.video_duration_s,
                     settings)
    if settings.frontend.frame_mmap_threshold_kb > 0:
        heap_for_compute()
    if scorer is not None and getattr(scorer, "needs_face_crops", False):
        add_face_crops(str(path), step, settings.frontend, tracks, scorer.face_crop_size, scorer.face_crop_scale)
    timings["decode"] = decode_s
    timings["face"] = front_s - decode_s
    return Analysis(str(path), fps, fps * step, step, n_frames, duration, tracks, features, timings,
                    decode_errors=decode_errors, truncated=truncated, field_order=fields)


def _timed(fn, *args):
    tick = time.perf_counter()
    return fn(*args), time.perf_counter() - tick


def _enough_left(path: str, decodable_s: float, expected_s: float, settings: Settings) -> None:
    if decodable_s < settings.verdict.min_duration_s:
        whole = f" of {expected_s:.1f} s" if expected_s else ""
        raise MediaError("corrupt", f"corrupt or truncated: only {max(decodable_s, 0):.1f} s{whole} of video "
                         f"decodes: {path}")


@dataclass
class TrackScore:
    """One track scored against one audio: the distance matrix, its speech mask, the whole-clip
    curve over the searched offsets and the offset estimate with its bootstrap spread."""

    track: MouthTrack
    dists: np.ndarray  # (n_windows, len(offsets))
    offsets: np.ndarray  # k values in frames (audio k frames later)
    times: np.ndarray
    speech: np.ndarray
    curve: OffsetCurve | None
    estimate: OffsetEstimate | None
    window_s: float  # the scorer's visual window, in seconds


def search_frames(analysis: Analysis, settings: Settings, max_offset_ms: float | None = None) -> int:
    """``check``'s search, ±``max_offset_ms`` (default: the protocol's ``check_max_offset_ms``)
    in whole frames of the analysis rate, plus ``search_guard_frames`` so that an offset right at
    the limit is a minimum with neighbours on both sides: bounded in ms whatever the frame rate."""
    proto = settings.protocol
    ms = proto.check_max_offset_ms if max_offset_ms is None else max_offset_ms
    return max(1, int(np.floor(ms / (1000.0 * analysis.frame_dt) + 1e-9))) + proto.search_guard_frames


def score_tracks(analysis: Analysis, scorer: Scorer, settings: Settings, *, audio: AudioFeatures | None = None,
                 search: int | None = None, margin: int = 0, min_coverage: float | None = None,
                 estimate: bool = True) -> list[TrackScore]:
    """Every track against ``audio`` (default: the clip's own). The curve searches ±``search``
    frames (default: ``check``'s ±``check_max_offset_ms``); ``margin`` more frames either way are
    scored too (eval-offsets shifts the audio inside that matrix). ``estimate`` adds the
    bootstrap spread of the offset (``check``; benchmarks skip it)."""
    proto, vcfg = settings.protocol, settings.verdict
    audio = analysis.audio if audio is None else audio
    search = search_frames(analysis, settings) if search is None else search
    if min_coverage is None:  # check's search rule (docs/pipeline.md, section 4)
        coverage, offset_coverage = proto.min_offset_coverage, proto.offset_coverage
        enough = proto.offset_enough_speech_s / analysis.frame_dt
    else:
        coverage = offset_coverage = min_coverage
        enough = np.inf
    offsets = np.arange(-search - margin, search + margin + 1)
    centre = slice(margin, margin + 2 * search + 1)
    ms_per_frame = 1000.0 * analysis.frame_dt
    window_s = scorer.window_frames * analysis.frame_dt
    out = []
    for track in analysis.tracks:
        dists = scorer.distances(track, audio, offsets, analysis.frame_dt)
        times = track.times_s[:len(dists)]
        speech = audio.speech_at(times, window_s)
        curve = est = None
        if speech.sum() >= proto.min_windows:
            curve = search_offset(dists[:, centre], offsets[centre], speech, coverage, offset_coverage, enough)
        if curve is not None and estimate:
            # the replicates choose only among well-covered offsets: where the clip has none, none
            # of them finds an offset, and the estimate is ambiguous (it rests on a few windows)
            boot = bootstrap_offsets(dists[:, centre], offsets[centre], speech, times, vcfg.ci_block_s,
                                     vcfg.ci_resamples, vcfg.ci_seed, max(coverage, offset_coverage), enough)
            est = _estimate(curve, boot, ms_per_frame, vcfg)
        out.append(TrackScore(track, dists, offsets, times, speech, curve, est, window_s))
    return out


def _estimate(curve: OffsetCurve, boot_k: np.ndarray, ms_per_frame: float, cfg) -> OffsetEstimate:
    """The offset in ms, how far the bootstrap's central ``ci_level`` interval of the resamples
    near it (within ``ci_mode_radius_ms``) reaches either side, and the share of resamples whose
    best offset lies elsewhere (another minimum, or none): a clip that cannot be resampled (one
    block) is fully ambiguous."""
    offset = curve.av_offset_subframe * ms_per_frame
    boot = -boot_k * ms_per_frame
    near = np.isfinite(boot) & (np.abs(boot - offset) <= cfg.ci_mode_radius_ms)
    if len(boot) < 2 or near.sum() < 2:
        return OffsetEstimate(offset, np.inf, np.inf, curve.confidence, curve.min_dist, 1.0)
    tail = 100.0 * (1.0 - cfg.ci_level) / 2.0
    lo = max(0.0, offset - float(np.percentile(boot[near], tail)))
    hi = max(0.0, float(np.percentile(boot[near], 100.0 - tail)) - offset)
    return OffsetEstimate(offset, lo, hi, curve.confidence, curve.min_dist, round(1.0 - float(near.mean()), 4))


def speaking_track(scored: list[TrackScore]) -> TrackScore | None:
    """The speaking track: the strongest sync (highest confidence) among the scored tracks."""
    usable = [s for s in scored if s.curve is not None]
    return max(usable, key=lambda s: s.curve.confidence) if usable else None


@dataclass
class Measurement:
    """What ``check`` measured on one clip before any calibration is applied."""

    verdict: str | None  # decided without the scorer's numbers (no_face, no_speech, inconclusive); None: decide()
    reason: str | None
    scored: list[TrackScore]
    best: TrackScore | None


def measure(analysis: Analysis, scorer: Scorer, settings: Settings, *, audio: AudioFeatures | None = None,
            max_offset_ms: float | None = None, search: int | None = None) -> Measurement:
    """The gates that need no calibration, then every track scored over ``check``'s search
    (±``max_offset_ms``, or exactly ±``search`` frames when given)."""
    vcfg, proto = settings.verdict, settings.protocol
    audio = analysis.audio if audio is None else audio
    short = analysis.duration_s < vcfg.min_duration_s
    if not analysis.tracks:
        # a clip too short to hold a track of min_track_frames says nothing about faces
        return Measurement("inconclusive", "too_short", [], None) if short else Measurement("no_face", None, [], None)
    if audio.speech_fraction() < settings.features.vad_min_speech_fraction:
        return Measurement("no_speech", None, [], None)
    if analysis.fps < proto.min_analysis_fps:
        return Measurement("inconclusive", "low_frame_rate", [], None)
    search = search_frames(analysis, settings, max_offset_ms) if search is None else search
    scored = score_tracks(analysis, scorer, settings, audio=audio, search=search)
    best = speaking_track(scored)
    if best is not None and abs(best.curve.best_k) == (len(best.curve.offsets) - 1) // 2:
        # the minimum sits on the last searched offset: the true offset may lie beyond the search
        return Measurement("inconclusive", "offset_beyond_search", scored, best)
    covered = sum(len(t) for t in analysis.tracks)
    if best is None:
        return Measurement("inconclusive", "too_short" if short else "too_little_speech", scored, None)
    if short:
        return Measurement("inconclusive", "too_short", scored, best)
    if covered / max(analysis.n_frames, 1) < vcfg.min_face_fraction:
        return Measurement("inconclusive", "face_too_rare", scored, best)
    return Measurement(None, None, scored, best)


def clip_verdict(m: Measurement, calibration: Calibration | None, cfg) -> tuple[str, str | None, Decision | None]:
    """(verdict, reason, decision of the speaking track) of one measurement under ``calibration``."""
    if m.verdict is not None:
        return m.verdict, m.reason, None
    decision = decide(m.best.estimate, calibration, cfg)
    return decision.verdict, decision.reason, decision


def check(path, audio=None, *, settings: Settings | None = None, scorer: str | Scorer | None = None,
          jobs: int | None = None, thumbnails: bool = False, progress: bool = False,
          audio_delay_s: float = 0.0, max_offset_ms: float | None = None,
          protocol_search: bool = False, audio_stream: int | None = None) -> SyncReport:
    """Check one video and return its report. Never raises for bad input: the report says ``error``.
    ``protocol_search`` searches the literature's ±``max_offset_frames`` instead (``lse``);
    ``audio_stream`` picks an audio stream (index among the audio streams; None: the default one)."""
    path = str(path)
    try:
        settings = settings or Settings.load()
        try:
            scorer = resolve_scorer(scorer)
        except ValueError as exc:
            return SyncReport.failure(path, "bad_model", str(exc), version=__version__)
        with one_blas_thread():
            analysis = analyse(path, audio, settings, jobs, scorer, audio_delay_s, progress, audio_stream)
            search = settings.protocol.max_offset_frames if protocol_search else None
            report = build_report(analysis, scorer, settings, thumbnails, max_offset_ms, search)
        report.audio = str(audio) if audio is not None else None
        report.audio_stream = analysis.audio.stream
        report.audio_channel = analysis.audio.channel
        report.audio_decode_errors = analysis.audio.decode_errors
        report.decode_errors = analysis.decode_errors
        report.truncated = analysis.truncated
        report.field_order = analysis.field_order
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


def build_report(analysis: Analysis, scorer: Scorer, settings: Settings, thumbnails: bool = False,
                 max_offset_ms: float | None = None, search: int | None = None) -> SyncReport:
    tick = time.perf_counter()
    vcfg, proto = settings.verdict, settings.protocol
    calibration = scorer.calibration
    ms_per_frame = 1000.0 * analysis.frame_dt
    report = SyncReport(file=analysis.path, verdict="inconclusive", fps=round(analysis.source_fps, 4),
                        duration_s=round(analysis.duration_s, 3), scorer=scorer.describe(), version=__version__,
                        speech_fraction=round(analysis.audio.speech_fraction(), 3),
                        calibrated=calibration is not None,
                        offset_bias_ms=calibration.offset_bias_ms if calibration else 0.0)
    report.timings_s = analysis.timings_s
    report.tolerance = {"preset": vcfg.tolerance, "audio_early_ms": vcfg.audio_early_tolerance_ms,
                        "audio_late_ms": vcfg.audio_late_tolerance_ms}
    if analysis.step > 1:
        report.scorer = {**report.scorer, "analysis_step": str(analysis.step)}

    m = measure(analysis, scorer, settings, max_offset_ms=max_offset_ms, search=search)
    report.verdict, report.verdict_reason = m.verdict or "inconclusive", m.reason
    if m.scored:
        search = (len(m.scored[0].offsets) - 1) // 2
        bias = report.offset_bias_ms  # in the same corrected ms as every reported offset
        report.search_ms = [round(-search * ms_per_frame - bias, 1), round(search * ms_per_frame - bias, 1)]
    by_track = {}
    for ts in m.scored:
        tr = _track_report(ts.track, analysis.step, "inconclusive")
        if ts.curve is not None:
            _fill(tr, ts, decide(ts.estimate, calibration, vcfg), ms_per_frame, analysis.source_fps)
            _fill_timeline(tr, ts, calibration, settings, ms_per_frame)
        by_track[id(ts)] = tr
        report.tracks.append(tr)
    if not m.scored:  # decided before scoring (no speech, too low a frame rate): the faces found still count
        report.tracks = [_track_report(track, analysis.step, report.verdict, report.verdict_reason)
                         for track in analysis.tracks]
    if m.reason == "too_short":  # no track of a clip too short to judge is judged: their numbers stay, as a hint
        for tr in report.tracks:
            tr.verdict, tr.verdict_reason = report.verdict, m.reason

    if m.best is not None and m.reason not in ("too_short", "face_too_rare"):
        best = by_track[id(m.best)]
        report.speaking_track = best.track_id
        for key in ("av_offset_ms", "av_offset_frames", "confidence", "min_dist", "p_sync", "av_offset_ci_ms", "offset_ambiguity",
                    "offset_curve", "timeline", "segments", "drift_ms_per_min", "drift_ci_ms_per_min"):
            setattr(report, key, getattr(best, key))
        if m.verdict is None:
            report.verdict, report.verdict_reason = best.verdict, best.verdict_reason
        else:
            best.verdict, best.verdict_reason = m.verdict, m.reason
        report.av_offset_ms_subframe = best.av_offset_ms
        report.offsets_frames = [int(-k) * analysis.step for k in m.best.curve.offsets]
        if thumbnails:
            report.mouth_strip_png_b64 = mouth_strip(m.best.track)
    report.timings_s["scoring"] = time.perf_counter() - tick
    return report


def _track_report(track: MouthTrack, step: int, verdict: str, reason: str | None = None) -> TrackReport:
    return TrackReport(track.track_id, track.frame_start * step, track.frame_end * step, verdict,
                       verdict_reason=reason,
                       face_box_median=[round(float(v), 1) for v in np.median(track.boxes, axis=0)])


def _fill(tr: TrackReport, ts: TrackScore, decision: Decision, ms_per_frame: float, source_fps: float) -> None:
    """Offsets in ms (sub-frame refined, bias-corrected) and in the video's own frames."""
    tr.av_offset_ms = decision.offset_ms
    tr.av_offset_frames = int(round(decision.offset_ms * source_fps / 1000.0))
    tr.av_offset_ci_ms = decision.ci_ms
    tr.offset_ambiguity = ts.estimate.ambiguity
    tr.confidence = round(ts.curve.confidence, 4)
    tr.min_dist = round(ts.curve.min_dist, 4)
    tr.verdict, tr.verdict_reason, tr.p_sync = decision.verdict, decision.reason, decision.p_sync
    tr.offset_curve = [None if not np.isfinite(v) else round(float(v), 4) for v in ts.curve.curve]


def _fill_timeline(tr: TrackReport, ts: TrackScore, calibration: Calibration | None, settings: Settings,
                   ms_per_frame: float) -> None:
    """The timeline searches ±max_offset_frames around the clip's own best offset: a 1 s window
    is too short to search the whole range without spurious minima."""
    proto, vcfg = settings.protocol, settings.verdict
    bias = calibration.offset_bias_ms if calibration else 0.0
    near = np.abs(ts.offsets - ts.curve.best_k) <= proto.max_offset_frames
    tr.timeline = local_curves(ts.dists[:, near], ts.offsets[near], ts.times, ts.speech, proto.timeline_window_s,
                               proto.timeline_hop_s, proto.timeline_min_windows)
    for row in tr.timeline:
        frames = row.pop("av_offset_frames")
        row["av_offset_ms"] = None if frames is None else round(frames * ms_per_frame - bias, 1)
    drift = drift_ms_per_min(tr.timeline, ms_per_frame, proto.timeline_hop_s / proto.timeline_window_s)
    if drift is not None:
        tr.drift_ms_per_min, tr.drift_ci_ms_per_min = drift
    foreign = foreign_audio_segments(ts.dists, ts.offsets, ts.times, ts.speech, ts.curve.best_k, proto.foreign_window_s,
                                     proto.foreign_max_ratio, proto.foreign_min_length_s, ts.window_s)
    windows = sync_segments(tr.timeline, vcfg, calibration, proto.timeline_min_speech) if proto.window_segments else []
    tr.segments = sorted(foreign + windows, key=lambda seg: seg["start_s"])


MOUTH_STRIP_CROPS = 8  # crops shown in a report's mouth strip: enough to see the mouth move, small as a PNG


def mouth_strip(track: MouthTrack, count: int = MOUTH_STRIP_CROPS) -> str:
    import base64

    import cv2

    picks = np.linspace(0, len(track) - 1, min(count, len(track))).astype(int)
    strip = np.concatenate([track.crops[i] for i in picks], axis=1)
    ok, png = cv2.imencode(".png", strip)
    return base64.b64encode(png.tobytes()).decode("ascii") if ok else None
