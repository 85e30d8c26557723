"""Small synthetic audio-video fixtures, shipped so that users' own tests can use them too."""
from avsync.testing.synthetic import make_talking_clip, speech_envelope

__all__ = ["make_talking_clip", "speech_envelope"]
