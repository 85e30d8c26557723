"""A scorer's calibration, stored beside its weights and keyed by their digest.

The block lives under ``"calibration"`` in the weights' sidecar JSON (``NAME.json`` beside
``NAME.safetensors``; ``weights/baseline.json`` for the training-free scorer). It holds what
``avsync calibrate`` measured for exactly those weights: ``min_confidence``, the ``p_sync``
logistic map, the offset bias and the offset error that widens the interval. A block whose
``weights_sha256`` is not the digest of the weights in hand is ignored, so a retrained
checkpoint never inherits another model's numbers: it reports ``"calibrated": false``.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BLOCK = "calibration"


@dataclass
class Calibration:
    weights_sha256: str
    min_confidence: float = 0.0
    p_sync: dict[str, float] | None = None  # {"slope", "ambiguity_slope", "intercept"} in raw units
    offset_bias_ms: float = 0.0  # median offset of genuine clips: subtracted from every reading
    offset_error_ms: float = 0.0  # the model's own offset error, added in quadrature to the clip's interval
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "Calibration":
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in names})


def read_calibration(path: str | Path | None, digest: str) -> Calibration | None:
    """The calibration in ``path``'s sidecar block when it was fitted on weights with ``digest``;
    None when there is no file, no block, an unreadable block or another digest."""
    if path is None or not Path(path).is_file():
        return None
    try:
        block = json.loads(Path(path).read_text()).get(BLOCK)
        if not isinstance(block, dict) or block.get("weights_sha256") != digest:
            return None
        return Calibration.from_dict(block)
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def write_calibration(path: str | Path, calibration: Calibration) -> Path:
    """Set the sidecar's calibration block, keeping every other key; the file is replaced atomically."""
    path = Path(path)
    meta = json.loads(path.read_text()) if path.is_file() else {}
    meta[BLOCK] = calibration.to_dict()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path
