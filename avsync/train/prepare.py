"""``avsync prepare``: run the front-end once per clip and cache mouth crops, lips and MFCC.

One ``.npz`` per face track plus ``index.jsonl`` (one line per clip, appended as each clip
finishes), so an interrupted run resumes where it stopped. Clips that cannot be used are
recorded with ``status: skipped`` and the reason.
"""
from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from avsync.sources import Clip

log = logging.getLogger("avsync.prepare")


def prepare_clip(entry: Clip, out_dir: str, min_track_frames: int = 25, settings=None) -> list[dict]:
    """Analyse one clip; write its tracks; return the index lines."""
    from avsync.media.errors import MediaError
    from avsync.pipeline import analyse

    base = {"id": entry.slug, "file": entry.video, "split": entry.split, "category": entry.category,
            "source": entry.source}
    try:
        analysis = analyse(entry.video, audio=entry.audio, settings=settings, jobs=1)
    except MediaError as exc:
        return [{**base, "status": "skipped", "reason": f"{exc.code}: {exc.message}"}]
    except Exception as exc:  # one bad clip never stops the batch
        return [{**base, "status": "skipped", "reason": f"{exc.__class__.__name__}: {exc}"}]
    tracks = [t for t in analysis.tracks if len(t) >= min_track_frames]
    if not tracks:
        return [{**base, "status": "skipped", "reason": "no face track long enough"}]
    if not len(analysis.audio):
        return [{**base, "status": "skipped", "reason": "audio too short"}]
    lines = []
    audio = analysis.audio
    for track in tracks:
        name = f"{entry.slug}__t{track.track_id}.npz"
        tmp = Path(out_dir) / (name + ".tmp.npz")
        np.savez_compressed(
            tmp, crops=track.crops, lips=track.lips_in_crop(), opening=track.opening, times_s=track.times_s,
            valid=track.valid, mfcc=audio.mfcc, speech=audio.speech, mfcc_t0_s=np.float64(audio.t0_s),
            hop_s=np.float64(audio.hop_s), fps=np.float64(analysis.fps))
        os.replace(tmp, Path(out_dir) / name)
        lines.append({**base, "status": "ok", "reason": "", "npz": name, "track": track.track_id,
                      "n_tracks": len(tracks), "n_frames": len(track), "fps": analysis.fps})
    return lines


def done_ids(index_path: Path) -> set[str]:
    if not index_path.exists():
        return set()
    done = set()
    with open(index_path) as fh:
        for line in fh:
            try:
                done.add(json.loads(line)["id"])
            except (json.JSONDecodeError, KeyError):
                continue  # a torn last line from an interrupted run: that clip is redone
    return done


def prepare(entries: list[Clip], out_dir: str | Path, jobs: int = 1, progress: bool = True, settings=None) -> dict:
    from tqdm import tqdm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    index_path = out_dir / "index.jsonl"
    _repair_tail(index_path)
    done = done_ids(index_path)
    todo = [e for e in entries if e.slug not in done]
    counts = {"done_before": len(entries) - len(todo), "ok": 0, "skipped": 0}
    bar = tqdm(total=len(todo), unit="clip", desc="prepare", disable=not progress)
    with open(index_path, "a") as index, ProcessPoolExecutor(max(1, jobs)) as pool:
        futures = {pool.submit(prepare_clip, e, str(out_dir), settings=settings): e for e in todo}
        for future in as_completed(futures):
            entry = futures[future]
            try:
                lines = future.result()
            except Exception as exc:  # a worker that died
                lines = [{"id": entry.slug, "file": entry.video, "split": entry.split, "category": entry.category,
                          "status": "skipped", "reason": f"worker failed: {exc.__class__.__name__}"}]
            for line in lines:
                index.write(json.dumps(line) + "\n")
                if line["status"] == "skipped":
                    log.warning("skipped %s: %s", entry.video, line["reason"])
            index.flush()
            os.fsync(index.fileno())
            counts["ok" if lines[0]["status"] == "ok" else "skipped"] += 1
            bar.update(1)
    bar.close()
    return counts


def _repair_tail(index_path: Path) -> None:
    """Drop a torn last line left by a kill mid-write."""
    if not index_path.exists():
        return
    data = index_path.read_bytes()
    if data and not data.endswith(b"\n"):
        index_path.write_bytes(data[: data.rfind(b"\n") + 1])
