"""`FeatureExtractor`: images -> ARNIQA features (full and half scale, concatenated).

The frozen-encoder half of a `Scorer`; regressor fitting uses it alone.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from .backends import create_backend
from .errors import InputImageError
from .imageio import MAX_PIXELS, ImageLike, describe, load_image
from .models.registry import ModelConfig
from .preprocess import PreprocessSpec, output_shapes, preprocess

#: Inference protocols: "whole" = full image + half scale (the default, any size);
#: "five_crop" = the paper's center + 4 corner crops per scale, scores averaged.
PROTOCOLS = {"whole": "whole", "five_crop": "five"}


class FeatureExtractor:
    def __init__(self, config: ModelConfig, weights, backend: str = "auto", device: str = "auto",
                 protocol: str = "whole", batch_size: int = 8, num_threads: int = 0,
                 max_pixels: int = MAX_PIXELS):
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.config = config
        self.protocol = protocol
        self.batch_size = batch_size
        self.num_threads = num_threads
        self.max_pixels = max_pixels
        self.backend = create_backend(backend, config, weights, device=device, num_threads=num_threads)

    @property
    def views_per_image(self) -> int:
        return 5 if self.protocol == "five_crop" else 1

    @property
    def dim(self) -> int:
        return self.config.regressor_input_dim

    def spec(self, channels: str = "bgr") -> PreprocessSpec:
        return PreprocessSpec(crop=PROTOCOLS[self.protocol], crop_size=self.config.crop_size,
                              mean=self.config.mean, std=self.config.std, channels=channels)

    def input_shapes(self, height: int, width: int):
        """Backend input shapes (full, half) for a frame of this size."""
        return output_shapes(height, width, self.spec())

    def prepare(self, image: ImageLike, channels: str = "bgr") -> tuple[np.ndarray, np.ndarray]:
        """Load/convert one image and preprocess it into the (full, half) backend inputs."""
        frame, order = load_image(image, channels=channels, max_pixels=self.max_pixels)
        spec = self.spec(order)
        if self.protocol == "five_crop":
            height, width = frame.shape[:2]
            if min(height, width) // 2 < spec.crop_size:
                raise InputImageError(
                    f"{describe(image)}: {width}x{height} is too small for five_crop at {spec.crop_size} px "
                    f"(the half scale must be >= {spec.crop_size} px on each side); use protocol 'whole'")
        return preprocess(frame, spec, num_threads=self.num_threads)

    def encode(self, full: np.ndarray, half: np.ndarray) -> np.ndarray:
        """Backend inputs of N views -> (N, 2F) features."""
        return self.backend.encode_pair(full, half)

    def embed_batch(self, images: Iterable[ImageLike], channels: str = "bgr") -> list[np.ndarray]:
        """Per image a (views, 2F) array; consecutive images of equal input shape share backend calls."""
        out: list[np.ndarray] = []
        pending: list[tuple[np.ndarray, np.ndarray]] = []

        def flush():
            if pending:
                feats = self.encode(np.concatenate([p[0] for p in pending]),
                                    np.concatenate([p[1] for p in pending]))
                out.extend(np.split(feats, len(pending)))
                pending.clear()

        for image in images:
            full, half = self.prepare(image, channels)
            if pending and (pending[0][0].shape != full.shape or len(pending) >= self.batch_size):
                flush()
            pending.append((full, half))
        flush()
        return out
