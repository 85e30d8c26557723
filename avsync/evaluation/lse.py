"""LSE-D / LSE-C tables as talking-head papers report them: one number per video, mean ± std.

LSE-D is the report's ``min_dist`` and LSE-C its ``confidence`` (see docs/lse.md). The number for
a video is the headline track's: the speaking track the report chose. ``all_tracks`` lists every
face track as well.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterable, Sequence

import numpy as np

from avsync.report import SyncReport


def headline(rep: SyncReport) -> tuple[float | None, float | None, int | None, str]:
    """(LSE-D, LSE-C, offset frames, which track) for one video.

    The report's headline track: the face track whose offset search is most confident (the one
    ``check`` treats as the speaker). When ``check`` names none (e.g. ``inconclusive`` because the
    face is visible in too few frames) but tracks were scored, the same rule is applied to them.
    """
    if rep.min_dist is not None and rep.confidence is not None:
        name = "headline" if rep.speaking_track is None else f"headline (track {rep.speaking_track})"
        return rep.min_dist, rep.confidence, rep.av_offset_frames, name
    scored = [t for t in rep.tracks if t.min_dist is not None and t.confidence is not None]
    if not scored:
        return None, None, None, "none"
    best = max(scored, key=lambda t: t.confidence)
    return best.min_dist, best.confidence, best.av_offset_frames, f"most confident (track {best.track_id})"


def lse_rows(names: Sequence[str], reports: Sequence[SyncReport], all_tracks: bool = False) -> list[dict[str, Any]]:
    """One row per video (headline track); with ``all_tracks`` also one row per face track."""
    rows = []
    for name, rep in zip(names, reports):
        d, c, offset, which = headline(rep)
        rows.append({"video": name, "track": which, "lse_d": d, "lse_c": c, "offset_frames": offset,
                     "verdict": rep.verdict,
                     "error": f"{rep.error.get('code')}: {rep.error.get('message')}" if rep.error else None})
        if all_tracks:
            for t in rep.tracks:
                speaking = " (speaking)" if t.track_id == rep.speaking_track else ""
                rows.append({"video": name, "track": f"track {t.track_id}{speaking}", "lse_d": t.min_dist,
                             "lse_c": t.confidence, "offset_frames": t.av_offset_frames, "verdict": t.verdict,
                             "error": None, "frames": f"{t.frame_start}-{t.frame_end}"})
    return rows


def summary(reports: Iterable[SyncReport]) -> dict[str, Any]:
    """Mean and sample standard deviation (ddof=1) of the per-video LSE-D and LSE-C (see
    :func:`headline`) over videos that have them; the others are counted as missing."""
    reports = list(reports)
    pairs = [headline(r)[:2] for r in reports]
    pairs = [p for p in pairs if p[0] is not None]
    d = np.array([p[0] for p in pairs], float)
    c = np.array([p[1] for p in pairs], float)

    def stats(x):
        if not len(x):
            return {"mean": None, "std": None}
        return {"mean": float(x.mean()), "std": float(x.std(ddof=1)) if len(x) > 1 else 0.0}

    return {"n": len(pairs), "n_missing": len(reports) - len(pairs), "lse_d": stats(d), "lse_c": stats(c)}


def _num(x, digits=3) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def _pm(s) -> str:
    return "n/a" if s["mean"] is None else f"{s['mean']:.3f} ± {s['std']:.3f}"


def to_markdown(rows: Sequence[dict], summ: dict, all_tracks: bool = False) -> str:
    head = ["video"] + (["track"] if all_tracks else []) + ["LSE-D ↓", "LSE-C ↑", "offset (frames)", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---"] * (len(head) - 1)) + "|"]
    for r in rows:
        cells = [r["video"].replace("|", "\\|")] + ([r["track"]] if all_tracks else [])
        cells += [_num(r["lse_d"]), _num(r["lse_c"]), "" if r["offset_frames"] is None else str(r["offset_frames"]),
                  r["verdict"] + (f" ({r['error']})" if r.get("error") else "")]
        lines.append("| " + " | ".join(cells) + " |")
    label = f"**mean ± std** (n={summ['n']}" + (f", {summ['n_missing']} without a score)" if summ["n_missing"] else ")")
    tail = [label] + ([""] if all_tracks else []) + [_pm(summ["lse_d"]), _pm(summ["lse_c"]), "", ""]
    lines.append("| " + " | ".join(tail) + " |")
    return "\n".join(lines)


def to_csv(rows: Sequence[dict], summ: dict) -> str:
    buf = io.StringIO()
    cols = ["video", "track", "lse_d", "lse_c", "offset_frames", "verdict", "error"]
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    for stat in ("mean", "std"):
        w.writerow({"video": f"__{stat}__", "track": f"n={summ['n']}", "lse_d": summ["lse_d"][stat],
                    "lse_c": summ["lse_c"][stat]})
    return buf.getvalue()


def to_json(rows: Sequence[dict], summ: dict) -> str:
    return json.dumps({"schema": "avsync.lse/1", "headline": "speaking track of each video (docs/lse.md)",
                       "videos": list(rows), "summary": summ}, indent=2)
