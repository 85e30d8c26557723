"""avsync: does the speech belong to the visible mouth, and by how much are audio and video offset?"""
from avsync.version import __version__


def check(path, audio=None, **options):
    """Check one video. Returns a :class:`avsync.report.SyncReport`; see ``avsync.pipeline.check``."""
    from avsync.pipeline import check as _check

    return _check(path, audio=audio, **options)


__all__ = ["check", "__version__"]
