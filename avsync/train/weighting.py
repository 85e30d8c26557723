"""How many training windows each source gets per epoch, so that no one source dominates.

A source is the repository a clip came from (the manifest's ``repo``). The 2,105 LRC-AR word
clips and GRID's one speaker hold two thirds of the train windows; in proportion to their size
they would set what the model learns. A source's weight is its window count to the power
``power`` (1: in proportion, 0: every source alike), times an optional per-source factor; its
quota is its share of the epoch, capped at ``max_share`` of the epoch and at ``max_repeat`` times
the windows it has, with what the caps free handed to the other sources.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from avsync.config import YamlConfig


@dataclass
class SourceWeighting(YamlConfig):
    power: float = 1.0  # weight = windows ** power: 1 in proportion, 0.5 square root, 0 equal
    max_share: float = 1.0  # of an epoch's windows, for any one source
    max_repeat: float = 1.0  # a source's quota is at most this many times its windows
    weights: dict[str, float] = field(default_factory=dict)  # per-source factor; 0 leaves a source out

    def __post_init__(self) -> None:
        if self.power < 0 or not 0 < self.max_share <= 1 or self.max_repeat <= 0:
            raise ValueError(f"sources: need power >= 0, 0 < max_share <= 1 and max_repeat > 0, got power "
                             f"{self.power}, max_share {self.max_share}, max_repeat {self.max_repeat}")
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("sources.weights: factors must be >= 0")

    @property
    def active(self) -> bool:
        """False when every source is drawn in proportion to its windows (no quotas needed)."""
        return self.power != 1.0 or self.max_share < 1.0 or any(w != 1.0 for w in self.weights.values())


def source_quotas(sizes: dict[str, int], total: int, cfg: SourceWeighting) -> dict[str, int]:
    """Windows per source for an epoch of ``total`` windows; ``sizes`` is each source's window count.

    Water-filling: every source gets the same multiple of its weight, except those that hit a
    cap, which get the cap. When every source is capped the epoch is shorter than ``total``.
    """
    weight = {s: cfg.weights.get(s, 1.0) * float(n) ** cfg.power for s, n in sizes.items() if n > 0}
    cap = {s: min(cfg.max_share * total, cfg.max_repeat * sizes[s]) for s in weight}
    quota = {s: 0.0 for s in sizes}
    free = {s for s, w in weight.items() if w > 0}
    budget = float(total)
    while free and budget > 0:
        scale = budget / sum(weight[s] for s in free)
        capped = {s for s in free if weight[s] * scale >= cap[s]}
        if not capped:
            for s in free:
                quota[s] = weight[s] * scale
            break
        for s in capped:
            quota[s] = cap[s]
            budget -= cap[s]
        free -= capped
    return {s: int(round(q)) for s, q in quota.items()}


def shares_table(sizes: dict[str, int], quotas: dict[str, int]) -> str:
    """One line per source, largest first: windows, natural share, share of the epoch."""
    total_n, total_q = max(sum(sizes.values()), 1), max(sum(quotas.values()), 1)
    lines = []
    for s in sorted(sizes, key=lambda k: (-quotas.get(k, 0), k)):
        lines.append(f"  {s or '(no source)'}: {sizes[s]} windows, {100 * sizes[s] / total_n:.1f}% -> "
                     f"{quotas.get(s, 0)} per epoch ({100 * quotas.get(s, 0) / total_q:.1f}%)")
    return "\n".join(lines)
