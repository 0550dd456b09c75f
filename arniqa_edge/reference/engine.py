"""What runs a CVRKD network for `ReferenceScorer`, and the choice of it.

An engine does the network's two halves: `level_maps` (crops -> stacked level
maps, the backbone part, run once per reference and once per image) and
`score_maps` (image maps against reference maps -> raw scores). Two exist:

- torch: the network itself, from the `.safetensors` weights (CPU or CUDA);
- onnxruntime: the two graphs of `python -m training.cvrkd.export` (no torch).

"auto" picks, among the forms the argument names or that lie beside it under the
same stem, the fastest that runs here, in the no-reference backends' order
(onnxruntime on CUDA > torch on CUDA > onnxruntime on CPU > torch on CPU), and
logs its choice. When it picks the form lying beside the one named, it checks
that both were made from the same weights.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod

import numpy as np

from ..backends import AUTO_ORDER, onnxruntime_available, torch_available
from ..errors import BackendUnavailableError, WeightsError
from .config import CVRKDConfig
from .files import ModelFiles, file_sha256, resolve

log = logging.getLogger(__name__)

#: Backends of the reference scorer ("auto" chooses among the others).
REFERENCE_BACKENDS = ("auto", "onnxruntime", "torch")


class ReferenceEngine(ABC):
    name: str = ""
    config: CVRKDConfig
    role: str     #: "student" or "teacher"

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


def open_engine(weights: str | os.PathLike, backend: str = "auto", device: str = "auto") -> ReferenceEngine:
    """The engine `backend` names for the CVRKD model `weights`; "auto" takes the fastest and logs which."""
    if backend not in REFERENCE_BACKENDS:
        raise BackendUnavailableError(f"reference scoring runs on {', '.join(REFERENCE_BACKENDS)}, not {backend!r}"
                                      + (" (TensorRT engines of the CVRKD graphs can be built with "
                                         "python -m export.trt, but no runtime runs them yet)"
                                         if backend == "tensorrt" else ""))
    files = resolve(weights)
    if backend != "auto":
        return _create(backend, files, device)
    for name, runs_on, usable in AUTO_ORDER:
        if name not in REFERENCE_BACKENDS or (device != "auto" and not device.startswith(runs_on)):
            continue
        if files.has(name) and usable():
            engine = _create(name, files, device if device != "auto" else runs_on)
            log.info("reference backend auto: using %s", engine.describe())
            return engine
    installed = {"onnxruntime": onnxruntime_available(), "torch": torch_available()}
    if device != "auto":
        # Nothing runs on the device asked for: let an installed backend with its file say why (e.g. no GPU).
        for name in ("onnxruntime", "torch"):
            if files.has(name) and installed[name]:
                return _create(name, files, device)
    if files.has("torch") and not installed["torch"]:
        raise BackendUnavailableError(
            f"{files.safetensors} needs torch and timm (pip install 'arniqa-edge[torch]'); to score without torch, "
            f"export it with python -m training.cvrkd.export --weights {files.safetensors} -o DIR and pass "
            f"DIR/{files.safetensors.stem}.maps.onnx")
    raise BackendUnavailableError(f"{files.given}: the onnxruntime backend needs onnxruntime: pip install "
                                  "'arniqa-edge[cpu]' ('arniqa-edge[gpu]' for CUDA)")


def _create(name: str, files: ModelFiles, device: str) -> ReferenceEngine:
    if name == "torch" and not torch_available():
        raise BackendUnavailableError("backend 'torch' needs torch and timm: pip install 'arniqa-edge[torch]' "
                                      "(or --backend onnxruntime with the exported graphs)")
    if name == "onnxruntime" and not onnxruntime_available():
        raise BackendUnavailableError("backend 'onnxruntime' needs onnxruntime: pip install 'arniqa-edge[cpu]' "
                                      "('arniqa-edge[gpu]' for CUDA)")
    if name != files.named:
        _check_same_weights(files)
    if name == "torch":
        from .torch_engine import TorchEngine

        return TorchEngine(files.require("torch"), device=device)
    from .onnxruntime_engine import OnnxRuntimeEngine

    return OnnxRuntimeEngine(*files.require("onnxruntime"), device=device)


def _check_same_weights(files: ModelFiles) -> None:
    """The form found beside the one named must be the same model: a stale export would score silently wrong."""
    safetensors, (maps, score) = files.require("torch"), files.require("onnxruntime")
    if not onnxruntime_available():
        raise BackendUnavailableError(f"reading which weights {maps.name} was exported from needs onnxruntime: pip "
                                      f"install onnxruntime, or name {safetensors} itself with --backend torch")
    from .onnxruntime_engine import read_graph_info

    if file_sha256(safetensors) != read_graph_info(maps, "maps").weights_sha256:
        raise WeightsError(f"{maps.name} and {score.name} were not exported from {safetensors} (changed since?): "
                           f"export again with python -m training.cvrkd.export {safetensors} --out "
                           f"{safetensors.parent}, or run only the form you name with its --backend (torch for the "
                           ".safetensors, onnxruntime for the graphs)")
