"""Evaluation settings, read from ``configs/evaluation.yaml`` (see that file for the meaning)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from avsync import config as _config
from avsync.config import config_file


@dataclass
class EvalConfig(_config.YamlConfig):
    threshold: float = 0.5
    confidence_threshold: float | None = None
    bootstrap: int = 1000
    confidence_level: float = 0.95
    seed: int = 0
    iou_thresholds: list[float] = field(default_factory=lambda: [0.5, 0.75])

    @classmethod
    def load(cls, config_dir: str | Path | None = None) -> "EvalConfig":
        return cls.from_yaml(config_file("evaluation.yaml", config_dir))
