"""Face and mouth front-end: tracks faces and yields per-frame lips, opening and mouth crops."""
from avsync.frontend.segments import track_video
from avsync.frontend.track import MouthTrack

__all__ = ["MouthTrack", "track_video"]
