"""Audit settings, read from ``configs/audit.yaml``."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from avsync.config import YamlConfig, config_file


@dataclass
class AuditConfig(YamlConfig):
    time_limit_s: float = 600.0
    memory_limit_mb: float = 0.0
    fail_on: list[str] = field(default_factory=lambda: ["out_of_sync", "mismatch", "error"])

    @classmethod
    def load(cls, config_dir: str | Path | None = None) -> "AuditConfig":
        return cls.from_yaml(config_file("audit.yaml", config_dir))
