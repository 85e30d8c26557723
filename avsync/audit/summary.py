"""``summary.csv`` (one row per video) and the slimmed records the report is built from."""
from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

from avsync.audit.store import write_text_atomic
from avsync.report import VERDICTS

COLUMNS = ["id", "file", "audio", "verdict", "verdict_reason", "av_offset_ms", "av_offset_ci_lo_ms",
           "av_offset_ci_hi_ms", "av_offset_frames", "confidence", "min_dist", "p_sync", "duration_s", "fps",
           "speech_fraction", "audio_channel", "field_order", "drift_ms_per_min", "drift_ci_lo_ms_per_min",
           "drift_ci_hi_ms_per_min", "error_code", "error_message", "scorer", "elapsed_s"]
SCALARS = ("id", "key", "file", "audio", "verdict", "verdict_reason", "av_offset_ms", "av_offset_ci_ms",
           "av_offset_frames", "confidence", "min_dist", "p_sync", "duration_s", "fps", "speech_fraction",
           "audio_channel", "field_order", "drift_ms_per_min", "drift_ci_ms_per_min", "error", "scorer", "audit")
DETAIL = ("offsets_frames", "offset_curve", "mouth_strip_png_b64")


def slim(record: dict, flagged: set[str]) -> dict:
    """What summary and report need: scalars for every video, curve and thumbnails only if flagged."""
    keep = SCALARS + DETAIL if record.get("verdict") in flagged else SCALARS
    return {k: record.get(k) for k in keep}


def record_id(record: dict) -> str:
    return str(record.get("id") or record.get("file") or "")


def verdict_counts(records) -> dict[str, int]:
    """Videos per verdict, every known verdict listed (zeros included) in the schema's order."""
    counts = Counter(str(r.get("verdict") or "error") for r in records)
    out = {v: counts.pop(v, 0) for v in VERDICTS}
    out.update(sorted(counts.items()))
    return out


def summary_rows(records) -> list[dict]:
    rows = []
    for r in sorted(records, key=record_id):
        error = r.get("error") or {}
        scorer = r.get("scorer") or {}
        offset_ci, drift_ci = r.get("av_offset_ci_ms") or [None, None], r.get("drift_ci_ms_per_min") or [None, None]
        rows.append({
            "id": record_id(r), "file": r.get("file"), "audio": r.get("audio"), "verdict": r.get("verdict"),
            "verdict_reason": r.get("verdict_reason"), "av_offset_ms": r.get("av_offset_ms"),
            "av_offset_ci_lo_ms": offset_ci[0], "av_offset_ci_hi_ms": offset_ci[1],
            "av_offset_frames": r.get("av_offset_frames"),
            "confidence": r.get("confidence"), "min_dist": r.get("min_dist"), "p_sync": r.get("p_sync"),
            "duration_s": r.get("duration_s"), "fps": r.get("fps"), "speech_fraction": r.get("speech_fraction"),
            "audio_channel": r.get("audio_channel"), "field_order": r.get("field_order"),
            "drift_ms_per_min": r.get("drift_ms_per_min"),
            "drift_ci_lo_ms_per_min": drift_ci[0], "drift_ci_hi_ms_per_min": drift_ci[1],
            "error_code": error.get("code"), "error_message": error.get("message"),
            "scorer": " ".join(str(v) for v in (scorer.get("name"), scorer.get("version")) if v),
            "elapsed_s": (r.get("audit") or {}).get("elapsed_s"),
        })
    return rows


def write_summary(path: str | Path, records) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in summary_rows(records):
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    write_text_atomic(Path(path), buf.getvalue())
