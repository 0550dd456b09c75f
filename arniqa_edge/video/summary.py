"""Pooling per-frame scores into one summary, and finding the worst stretches of a video."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

PERCENTILES = (1, 5, 10, 25, 50, 75, 95)


def pooled_summary(scores: Sequence[float]) -> dict[str, float | int]:
    """Mean, harmonic mean, min, max, std and percentiles of the frame scores.

    The harmonic mean is pooled as VMAF pools it, 1 / mean(1 / (s + 1)) - 1: it
    leans towards the worst frames and stays defined when a score is 0.
    """
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        return {"frames": 0}
    summary: dict[str, float | int] = {
        "frames": int(values.size),
        "mean": float(values.mean()),
        "harmonic_mean": float(1.0 / np.mean(1.0 / (values + 1.0)) - 1.0),
        "min": float(values.min()),
        "max": float(values.max()),
        "std": float(values.std()),
    }
    for q, value in zip(PERCENTILES, np.percentile(values, PERCENTILES)):
        summary[f"p{q}"] = float(value)
    return summary


@dataclass(frozen=True)
class Segment:
    start_frame: int
    end_frame: int       #: inclusive
    start_time: float
    end_time: float      #: timestamp of the last frame in the segment
    mean_score: float

    def to_dict(self) -> dict:
        return asdict(self)


def worst_segments(indices: Sequence[int], timestamps: Sequence[float], scores: Sequence[float], window: int,
                   count: int = 3) -> list[Segment]:
    """The `count` non-overlapping runs of `window` consecutive scored frames with the lowest mean score,
    worst first."""
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0 or count < 1:
        return []
    window = max(1, min(window, values.size))
    sums = np.convolve(values, np.ones(window), mode="valid")
    means = sums / window
    taken = np.zeros(values.size, dtype=bool)
    segments = []
    for start in np.argsort(means, kind="stable"):
        if taken[start:start + window].any():
            continue
        taken[start:start + window] = True
        end = start + window - 1
        segments.append(Segment(int(indices[start]), int(indices[end]), float(timestamps[start]),
                                float(timestamps[end]), float(means[start])))
        if len(segments) == count:
            break
    return segments
