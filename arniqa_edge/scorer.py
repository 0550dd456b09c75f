"""`Scorer`: image in, quality score in [0, 1] out (higher is better).

One frame's path, stage by stage:
  load/convert (imageio) -> backend.prepare (the backend's own input path: the
  C++ op into host buffers on a CPU, upload + CUDA op into device tensors on a
  GPU; full + half scale, normalised NCHW, into rows of a batch) -> backend.run
  (features of both scales, concatenated; FeatureExtractor) -> regressor ->
  ScoreScale to [0, 1].

Non-finite features or scores are never returned: `predict_features`, which
every tool goes through (the image CLI, the video pipeline, the camera), raises a
`NonFiniteOutputError` that names the weights instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import NonFiniteOutputError, WeightsError
from .features import PROTOCOLS, FeatureExtractor, check_finite_features
from .imageio import MAX_PIXELS, ImageLike
from .memory import DEFAULT_MEMORY_BUDGET
from .models.registry import DEFAULT_MODEL, ModelConfig, get_model_config
from .models.shipped import load_regressor, missing_weights_message, shipped_weights


@dataclass(frozen=True)
class Prediction:
    score: float  #: quality in [0, 1], higher is better
    raw_score: float  #: the regressor's output, in the units of its training labels


class Scorer:
    """No-reference quality scorer.

    Args:
        model: registry name (`arniqa_edge.list_models()`).
        weights: encoder weights (ours `.safetensors`, or the official `ARNIQA.pth`
            for arniqa-r50); default: the weights shipped for `model`.
        regressor: regressor file (ours `.safetensors` or an official
            `regressor_<dataset>.pth`); default: the shipped one.
        backend: "auto" or a name from `arniqa_edge.backends.BACKEND_NAMES`.
        device: "auto", "cpu", "cuda", "cuda:N".
        protocol: "whole" (full image + half scale) or "five_crop" (the paper's
            center + corner crops at 224 px, predictions averaged).
        batch_size: most images per backend call in `predict_batch`.
        num_threads: CPU threads of the preprocessing (0 = all cores).
        max_pixels: larger images are refused before they are decoded.
        max_batch_pixels: most image pixels per backend call; None: 1 MP on a CPU (larger
            batches run slower there), no cap on a GPU.
        memory_budget: bytes one backend call may take by `memory.estimate_call_bytes`
            (default 4 GiB, see `memory.DEFAULT_MEMORY_BUDGET`); batches stay under it and an
            image over it alone is refused with an `InsufficientMemoryError`.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        weights=None,
        regressor=None,
        backend: str = "auto",
        device: str = "auto",
        protocol: str = "whole",
        batch_size: int = 8,
        num_threads: int = 0,
        max_pixels: int = MAX_PIXELS,
        max_batch_pixels: int | None = None,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
    ):
        self.config: ModelConfig = get_model_config(model)
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
        weights, regressor = self._resolve_files(weights, regressor)
        self.regressor = load_regressor(regressor)
        self._check_regressor(regressor)
        self.weights_path, self.regressor_path = weights, regressor
        self.extractor = FeatureExtractor(
            self.config,
            weights,
            backend=backend,
            device=device,
            protocol=protocol,
            batch_size=batch_size,
            num_threads=num_threads,
            max_pixels=max_pixels,
            max_batch_pixels=max_batch_pixels,
            memory_budget=memory_budget,
        )

    @property
    def backend(self):
        return self.extractor.backend

    @property
    def protocol(self) -> str:
        return self.extractor.protocol

    @property
    def batch_size(self) -> int:
        return self.extractor.batch_size

    @property
    def max_pixels(self) -> int:
        return self.extractor.max_pixels

    def batch_limit(self, height: int, width: int) -> int:
        """Images of this size per backend call: at most batch_size, the pixel cap and the memory budget."""
        try:
            shapes = self.extractor.input_shapes(height, width)
        except ValueError:  # too small for the protocol: prepare() says so, one image at a time
            return 1
        return self.extractor.images_per_call(*shapes)

    def _resolve_files(self, weights, regressor):
        if weights is not None and regressor is not None:
            return weights, regressor
        if weights is not None or regressor is not None:
            raise WeightsError(
                "pass both --weights and --regressor (a regressor is fitted on one encoder's "
                "features), or neither for the shipped model"
            )
        shipped = shipped_weights(self.config)
        if shipped is None:
            raise WeightsError(missing_weights_message(self.config))
        return shipped

    def _check_regressor(self, path) -> None:
        if self.regressor.input_dim != self.config.regressor_input_dim:
            raise WeightsError(
                f"regressor {path} takes {self.regressor.input_dim} features, but {self.config.name} gives "
                f"{self.config.regressor_input_dim} (2 x {self.config.feature_dim}): was it fitted for another model?"
            )
        fitted_for = self.regressor.metadata.get("model", self.config.name)
        if fitted_for != self.config.name:
            raise WeightsError(f"regressor {path} was fitted for model {fitted_for!r}, not {self.config.name!r}")

    # -- public API ----------------------------------------------------------

    def score(self, image: ImageLike, channels: str = "bgr") -> float:
        """Quality of one image (path, numpy array BGR unless channels="rgb", or PIL image)."""
        return self.predict(image, channels).score

    def predict(self, image: ImageLike, channels: str = "bgr") -> Prediction:
        return self.predict_batch([image], channels)[0]

    def score_batch(self, images: Sequence[ImageLike], channels: str = "bgr") -> list[float]:
        return [p.score for p in self.predict_batch(images, channels)]

    def predict_batch(
        self, images: Iterable[ImageLike], channels: str = "bgr", names: Iterable[str] | None = None
    ) -> list[Prediction]:
        """Score many images; same-sized ones share backend calls (`batch_limit`).

        names: what error messages call each image (default: its path, or a description of the array).
        """
        return self.predict_features(self.extractor.embed_batch(images, channels, names))

    def predict_features(self, features: Sequence[np.ndarray]) -> list[Prediction]:
        """Per image (views, 2F) features -> predictions (five_crop: mean over the crops, as the paper).

        Raises NonFiniteOutputError, naming the weights, when a feature or score is NaN or infinite.
        """
        if not features:
            return []
        views = features[0].shape[0]
        stacked = np.concatenate(features, axis=0)
        check_finite_features(stacked, self.weights_path)
        with np.errstate(over="ignore", invalid="ignore"):  # reported below, with the file to blame
            raw = self.regressor.predict_raw(stacked).reshape(-1, views).mean(axis=1)
        if not np.isfinite(raw).all():
            raise NonFiniteOutputError(
                f"the regressor {self.regressor_path} gave a NaN or infinite score: its weights hold non-finite "
                "values or are far too large for these features"
            )
        unit = self.regressor.scale.to_unit(raw)
        return [Prediction(float(u), float(r)) for u, r in zip(unit, raw)]

    def embed(self, image: ImageLike, channels: str = "bgr") -> np.ndarray:
        """Features of one image: (views, 2 * feature_dim); views = 1 (whole) or 5 (five_crop)."""
        return self.extractor.embed_batch([image], channels)[0]

    def __repr__(self) -> str:
        return f"Scorer(model={self.config.name!r}, backend={self.backend.describe()!r}, protocol={self.protocol!r})"
