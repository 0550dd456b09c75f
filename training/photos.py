"""Reading pristine photos for the training tools: decode, and bound the short side.

torch-free, so light tools (training.pretraining.carry) use it as well as the dataset builders.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def read_bgr(path: str | Path) -> np.ndarray:
    """Decode an image file into uint8 (H, W, 3) BGR; ValueError when it cannot be read."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: cannot read image")
    return image


def shrink_short_side(image: np.ndarray, size: int) -> np.ndarray:
    """Area-downscale so the short side is at most `size`; smaller images are returned as they are."""
    height, width = image.shape[:2]
    scale = size / min(height, width)
    if scale >= 1:
        return image
    return cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
