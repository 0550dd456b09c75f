"""`FeatureExtractor`: images -> ARNIQA features (full and half scale, concatenated).

The frozen-encoder half of a `Scorer`; regressor fitting uses it alone. Per image:
`load` (decode/convert, checks), then the backend `prepare`s it into the next rows
of a batch of its own inputs (the C++ op into host buffers on a CPU, the CUDA op
into device tensors on a GPU) and `run`s the batch. Images share backend calls as
`memory.BatchPolicy` allows (by count, pixels and a memory budget); one whose call
alone would exceed the budget is refused before it is preprocessed, and an
allocation that fails becomes an `InsufficientMemoryError`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .backends import create_backend
from .backends.inputs import InputBatch
from .errors import InputImageError, NonFiniteOutputError, WeightsError
from .imageio import MAX_PIXELS, ImageLike, describe, load_image
from .memory import DEFAULT_MEMORY_BUDGET, BatchPolicy, allocation_failures_as
from .models.registry import ModelConfig
from .preprocess import PreprocessSpec, output_shapes

#: Inference protocols: "whole" = full image + half scale (the default, any size);
#: "five_crop" = the paper's center + 4 corner crops per scale, scores averaged.
PROTOCOLS = {"whole": "whole", "five_crop": "five"}


class FeatureExtractor:
    """Images -> (views, 2 * feature_dim) features.

    batch_size, max_batch_pixels, memory_budget: what one backend call may take
        (`memory.BatchPolicy`; max_batch_pixels None = automatic, memory_budget in bytes).
    """

    def __init__(
        self,
        config: ModelConfig,
        weights,
        backend: str = "auto",
        device: str = "auto",
        protocol: str = "whole",
        batch_size: int = 8,
        num_threads: int = 0,
        max_pixels: int = MAX_PIXELS,
        max_batch_pixels: int | None = None,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
    ):
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
        self.policy = BatchPolicy(batch_size, max_batch_pixels, memory_budget)
        self.config = config
        self.protocol = protocol
        self.num_threads = num_threads
        self.max_pixels = max_pixels
        self.weights = weights
        self.backend = create_backend(backend, config, weights, device=device, num_threads=num_threads)

    @property
    def batch_size(self) -> int:
        return self.policy.batch_size

    @property
    def views_per_image(self) -> int:
        return 5 if self.protocol == "five_crop" else 1

    @property
    def dim(self) -> int:
        return self.config.regressor_input_dim

    def spec(self, channels: str = "bgr") -> PreprocessSpec:
        return PreprocessSpec(
            crop=PROTOCOLS[self.protocol],
            crop_size=self.config.crop_size,
            mean=self.config.mean,
            std=self.config.std,
            channels=channels,
        )

    def input_shapes(self, height: int, width: int):
        """Backend input shapes (full, half) for a frame of this size."""
        return output_shapes(height, width, self.spec())

    def images_per_call(self, full_shape, half_shape) -> int:
        """How many images with these backend inputs (full, half NCHW shapes) share one backend call."""
        full_pixels = full_shape[0] * full_shape[2] * full_shape[3]
        input_pixels = full_pixels + half_shape[0] * half_shape[2] * half_shape[3]
        return self.policy.images_per_call(full_pixels, input_pixels, self.backend.name, self.backend.device)

    def load(
        self, image: ImageLike, channels: str = "bgr", name: str | None = None
    ) -> tuple[np.ndarray, PreprocessSpec]:
        """Load/convert one image and check that it can be scored; (uint8 frame, its preprocessing).

        name: what messages call the image (default: its path, or a description of the array).
        """
        name = name or describe(image)
        frame, order = load_image(image, channels=channels, max_pixels=self.max_pixels)
        spec = self.spec(order)
        height, width = frame.shape[:2]
        if self.protocol == "five_crop" and min(height, width) // 2 < spec.crop_size:
            raise InputImageError(
                f"{name}: {width}x{height} is too small for five_crop at {spec.crop_size} px "
                f"(the half scale must be >= {spec.crop_size} px on each side); use protocol 'whole'"
            )
        full_shape, half_shape = output_shapes(height, width, spec)
        input_pixels = full_shape[0] * full_shape[2] * full_shape[3] + half_shape[0] * half_shape[2] * half_shape[3]
        self.policy.check_fits(name, width, height, input_pixels, self.backend.name, self.backend.device)
        return frame, spec

    def new_batch(self, frame: np.ndarray, spec: PreprocessSpec, limit: int | None = None) -> InputBatch:
        """An empty backend batch for frames of this one's size: `limit` frames (default: `images_per_call`)."""
        shapes = output_shapes(frame.shape[0], frame.shape[1], spec)
        return self.backend.new_batch(limit or self.images_per_call(*shapes), *shapes)

    def prepare(self, frame: np.ndarray, spec: PreprocessSpec, batch: InputBatch, name: str = "the image") -> None:
        """Preprocess a loaded frame into the next rows of `batch`, where the backend reads it."""
        with allocation_failures_as("preprocessing it", name):
            self.backend.prepare(frame, spec, batch)

    def prepare_image(self, image: ImageLike, channels: str = "bgr", name: str | None = None) -> InputBatch:
        """`load` one image and `prepare` it into a batch of its own."""
        frame, spec = self.load(image, channels, name)
        batch = self.new_batch(frame, spec, limit=1)
        self.prepare(frame, spec, batch, name or describe(image))
        return batch

    def run(self, batch: InputBatch) -> np.ndarray:
        """The features of a batch's frames, (frames * views, 2F); non-finite features are refused."""
        count = batch.count * batch.views
        _, _, height, width = batch.frame_shapes[0]
        with allocation_failures_as(f"running the encoder on {count} input(s) of {width}x{height}"):
            features = self.backend.run(batch)
        if features.shape != (count, self.dim):
            raise WeightsError(
                f"the encoder {self.weights} gave features of shape {features.shape} for {count} "
                f"input(s); {self.config.name} gives ({count}, {self.dim}): is it another model's?"
            )
        check_finite_features(features, self.weights)
        return features

    def run_split(self, batch: InputBatch) -> list[np.ndarray]:
        """`run`, split per frame: a (views, 2F) array each."""
        frames = batch.count  # read before the batch goes back to the backend
        return np.split(self.run(batch), frames)

    def embed_batch(
        self, images: Iterable[ImageLike], channels: str = "bgr", names: Iterable[str] | None = None
    ) -> list[np.ndarray]:
        """Per image a (views, 2F) array; consecutive images of equal input shape share backend calls.

        names: what messages call each image (default: its path, or a description of the array).
        """
        out: list[np.ndarray] = []
        names = iter(names) if names is not None else None
        batch: InputBatch | None = None

        def flush() -> None:
            nonlocal batch
            full, batch = batch, None  # the backend takes it back, whether it runs or fails
            out.extend(self.run_split(full))

        try:
            for image in images:
                name = (next(names, None) if names is not None else None) or describe(image)
                frame, spec = self.load(image, channels, name)
                if batch is not None and batch.frame_shapes != output_shapes(*frame.shape[:2], spec):
                    flush()
                if batch is None:
                    batch = self.new_batch(frame, spec)
                self.prepare(frame, spec, batch, name)
                if batch.is_full:
                    flush()
            if batch is not None:
                flush()
        finally:
            if batch is not None:  # an image failed: its batch never runs
                self.backend.discard(batch)
        return out


def check_finite_features(features: np.ndarray, weights) -> None:
    """Refuse NaN or infinite features: a score made from them would be NaN, or a meaningless number."""
    finite = np.isfinite(features).all(axis=tuple(range(1, features.ndim)))
    if not finite.all():
        which = "for this input" if finite.size == 1 else f"for {int((~finite).sum())} of {finite.size} inputs"
        raise NonFiniteOutputError(
            f"the encoder {weights} gave NaN or infinite features {which}: its weights hold non-finite values, "
            "or the input overflowed its precision (an fp16 export?); no score is made from them"
        )
