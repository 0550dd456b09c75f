"""The one interface every inference backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Backend(ABC):
    """Runs the encoder: normalised NCHW images of one scale -> L2-normalised features."""

    #: short name: "torch", "onnxruntime", "tensorrt"
    name: str = ""

    @property
    @abstractmethod
    def device(self) -> str:
        """Where it runs, e.g. "cpu", "cuda:0"."""

    @property
    @abstractmethod
    def feature_dim(self) -> int:
        """Features per image and scale."""

    @abstractmethod
    def encode(self, batch: np.ndarray) -> np.ndarray:
        """(N, 3, H, W) float32 -> (N, feature_dim) float32, L2-normalised per row."""

    def encode_pair(self, full: np.ndarray, half: np.ndarray) -> np.ndarray:
        """Both scales of N views -> (N, 2 * feature_dim): [features(full), features(half)].

        Backends whose model takes both scales in one graph override this.
        """
        return np.concatenate([self.encode(full), self.encode(half)], axis=1)

    def describe(self) -> str:
        return f"{self.name} on {self.device}"
