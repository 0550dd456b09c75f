"""`ScoreScale`: the label range of a quality model and the map of its raw output to [0, 1].

Both scorers use it: the no-reference regressor (its `scale` metadata) and the
CVRKD network (`CVRKDConfig.scale`). Raw outputs are in the units of the
training labels (KADID MOS 1..5, LIVE DMOS, ...); [0, 1] is higher-is-better.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScoreScale:
    """Label range of a dataset and whether higher labels mean better quality."""

    low: float
    high: float
    higher_is_better: bool = True

    def __post_init__(self):
        if not self.high > self.low:
            raise ValueError(f"score range must have high > low, got ({self.low}, {self.high})")

    def to_unit(self, raw: np.ndarray) -> np.ndarray:
        """Map raw labels to [0, 1], higher is better (clipped: a regressor can overshoot)."""
        unit = (np.asarray(raw, dtype=np.float64) - self.low) / (self.high - self.low)
        if not self.higher_is_better:
            unit = 1.0 - unit
        return np.clip(unit, 0.0, 1.0)
