"""Run the tracker over a video, in one process or split into segments over several processes.

MediaPipe does not get faster with threads, so the second core is used by a second process
working on the second part of the video; tracks are stitched where the parts meet.
"""
from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing as mp
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from avsync.config import FrontendConfig
from avsync.frontend.track import MouthTrack
from avsync.frontend.tracker import FaceTracker, iou


def track_range(path: str, step: int, cfg: FrontendConfig, start: int, stop: int,
                progress=None, handoff=None) -> tuple[list[MouthTrack], float, int]:
    """Track frames ``start:stop``; returns the tracks, the seconds spent decoding and the
    packets skipped because they do not decode. ``handoff(frame, decode_share)``, asked before
    each frame, may return an earlier stop: the frames from there on go to other processes."""
    import cv2

    from avsync.frontend.mediapipe_solutions import native_stderr_hidden

    # OpenCV splits even a 96 px warp over its thread pool, whose workers spin between calls:
    # on 2 cores that cost the front-end in one process a tenth of its CPU time, for no gain.
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with native_stderr_hidden():
            return _track_range(path, step, cfg, start, stop, progress, handoff)
    finally:
        cv2.setNumThreads(threads)


def _track_range(path, step, cfg, start, stop, progress, handoff):
    from avsync.memory import mmap_frame_buffers
    from avsync.media.video import VideoReader

    mmap_frame_buffers(cfg.frame_mmap_threshold_kb)  # this may be a fresh worker process
    reader = VideoReader(path, step=step, chunk_frames=cfg.chunk_frames, threads=cfg.decode_threads)
    tracker = FaceTracker(cfg)
    decode_s = 0.0
    frames = reader.frames(start, stop)
    done, began = 0, time.perf_counter()
    while True:
        tick = time.perf_counter()
        item = next(frames, None)
        decode_s += time.perf_counter() - tick
        if item is None:
            break
        index, time_s, frame = item
        row = int(np.searchsorted(reader.indices, index))  # a frame lost to damage leaves a gap
        if handoff is not None:
            stop = min(stop, handoff(row, decode_s / max(time.perf_counter() - began, 1e-9)) or stop)
            if row >= stop:
                break
        tracker.process(frame, row, time_s)
        done += 1
        if progress is not None and done == cfg.chunk_frames:
            progress(done)
            done = 0
    frames.close()
    if progress is not None and done:
        progress(done)
    return tracker.finish(), decode_s, reader.decode_errors


def add_face_crops(path: str, step: int, cfg: FrontendConfig, tracks: list[MouthTrack], size: int, scale: float) -> None:
    """Cut syncnet_python-style face crops from median-smoothed boxes in a second decoding pass.

    Smoothing needs the boxes of later frames, so it cannot run inside the tracking pass.
    """
    from avsync.frontend.face_crop import smooth_face_boxes, syncnet_face_crop
    from avsync.media.video import VideoReader

    if not tracks:
        return
    smoothed = {id(t): smooth_face_boxes(t.boxes) for t in tracks}
    for t in tracks:
        t.face_crops = np.zeros((len(t), size, size, 3), np.uint8)
    reader = VideoReader(path, step=step, chunk_frames=cfg.chunk_frames)
    start, stop = min(t.frame_start for t in tracks), max(t.frame_end for t in tracks) + 1
    for chunk in reader.chunks(start, stop):
        for frame_no, frame in zip(np.searchsorted(reader.indices, chunk.indices).tolist(), chunk.frames):
            for t in tracks:
                if t.frame_start <= frame_no <= t.frame_end:
                    row = frame_no - t.frame_start
                    t.face_crops[row] = syncnet_face_crop(frame, smoothed[id(t)][row], scale=scale, size=size)


