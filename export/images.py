"""Real images as model inputs, for export checks, calibration and accuracy reports."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from arniqa_edge.models.registry import ModelConfig
from arniqa_edge.preprocess import PreprocessSpec, preprocess
from training import data_root


def list_images(source: str | Path, count: int | None = None) -> list[Path]:
    """Image files in a folder (sorted), or the one file given; the first `count` of them."""
    source = Path(source)
    files = [source] if source.is_file() else data_root.list_images(source)
    if not files:
        raise FileNotFoundError(f"no images in {source}")
    return files[:count]


def default_images(split: str = "val", count: int = 2) -> list[Path]:
    """Pristine photos of the project's shared data (training.data_root: beside the checkout)."""
    return list_images(data_root.pristine_dir(split), count)


def read_frame(path: Path, width: int, height: int) -> np.ndarray:
    """BGR uint8 frame scaled to cover width x height and center-cropped to it."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: cannot read image")
    scale = max(width / image.shape[1], height / image.shape[0])
    size = (max(width, round(image.shape[1] * scale)), max(height, round(image.shape[0] * scale)))
    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
    return np.ascontiguousarray(image[top : top + height, left : left + width])


def preprocess_spec(config: ModelConfig, image_size: int | None) -> PreprocessSpec:
    """Whole frame for a dynamic-size graph; one center crop of image_size for a fixed-size one."""
    crop = "whole" if image_size is None else "center"
    return PreprocessSpec(crop=crop, crop_size=image_size or config.crop_size, mean=config.mean, std=config.std)


def model_inputs(
    frames: Iterable[np.ndarray], config: ModelConfig, image_size: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Same-sized BGR frames -> one batch of (full, half) inputs, through the runtime's preprocessing."""
    spec = preprocess_spec(config, image_size)
    pairs = [preprocess(frame, spec) for frame in frames]
    return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])
