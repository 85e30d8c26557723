"""Offset search (SyncNet protocol) over a pluggable scorer."""
from avsync.scoring.base import SCORERS, EmbeddingScorer, Scorer, register_scorer
from avsync.scoring.protocol import OffsetCurve, search_offset

__all__ = ["SCORERS", "EmbeddingScorer", "Scorer", "register_scorer", "OffsetCurve", "search_offset"]
