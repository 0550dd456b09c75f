"""The linear quality regressor on frozen features, and the map of its output to [0, 1].

ARNIQA fits a ridge regressor on the L2-normalised features of the full and the
half scale, concatenated. Its output is in the units of the training labels
(KADID MOS 1..5, LIVE DMOS, ...); `ScoreScale` (arniqa_edge.score_scale) maps it
to [0, 1], higher is better, as the paper's release does. Stored as safetensors (no pickle), with the
scale and provenance in the metadata. numpy only: no torch needed to score.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .datasets import DATASETS
from .errors import WeightsError
from .safetensors_files import read_safetensors
from .score_scale import ScoreScale

FORMAT = "arniqa_edge.regressor.v1"


#: Label ranges and directions by dataset name: those of the label files (`arniqa_edge.datasets`),
#: which regressors fitted with `training.evaluation.fit_regressor --dataset NAME` are mapped with.
DATASET_SCALES: dict[str, ScoreScale] = {name: spec.scale for name, spec in DATASETS.items()}


@dataclass
class LinearRegressor:
    """raw = features @ weight + bias, then `scale` maps raw to [0, 1]."""

    weight: np.ndarray
    bias: float
    scale: ScoreScale
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self.weight = np.asarray(self.weight, dtype=np.float32).reshape(-1)
        self.bias = float(self.bias)

    @property
    def input_dim(self) -> int:
        return int(self.weight.shape[0])

    def predict_raw(self, features: np.ndarray) -> np.ndarray:
        features = np.asarray(features)
        if features.ndim != 2 or features.shape[1] != self.input_dim:
            raise ValueError(f"regressor expects features of shape (N, {self.input_dim}), got {features.shape}")
        return features.astype(np.float32, copy=False) @ self.weight + np.float32(self.bias)

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.scale.to_unit(self.predict_raw(features))

    def save(self, path: str | os.PathLike) -> None:
        from safetensors.numpy import save_file

        meta = {
            "format": FORMAT,
            "scale": json.dumps([self.scale.low, self.scale.high, self.scale.higher_is_better]),
            **{k: str(v) for k, v in self.metadata.items()},
        }
        tensors = {"weight": self.weight, "bias": np.array([self.bias], dtype=np.float32)}
        save_file(tensors, str(path), metadata=meta)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LinearRegressor:
        path = Path(path)
        meta, tensors = read_safetensors(path, "regressor", FORMAT)
        if "weight" not in tensors or "bias" not in tensors:
            raise WeightsError(
                f"{path}: not an arniqa_edge regressor file (tensors {sorted(tensors)}, expected weight and bias)"
            )
        meta.pop("format")
        scale = _read_scale(meta.pop("scale", None), path)
        weight, bias = np.asarray(tensors["weight"]).reshape(-1), np.asarray(tensors["bias"]).reshape(-1)
        if weight.size == 0 or bias.size != 1:
            raise WeightsError(
                f"{path}: damaged regressor: {weight.size} weights and {bias.size} bias values "
                "(expected one weight per feature and one bias)"
            )
        if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
            raise WeightsError(
                f"{path}: damaged regressor: {int((~np.isfinite(weight)).sum())} weights and "
                f"{int((~np.isfinite(bias)).sum())} bias values are NaN or infinite"
            )
        return cls(weight, float(bias[0]), scale, meta)


def _read_scale(text: str | None, path: Path) -> ScoreScale:
    """The [low, high, higher_is_better] metadata of a regressor file, checked."""
    if text is None:
        raise WeightsError(
            f"{path}: damaged regressor: no 'scale' metadata (the label range that maps its "
            "output to [0, 1]); refit it with python -m training.evaluation.fit_regressor"
        )
    try:
        low, high, higher = json.loads(text)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in (low, high)):
            raise TypeError("low and high must be finite numbers")
        if not isinstance(higher, (bool, int)):
            raise TypeError("higher_is_better must be true or false")
        return ScoreScale(float(low), float(high), bool(higher))
    except (TypeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise WeightsError(
            f"{path}: damaged regressor: its 'scale' metadata {text!r} is not "
            f"[low, high, higher_is_better] with high > low ({exc})"
        ) from None
