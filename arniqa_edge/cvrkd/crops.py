"""Deterministic crop layout of an image for CVRKD inference, and crop normalisation.

Training draws crops at random; inference takes `count` crops on a regular grid,
so a score is reproducible and covers the whole frame. The grid has as many
columns per row as the image's aspect ratio suggests (a 16:9 frame of 10 crops:
2 rows of 5), and its crops are spread evenly from edge to edge.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..preprocess.spec import IMAGENET_MEAN, IMAGENET_STD


def grid_shape(height: int, width: int, count: int) -> tuple[int, int]:
    """(rows, cols) with rows * cols == count whose cols / rows is closest to width / height."""
    pairs = [(rows, count // rows) for rows in range(1, count + 1) if count % rows == 0]
    aspect = math.log(width / height)
    return min(pairs, key=lambda rc: abs(math.log(rc[1] / rc[0]) - aspect))


def grid_origins(height: int, width: int, size: int, count: int) -> list[tuple[int, int]]:
    """(top, left) of `count` size x size crops spread evenly over a height x width image, row by row."""
    if size > height or size > width:
        raise ValueError(f"a {size} px crop does not fit a {width}x{height} image")
    rows, cols = grid_shape(height, width, count)
    tops = np.linspace(0, height - size, rows).round().astype(int)
    lefts = np.linspace(0, width - size, cols).round().astype(int)
    return [(int(top), int(left)) for top in tops for left in lefts]


def fit_short_side(image: np.ndarray, size: int) -> np.ndarray:
    """Upscale an image whose short side is below `size` so that a crop fits; larger images are kept."""
    height, width = image.shape[:2]
    if min(height, width) >= size:
        return image
    scale = size / min(height, width)
    shape = (max(size, round(width * scale)), max(size, round(height * scale)))
    return cv2.resize(image, shape, interpolation=cv2.INTER_CUBIC)


def normalize_crops(crops: np.ndarray) -> np.ndarray:
    """uint8 (P, S, S, 3) RGB crops -> float32 (P, 3, S, S), ImageNet-normalised."""
    mean = np.asarray(IMAGENET_MEAN, dtype=np.float32)
    std = np.asarray(IMAGENET_STD, dtype=np.float32)
    normalized = (crops.astype(np.float32) / 255.0 - mean) / std
    return np.ascontiguousarray(normalized.transpose(0, 3, 1, 2))


def grid_crops(rgb: np.ndarray, size: int, count: int) -> np.ndarray:
    """A uint8 (H, W, 3) RGB image -> its `count` grid crops, normalised: float32 (count, 3, size, size)."""
    rgb = fit_short_side(rgb, size)
    origins = grid_origins(rgb.shape[0], rgb.shape[1], size, count)
    return normalize_crops(np.stack([rgb[top : top + size, left : left + size] for top, left in origins]))