def track_video(path: str, n_frames: int, step: int, cfg: FrontendConfig, jobs: int = 1,
                progress=None) -> tuple[list[MouthTrack], float, int]:
    """Returns the tracks, the decode seconds and the undecodable packets (summed over processes).

    This process tracks from the start while ``jobs - 1`` spawned workers start up (or, kept
    from an earlier video, are ready at once); once they are, what is left is split so that all
    finish together (:class:`Handoff`).
    """
    from avsync.media.video import VideoReader

    jobs = max(1, min(jobs, n_frames // max(cfg.parallel_min_frames // 2, 1)))
    if not _main_module_importable():
        jobs = 1
    if not cfg.decode_threads:  # the cores no other front-end process of this check is using
        cfg = dataclasses.replace(cfg, decode_threads=max(1, (os.cpu_count() or 1) // jobs))
    if jobs == 1:
        return track_range(path, step, cfg, 0, n_frames, progress)
    keys = VideoReader(path, step=step, chunk_frames=cfg.chunk_frames).seek_points()
    with _worker_pool(jobs - 1) as pool:
        ready = [_submit(pool, warm_up) for _ in range(jobs - 1)]
        handoff = Handoff(pool, ready, (path, step, cfg), n_frames, keys, cfg.parallel_min_frames // 4)
        try:
            parts = [track_range(path, step, cfg, 0, n_frames, progress, handoff)]
        except BaseException:
            _drop_workers()  # a segment may still be running there
            raise
        for (a, b), future in zip(handoff.segments, handoff.futures):
            part = _result(future)
            if part is None:  # the worker died: this process tracks its segment
                part = track_range(path, step, cfg, a, b)
            parts.append(part)
            if progress is not None:
                progress(b - a)
        if any(f is None or (f.done() and f.exception() is not None) for f in ready + handoff.futures):
            _drop_workers()  # broken: the next video starts new ones
    tracks = parts[0][0]
    for part, _, _ in parts[1:]:
        tracks = stitch(tracks, part, cfg.track_iou)
    return tracks, sum(p[1] for p in parts), sum(p[2] for p in parts)


def _main_module_importable() -> bool:
    """Whether a spawned worker can import the caller's main module, which spawn does first: not
    when it was read from stdin (``python - < script``), whose worker would die with a traceback."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return path is None or os.path.exists(path)


_pool: tuple[int, int, ProcessPoolExecutor] | None = None  # workers, the pid that started them, the pool
_pool_lock = threading.Lock()


@contextlib.contextmanager
def _worker_pool(n: int):
    """The kept workers (:func:`_workers`), except in a multiprocessing child: it waits for its own
    children before Python's exit hooks would shut a kept pool down, so there a pool lasts one video."""
    if mp.parent_process() is None:
        yield _workers(n)
    else:
        with _new_pool(n) as pool:
            yield pool


def _new_pool(n: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(n, mp_context=mp.get_context("spawn"))


def _workers(n: int) -> ProcessPoolExecutor:
    """``n`` front-end worker processes, kept for the next video: a process that checks many
    videos (the Python API, a benchmark) starts them and pays their imports once. They exit
    with this process. A forked child starts its own: the parent's are not its children."""
    global _pool
    with _pool_lock:
        if _pool is not None and _pool[:2] != (n, os.getpid()):
            if _pool[1] == os.getpid():
                _pool[2].shutdown(wait=False, cancel_futures=True)
            _pool = None
        if _pool is None:
            _pool = (n, os.getpid(), _new_pool(n))
        return _pool[2]


def _drop_workers() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None and _pool[1] == os.getpid():
            _pool[2].shutdown(wait=False, cancel_futures=True)
        _pool = None


def warm_up() -> None:
    """Imports, MediaPipe's libraries and one BLAS thread, in a fresh worker, before it is given frames."""
    from avsync.frontend.mediapipe_solutions import face_detection, face_mesh
    from avsync.media import video  # noqa: F401
    from avsync.native_threads import one_blas_thread

    one_blas_thread()
    face_detection(), face_mesh()


class Handoff:
    """Asked by the calling process before each frame: once every worker has warmed up (or one
    failed to), the frames left are split over this process and the workers, and the workers are
    given theirs; this process then stops at the first split.

    A worker starts reading at the key frame before its first frame, so it is given that many
    fewer frames (weighted by ``decode_share``, the share of the calling process's time spent
    decoding) and does no more work than the others."""

    def __init__(self, pool, ready, args: tuple, n_frames: int, keys: np.ndarray, min_frames: int):
        self.pool, self.ready, self.args, self.n_frames, self.keys = pool, ready, args, n_frames, keys
        self.min_frames = max(min_frames, 1)  # no process is given fewer frames than this
        self.segments: list[tuple[int, int]] = []
        self.futures: list = []
        self.stop: int | None = None

    def __call__(self, frame: int, decode_share: float) -> int | None:
        if self.stop is None and all(f is None or f.done() for f in self.ready):
            workers = 0 if any(f is None or f.exception() is not None for f in self.ready) else len(self.ready)
            parts = max(1, min(workers + 1, (self.n_frames - frame) // self.min_frames))
            bounds = split_bounds(frame, self.n_frames, parts, self.keys, decode_share)
            self.segments = list(zip(bounds[1:-1], bounds[2:]))
            self.futures = [_submit(self.pool, track_range, *self.args, a, b) for a, b in self.segments]
            self.stop = bounds[1]
        return self.stop


def split_bounds(first: int, n_frames: int, parts: int, keys: np.ndarray, decode_share: float = 0.0) -> list[int]:
    """``[first, ..., n_frames]``: frames ``first:n_frames`` in ``parts`` segments of equal work,
    where a segment that does not start at a seek point in ``keys`` also decodes the frames back
    to the one before it, each costing ``decode_share`` of a tracked frame. Segments that would
    be empty are dropped."""
    keys = np.asarray(keys, np.int64)
    bounds = [first]
    for i in range(1, parts):
        b = first + (n_frames - first) * i / parts
        before = keys[keys <= b]
        lead_in = b - (before[-1] if len(before) else 0)
        b = int(round(b + decode_share * lead_in * (parts - i) / parts))
        if bounds[-1] < b < n_frames:
            bounds.append(b)
    return bounds + [n_frames]


def _submit(pool, fn, *args):
    try:
        return pool.submit(fn, *args)
    except BrokenProcessPool:
        return None


def _result(future):
    try:
        return None if future is None else future.result()
    except BrokenProcessPool:
        return None


def stitch(before: list[MouthTrack], after: list[MouthTrack], min_iou: float) -> list[MouthTrack]:
    """Join a track ending at a segment boundary to the one that starts there on the same face."""
    if not before or not after:
        return before + after
    boundary = min(t.frame_start for t in after)
    joined, used = [], set()
    for early in before:
        match = None
        if early.frame_end >= boundary - 2:
            candidates = [t for t in after if t.frame_start <= boundary + 2 and id(t) not in used]
            scored = [(iou(early.boxes[-1], t.boxes[0]), t) for t in candidates]
            scored = [s for s in scored if s[0] >= min_iou]
            if scored:
                match = max(scored, key=lambda s: s[0])[1]
        if match is None:
            joined.append(early)
            continue
        used.add(id(match))
        joined.append(_concat(early, match))
    next_id = max(t.track_id for t in before) + 1
    for late in after:
        if id(late) not in used:
            late.track_id = next_id
            next_id += 1
            joined.append(late)
    return sorted(joined, key=lambda t: (t.frame_start, t.track_id))


def _concat(a: MouthTrack, b: MouthTrack) -> MouthTrack:
    keep = b.frames > a.frame_end
    def cat(x, y):
        return None if x is None or y is None else np.concatenate([x, y[keep]])
    return MouthTrack(a.track_id, cat(a.frames, b.frames), cat(a.times_s, b.times_s), cat(a.boxes, b.boxes),
                      cat(a.lips, b.lips), cat(a.opening, b.opening), cat(a.crops, b.crops), cat(a.valid, b.valid),
                      cat(a.mouth_affine, b.mouth_affine), cat(a.face_crops, b.face_crops))
