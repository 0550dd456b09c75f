"""What runs a CVRKD network for `ReferenceScorer`, chosen through the backend layer of both scorers.

An engine does the network's two halves: `level_maps` (crops -> stacked level
maps, the backbone part, run once per reference and once per image) and
`score_maps` (image maps against reference maps -> raw scores). The forms:

- torch: the network itself, from the `.safetensors` weights (CPU or CUDA; `torch_engine`);
- onnxruntime: the two graphs of `python -m export.cvrkd` (no torch; `graph_engine`);
- tensorrt: the engines `python -m export.trt` builds from those graphs (no torch; `graph_engine`).

They are registered in `arniqa_edge.backends.builtin` (kind "cvrkd") and chosen by
the same policy as the no-reference encoders (`backends.selection`): "auto" takes,
among the forms named or lying beside under the same stem, the fastest that runs
here, checks that a form found beside the one named was exported from the same
weights, and logs its choice.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod

import numpy as np

from ..backends import Choice, open_model
from .config import CVRKDConfig


class CVRKDEngine(ABC):
    name: str = ""
    precision: str = "fp32"
    config: CVRKDConfig
    role: str  #: "student" or "teacher"

    @property
    @abstractmethod
    def device(self) -> str:
        """Where it runs, e.g. "cpu", "cuda:0"."""

    @abstractmethod
    def level_maps(self, crops: np.ndarray):
        """(N, P, 3, S, S) float32 normalised crops -> (N, channels, grid, grid) maps, in the engine's own array
        type (kept where the engine runs, so stored reference maps are not copied back and forth)."""

    @abstractmethod
    def score_maps(self, lq_maps, ref_maps) -> np.ndarray:
        """Raw scores (R,) of `lq_maps` (1 or R rows, broadcast) against `ref_maps` (R rows), in label units."""

    def describe(self) -> str:
        return f"{self.name} on {self.device}"


def open_engine(
    weights: str | os.PathLike, backend: str = "auto", device: str = "auto", num_threads: int = 0
) -> CVRKDEngine:
    """The engine `backend` names for the CVRKD model `weights`; "auto" takes the fastest and logs which."""

    def build(choice: Choice) -> CVRKDEngine:
        return choice.entry.build(choice.path, device=choice.device, num_threads=num_threads)

    return open_model("cvrkd", weights, backend, device, build)
