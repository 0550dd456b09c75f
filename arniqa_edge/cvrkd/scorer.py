"""`ReferenceScorer`: quality of an image judged against high-quality references of other content.

    scorer = ReferenceScorer("cvrkd-student.safetensors")         # torch
    scorer = ReferenceScorer("cvrkd-student.maps.onnx")           # onnxruntime, no torch needed
    scorer = ReferenceScorer("cvrkd-student.maps.engine")         # TensorRT, no torch needed
    scorer.score("frame.jpg", references=["golden1.jpg", "golden2.jpg"])   # in [0, 1]

The references need not show the same scene (CVRKD's non-aligned reference): for a
camera, a few known-good frames of it. The score is the mean over the references of
the network's prediction; image and references are each cut into the same
deterministic grid of crops (`crops.grid_crops`). `prepare_references` encodes
references once, for scoring many frames against the same golden set. The network
runs on an engine (`engine.open_engine`): torch, onnxruntime or TensorRT, same API
and scores; raw scores map to [0, 1] with the network's `ScoreScale`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputImageError
from ..imageio import MAX_PIXELS, ImageLike, describe, load_image
from ..models.shipped import reference_model_or_shipped
from .crops import grid_crops
from .engine import open_engine


@dataclass(frozen=True)
class ReferencePrediction:
    score: float  #: mean over the references, in [0, 1], higher is better
    raw_score: float  #: the same in label units (KADID MOS 1..5)
    per_reference: tuple[float, ...]  #: raw score against each reference


@dataclass(frozen=True)
class ReferenceSet:
    """References encoded once by `ReferenceScorer.prepare_references`, for that scorer."""

    #: (R, channels, grid, grid) maps: a torch.Tensor on the scorer's device (torch), else a numpy array
    maps: Any
    names: tuple[str, ...]  #: how each reference was given (path, or a description of an array)


class ReferenceScorer:
    """Scores images against non-aligned references with a CVRKD network.

    Args:
        weights: the CVRKD model: a `.safetensors` file written by `python -m training.cvrkd.train`
            (torch), or the graphs of `python -m export.cvrkd` (onnxruntime): `<stem>.maps.onnx`
            (with `<stem>.score.onnx` beside it), or their engines from `python -m export.trt`
            (TensorRT): `<stem>.maps.engine` and `<stem>.score.engine`; or their folder or common stem.
            Default: the student shipped with the package (arniqa_edge/weights/cvrkd-student.*).
        backend: "auto" (the fastest form that runs here, among those named or lying beside; logged),
            "tensorrt", "onnxruntime" or "torch".
        device: "auto", "cpu", "cuda" or "cuda:N".
        max_pixels: largest image decoded (a decompression-bomb guard).
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        backend: str = "auto",
        device: str = "auto",
        max_pixels: int = MAX_PIXELS,
    ):
        weights = reference_model_or_shipped(weights)
        self.engine = open_engine(weights, backend, device)
        self.config = self.engine.config
        self.weights_path = Path(weights)
        self.max_pixels = max_pixels
        #: "student" (trained against other content) or "teacher" (trained against the aligned
        #: pristine image: meaningful as a full-reference scorer only).
        self.role = self.engine.role

    @property
    def backend(self) -> str:
        return self.engine.name

    @property
    def device(self) -> str:
        return self.engine.device

    # -- public API ----------------------------------------------------------

    def score(self, image: ImageLike, references, channels: str = "bgr") -> float:
        """Quality of `image` in [0, 1] against `references` (paths, arrays, PIL images or a ReferenceSet)."""
        return self.predict(image, references, channels).score

    def predict(self, image: ImageLike, references, channels: str = "bgr") -> ReferencePrediction:
        if not isinstance(references, ReferenceSet):
            references = self.prepare_references(references, channels)
        lq_maps = self.engine.level_maps(self._crops([image], channels, role="image"))
        raw = self.engine.score_maps(lq_maps, references.maps)
        per_reference = tuple(float(v) for v in raw)
        mean = float(np.mean(per_reference))
        return ReferencePrediction(self._to_unit(mean), mean, per_reference)

    def prepare_references(self, references: Sequence[ImageLike] | ImageLike, channels: str = "bgr") -> ReferenceSet:
        """Encode references once (their backbone and projection maps) for many `score` calls."""
        if isinstance(references, str) or not isinstance(references, Sequence):
            references = [references]
        if len(references) == 0:
            raise InputImageError("no reference images given; pass at least one high-quality reference")
        maps = self.engine.level_maps(self._crops(references, channels, role="reference"))
        return ReferenceSet(maps, tuple(describe(r) for r in references))

    def __repr__(self) -> str:
        return (
            f"ReferenceScorer(weights={str(self.weights_path)!r}, role={self.role!r}, "
            f"crops={self.config.crops}x{self.config.crop_size}px, backend={self.engine.describe()!r})"
        )

    # -- internals -----------------------------------------------------------

    def _crops(self, images: Sequence[ImageLike], channels: str, role: str) -> np.ndarray:
        batch = []
        for image in images:
            try:
                frame, order = load_image(image, channels, max_pixels=self.max_pixels)
            except InputImageError as exc:
                raise InputImageError(f"{role} {exc}") from None
            rgb = frame[:, :, ::-1] if order == "bgr" else frame
            batch.append(grid_crops(rgb, self.config.crop_size, self.config.crops))
        return np.stack(batch)

    def _to_unit(self, raw: float) -> float:
        return float(self.config.scale.to_unit(raw))
