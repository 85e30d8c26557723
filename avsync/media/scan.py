"""Interlaced video: whether a frame's two fields were taken at different moments, and which first.

A woven frame of 50i holds a field from its timestamp and one from 20 ms later, so the mouth it
shows lies between the two: a quarter frame after the timestamp, which reads as audio that much
late. The stream's flag alone cannot say so: film carried as interlaced fields (PsF) is flagged
interlaced and has both fields from one moment. FFmpeg's ``idet`` filter looks at the pictures.
"""
from __future__ import annotations

from collections import Counter

from avsync.media.probe import main_video_stream

WINDOW_FRAMES = 50  # consecutive frames per look: idet's multi-frame counts settle within them
# A broadcast master opens with bars, a slate and black, all still: idet calls them progressive.
# So a long video is looked at in three places inside it.
WINDOWS_AT = (0.25, 0.5, 0.75)
PROGRESSIVE_FLAGS = (1, "progressive")  # FFmpeg's AV_FIELD_PROGRESSIVE, an int or a name by PyAV version
ORDERS = ("tff", "bff", "progressive")


def field_order(path: str) -> str | None:
    """``"tff"`` or ``"bff"`` where the frames show two fields from different moments (idet's counts
    over a few windows of frames), else None: progressive, or undecided (still pictures).
    Streams flagged progressive are not decoded for it."""
    import av

    counts: Counter = Counter()
    try:
        with av.open(str(path)) as container:
            stream = main_video_stream(container.streams.video)
            if stream is None or stream.codec_context.field_order in PROGRESSIVE_FLAGS:
                return None
            stream.thread_type = "AUTO"
            for start, frames in _windows(stream):
                if start is not None:
                    container.seek(start, stream=stream, backward=True)
                counts += _idet_counts(container, stream, frames)
    except Exception:  # a file that does not decode fails where it is tracked, with its own message
        return None
    order = max(ORDERS, key=lambda k: counts[k])
    return None if order == "progressive" or counts[order] == 0 else order


def _windows(stream) -> list[tuple[int | None, int]]:
    """(where, in the stream's time base, how many frames) to look at: one look from the start
    (None), as long as all the windows together, for a video too short or of unknown length."""
    together = [(None, WINDOW_FRAMES * len(WINDOWS_AT))]
    if stream.duration is None:
        return together
    frames = float(stream.duration * stream.time_base) * float(stream.average_rate or stream.guessed_rate or 25)
    if frames < 4 * WINDOW_FRAMES * len(WINDOWS_AT):
        return together
    first = stream.start_time or 0
    return [(int(first + at * stream.duration), WINDOW_FRAMES) for at in WINDOWS_AT]


def _idet_counts(container, stream, frames: int) -> Counter:
    """idet's multi-frame counts over the next ``frames`` frames, a new filter for each window."""
    import av

    graph = av.filter.Graph()
    source, idet, sink = graph.add_buffer(template=stream), graph.add("idet"), graph.add("buffersink")
    source.link_to(idet)
    idet.link_to(sink)
    graph.configure()
    last = None
    for n, frame in enumerate(container.decode(stream)):
        if n == frames:
            break
        graph.push(frame)
        while True:
            try:
                last = graph.pull()
            except (av.BlockingIOError, av.EOFError):
                break
    if last is None:
        return Counter()
    return Counter({k: float(last.metadata.get(f"lavfi.idet.multiple.{k}", 0)) for k in ORDERS})


def field_delay_s(order: str | None, fps: float) -> float:
    """How long after its timestamp a frame's picture lies: a quarter frame when its two fields
    were taken half a frame apart, else 0."""
    return 0.25 / fps if order and fps > 0 else 0.0
