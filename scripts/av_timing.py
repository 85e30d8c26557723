"""Where a source's offset comes from: the container, the decoder, or the recording.

For each clip it prints:
- the container's stream start times and durations (PyAV), the first packet times, and the
  MP4 edit lists when there are any;
- the lag between decord's and PyAV's decoded audio (the pipeline decodes with PyAV);
- a model-free offset: the mouth opening of the front-end's track against the audio's
  log-energy, correlated at lags of -15..15 frames (positive = audio early, as `check`), per
  clip and pooled over all the clips given (one clip alone is noisy);
- what the shipped model reads (`check`'s offset and confidence) and the speech fraction.

    nice -n 10 python scripts/av_timing.py ../shared/corpus/real/rizkiarm__LipNet__*.mpg
    nice -n 10 python scripts/av_timing.py --self-test FILE   # the model-free offset sees a 200 ms delay
"""
from __future__ import annotations

import argparse
import json
import struct
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from avsync.media.errors import MediaError  # noqa: E402
from avsync.media.probe import probe  # noqa: E402

MAX_LAG_FRAMES = 15


def container(path: Path) -> dict:
    import av

    out: dict = {}
    with av.open(str(path)) as c:
        for s in c.streams:
            if s.type in ("video", "audio"):
                tb = float(s.time_base) if s.time_base else 0.0
                out[s.type] = {"start_s": None if s.start_time is None else s.start_time * tb,
                               "duration_s": None if s.duration is None else s.duration * tb,
                               "codec": s.codec_context.name}
        first: dict[str, float] = {}
        for packet in c.demux():
            kind = packet.stream.type
            if kind in ("video", "audio") and kind not in first and packet.pts is not None:
                first[kind] = float(packet.pts * packet.time_base)
            if len(first) == 2:
                break
        for kind, t in first.items():
            out[kind]["first_packet_s"] = t
    out["edit_lists"] = mp4_edit_lists(path)
    return out


def mp4_edit_lists(path: Path) -> list[list[tuple[int, int]]]:
    """(segment_duration, media_time) entries of every ``elst`` box; [] for non-MP4 or none."""
    data = path.read_bytes()
    lists, at = [], data.find(b"elst")
    while at >= 0:
        version = data[at + 4]
        count = struct.unpack(">I", data[at + 8:at + 12])[0]
        fmt, size = (">QqHH", 20) if version == 1 else (">IiHH", 12)
        entries = [struct.unpack(fmt, data[at + 12 + i * size:at + 12 + (i + 1) * size])[:2] for i in range(min(count, 8))]
        lists.append(entries)
        at = data.find(b"elst", at + 4)
    return lists


def decoder_lag_ms(path: Path, rate: int = 16000) -> dict:
    """decord's audio against PyAV's (what the pipeline decodes with): lengths and the
    cross-correlation lag (decord later = +)."""
    import decord

    from avsync.media.audio import load_audio

    d = np.asarray(decord.AudioReader(str(path), sample_rate=rate, mono=True)._array, np.float32).reshape(-1)
    p = load_audio(str(path), rate)
    n = min(len(d), len(p))
    max_lag = rate // 10
    a, b = d[:n] - d[:n].mean(), p[:n] - p[:n].mean()
    lags = np.arange(-max_lag, max_lag + 1)
    score = [float(np.dot(a[max(0, k):n + min(0, k)], b[max(0, -k):n - max(0, k)])) for k in lags]
    return {"decord_s": len(d) / rate, "pyav_s": len(p) / rate, "lag_ms": 1000.0 * lags[int(np.argmax(score))] / rate}


def model_free_curve(analysis) -> np.ndarray:
    """Correlation of the speaking track's mouth opening with the audio log-energy at audio lags
    of -15..15 frames (NaN where too little overlaps); index i is lag ``i - 15`` frames."""
    curve = np.full(2 * MAX_LAG_FRAMES + 1, np.nan)
    if not analysis.tracks:
        return curve
    track = max(analysis.tracks, key=len)
    audio, frame_dt = analysis.audio, analysis.frame_dt
    opening = np.asarray(track.opening, float)
    cum = np.concatenate([[0.0], np.cumsum(audio.log_energy)])
    rows = int(round(frame_dt / audio.hop_s))
    for i, k in enumerate(range(-MAX_LAG_FRAMES, MAX_LAG_FRAMES + 1)):
        # audio energy over each frame's duration, read k frames after the frame's time
        lo = np.floor((track.times_s + k * frame_dt - audio.t0_s) / audio.hop_s).astype(int)
        sel = np.isfinite(opening) & (lo >= 0) & (lo + rows <= len(audio.log_energy))
        if sel.sum() >= 25:
            energy = (cum[lo[sel] + rows] - cum[lo[sel]]) / rows
            curve[i] = np.corrcoef(opening[sel], energy)[0, 1]
    return curve


def curve_offset_ms(curve: np.ndarray, frame_dt: float) -> float | None:
    """The best lag of a correlation curve as an offset, refined by a parabola through the peak
    and its neighbours; positive = audio early (as ``check``)."""
    if not np.isfinite(curve).any():
        return None
    i = int(np.nanargmax(curve))
    shift = 0.0
    if 0 < i < len(curve) - 1 and np.isfinite(curve[i - 1:i + 2]).all():
        bend = curve[i - 1] - 2 * curve[i] + curve[i + 1]
        shift = 0.5 * (curve[i - 1] - curve[i + 1]) / bend if bend < 0 else 0.0
    return round(-1000.0 * (i + shift - MAX_LAG_FRAMES) * frame_dt, 1)


def measure(path: Path, delay_s: float = 0.0) -> dict:
    from avsync.config import Settings
    from avsync.pipeline import analyse, build_report, resolve_scorer

    settings = Settings.load()
    scorer = resolve_scorer("default")
    analysis = analyse(str(path), settings=settings, jobs=1, scorer=scorer, audio_delay_s=delay_s)
    report = build_report(analysis, scorer, settings)
    curve = model_free_curve(analysis)
    return {"model_free_offset_ms": curve_offset_ms(curve, analysis.frame_dt), "speech_fraction": report.speech_fraction,
            "model_offset_ms": report.av_offset_ms,
            "model_confidence": report.confidence, "verdict": report.verdict, "frame_dt": analysis.frame_dt,
            "model_free_curve": [None if not np.isfinite(v) else round(float(v), 4) for v in curve]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--self-test", action="store_true", help="also measure with the audio delayed 200 ms")
    args = ap.parse_args()
    curves, delayed = [], []
    for path in args.files:
        try:
            probe(path)  # a clear MediaError for what is not a readable video
            row = {"file": path.name, "container": container(path), "decoders": decoder_lag_ms(path), **measure(path)}
        except MediaError as exc:
            print(json.dumps({"file": path.name, "error": f"{exc.code}: {exc.message}"}), flush=True)
            continue
        curves.append(row["model_free_curve"])
        if args.self_test:
            row["delayed_200ms"] = measure(path, 0.2)
            delayed.append(row["delayed_200ms"]["model_free_curve"])
        print(json.dumps(row), flush=True)
    # One clip's correlation is noisy; the mean curve over a source's clips is what its offset is read from.
    frame_dt = 1.0 / 25
    for name, rows in (("pooled", curves), ("pooled_delayed_200ms", delayed)):
        if rows:
            mean = np.nanmean(np.array(rows, dtype=float), axis=0)
            print(json.dumps({name: {"clips": len(rows), "model_free_offset_ms": curve_offset_ms(mean, frame_dt),
                                     "curve": [round(float(v), 4) for v in mean]}}), flush=True)


if __name__ == "__main__":
    main()
