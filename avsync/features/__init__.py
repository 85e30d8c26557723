"""Audio features aligned to video time: MFCC, log energy and speech activity."""
from avsync.features.audio import AudioFeatures, extract_audio_features

__all__ = ["AudioFeatures", "extract_audio_features"]
