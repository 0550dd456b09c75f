"""A fast stand-in model for the image CLI tests: no weights to train, scores that follow the image.

`ContentBackend` returns, for every image, features equal to the mean of its
preprocessed pixels; with `content_regressor` the score grows with the image's
brightness, so flat grey images of different levels get different, known-order
scores (darker = lower).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from arniqa_edge.backends import Backend
from arniqa_edge.regressor import LinearRegressor, ScoreScale


class ContentBackend(Backend):
    """A CPU backend whose features are each image's mean preprocessed pixel, repeated."""

    name = "onnxruntime"
    device = "cpu"
    feature_dim = 1280

    def _run(self, full, half):
        means = full.reshape(full.shape[0], -1).mean(axis=1, keepdims=True)
        return np.repeat(means, 2 * self.feature_dim, axis=1).astype(np.float32)

    def describe(self):
        return "content backend (tests)"


def use_content_backend(monkeypatch) -> None:
    monkeypatch.setattr("arniqa_edge.features.create_backend", lambda *args, **kwargs: ContentBackend())


def content_regressor(path: Path) -> Path:
    """raw = 0.0005 * 2560 * mean + 3 on a 0..6 scale: grey levels 40..220 score well inside (0, 1)."""
    LinearRegressor(np.full(2560, 0.0005), 3.0, ScoreScale(0, 6), {"model": "arniqa-lite0"}).save(path)
    return path


def grey_image(path: Path, level: int, size: tuple[int, int] = (64, 96)) -> str:
    cv2.imwrite(str(path), np.full((*size, 3), level, np.uint8))
    return str(path)
