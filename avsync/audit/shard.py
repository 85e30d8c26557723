"""``--shard I/N``: deterministic, disjoint parts of one input list, for Slurm arrays or indexed Jobs."""
from __future__ import annotations

import hashlib

from avsync.sources import Clip


def shard(items: list[Clip], index: int, count: int) -> list[Clip]:
    """Items of shard ``index`` of ``count`` (0-based), by a stable hash of each id.

    The id, not the resume key, decides the shard: a file that changes between runs stays in
    its shard, and no machine has to hash file contents it will not check.
    """
    return [it for it in items if shard_of(it.id, count) == index]


def shard_of(id_: str, count: int) -> int:
    digest = hashlib.sha256(id_.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def parse_shard(text: str) -> tuple[int, int]:
    try:
        left, right = text.split("/")
        index, count = int(left), int(right)
    except ValueError:
        raise ValueError(f"--shard wants I/N with 0 <= I < N, e.g. 0/4; got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"--shard wants I/N with 0 <= I < N, e.g. 0/4; got {text!r}")
    return index, count
