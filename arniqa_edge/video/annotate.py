"""Drawing a frame's score onto it: a caption (with the reference score when there is one) and a bar of
the no-reference score coloured from red (0) to green (1)."""

from __future__ import annotations

import cv2
import numpy as np


def score_colour(score: float) -> tuple[int, int, int]:
    """BGR colour of a score: red at 0, yellow at 0.5, green at 1."""
    score = float(np.clip(score, 0.0, 1.0))
    return 0, int(round(255 * min(1.0, 2 * score))), int(round(255 * min(1.0, 2 * (1 - score))))


def draw_score(
    image: np.ndarray, score: float, timestamp: float | None = None, reference_score: float | None = None
) -> np.ndarray:
    """A copy of `image` with a caption band on top: score, reference score if any, time, and a bar as long
    as the score."""
    out = image.copy()
    height, width = out.shape[:2]
    scale = max(0.45, height / 720)
    thickness = max(1, int(round(2 * scale)))
    band = int(34 * scale) + 6
    # Darken the band rather than paint it, so the picture stays visible under the caption.
    out[:band] = (out[:band] * 0.35).astype(np.uint8)
    caption = f"quality {score:.3f}"
    if reference_score is not None:
        caption += f"   vs ref {reference_score:.3f}"
    if timestamp is not None:
        caption += f"   t={timestamp:.2f}s"
    cv2.putText(
        out,
        caption,
        (6, band - int(12 * scale) - 3),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.8 * scale,
        (255, 255, 255),
        thickness,
        cv2.LINE_AA,
    )
    bar = max(3, int(6 * scale))
    cv2.rectangle(
        out, (0, band - bar), (int(round(width * np.clip(score, 0, 1))), band - 1), score_colour(score), cv2.FILLED
    )
    return out
