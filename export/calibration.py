"""INT8 calibration data: real photos and the same photos degraded by ARNIQA's distortions.

A camera's worst frames are the ones a quality model exists for, so the
activation ranges are measured on both: each pristine photo is fed as is and
after `distortions_per_image` random distortions (type and level drawn from the
degradation model's registry, seeded), all through the runtime's preprocessing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from onnxruntime.quantization import CalibrationDataReader

from arniqa_edge.models.registry import ModelConfig
from training.degradation.images import to_bgr_uint8
from training.degradation.reference import apply_distortion
from training.degradation.registry import DISTORTIONS, NUM_LEVELS

from .images import model_inputs, read_frame


def degraded_frames(
    paths: list[Path], distortions_per_image: int, width: int, height: int, seed: int = 0
) -> Iterator[np.ndarray]:
    """BGR uint8 frames: each photo, then `distortions_per_image` distorted versions of it."""
    rng = np.random.default_rng(seed)
    eligible = [spec for spec in DISTORTIONS.values() if spec.min_size <= min(width, height)]
    for path in paths:
        frame = read_frame(path, width, height)
        yield frame
        rgb = torch.from_numpy(frame[..., ::-1].copy()).permute(2, 0, 1).float().div(255.0)
        for _ in range(distortions_per_image):
            spec = eligible[rng.integers(len(eligible))]
            level = int(rng.integers(1, NUM_LEVELS + 1))
            yield to_bgr_uint8(apply_distortion(rgb, spec.name, level, rng))


class CalibrationReader(CalibrationDataReader):
    """Feeds onnxruntime's calibrator one (full, half) pair per frame."""

    def __init__(self, frames: Iterator[np.ndarray], config: ModelConfig, image_size: int | None = None):
        self.count = 0
        self._samples = (dict(zip(("full", "half"), model_inputs([frame], config, image_size))) for frame in frames)

    def get_next(self) -> dict[str, np.ndarray] | None:
        sample = next(self._samples, None)
        self.count += sample is not None
        return sample
