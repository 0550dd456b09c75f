"""Smoothing a camera's frame scores so that one odd frame neither raises nor clears an alert."""

from __future__ import annotations

import statistics
from collections import deque


class Ema:
    """Exponential moving average: s = alpha * x + (1 - alpha) * s; starts at the first value."""

    def __init__(self, alpha: float = 0.3):
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        self.alpha = alpha
        self.value: float | None = None

    def update(self, score: float) -> float:
        self.value = score if self.value is None else self.alpha * score + (1 - self.alpha) * self.value
        return self.value


class WindowMedian:
    """Median of the last `window` scores: ignores short bursts outright."""

    def __init__(self, window: int = 5):
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self._scores: deque[float] = deque(maxlen=window)

    def update(self, score: float) -> float:
        self._scores.append(score)
        return statistics.median(self._scores)


def make_smoother(kind: str, alpha: float = 0.3, window: int = 5):
    if kind == "ema":
        return Ema(alpha)
    if kind == "median":
        return WindowMedian(window)
    if kind == "none":
        return WindowMedian(1)
    raise ValueError(f"unknown smoothing {kind!r}; choose ema, median or none")
