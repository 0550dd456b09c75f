"""TensorRT backend: runs an encoder engine of `python -m export.trt` on a GPU, without torch.

Frames are prepared on the GPU: each uint8 frame is uploaded once through pinned
staging and `preprocess_cuda` writes both scales straight into the engine's input
bindings (a batch's frames into consecutive rows of one device buffer), on the
engine's stream; the engine runs and the features come back in one copy
(`cuda_inputs`, `tensorrt_graph`). Memory, stream and events are cuda-python's
(`cuda_runtime`): no torch is imported.

Not exercised by the test suite (no GPU, no full TensorRT on the development
machines); its pieces' CPU twins are, and so is construction without a GPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import BackendUnavailableError, WeightsError
from ..models.registry import ModelConfig
from .base import Backend
from .devices import device_index, device_kind
from .tensorrt_graph import ENGINE_SUFFIXES, TensorRTGraph, tensorrt_installed

INSTALL_HINT = (
    "backend 'tensorrt' needs TensorRT (JetPack on a Jetson, or pip install tensorrt / tensorrt-rtx), "
    "cuda-python (pip install 'arniqa-edge[tensorrt]') and a CUDA GPU"
)


def tensorrt_usable(device_kind: str = "cuda") -> bool:
    """TensorRT and cuda-python are installed and a GPU is visible (checked without importing TensorRT)."""
    if device_kind != "cuda" or not tensorrt_installed():
        return False
    from . import cuda_runtime

    return cuda_runtime.device_count() > 0


def tensorrt_installed_or_raise(device: str) -> None:
    """BackendUnavailableError, saying what is missing, unless TensorRT can run on `device` here."""
    if device != "auto" and device_kind(device) != "cuda":
        raise BackendUnavailableError(f"backend 'tensorrt' runs on a CUDA GPU, not on {device!r}")
    if not tensorrt_installed():
        raise BackendUnavailableError(INSTALL_HINT)


class TensorRTBackend(Backend):
    name = "tensorrt"

    def __init__(self, config: ModelConfig, weights, device: str = "auto", num_threads: int = 0):
        path = Path(weights)
        if path.suffix not in ENGINE_SUFFIXES:
            raise WeightsError(
                f"backend 'tensorrt' runs a serialized engine ({', '.join(ENGINE_SUFFIXES)}), not "
                f"{path.name}; build one with python -m export.trt MODEL.onnx --precision ... -o "
                f"{path.with_suffix('.engine')}"
            )
        tensorrt_installed_or_raise(device)
        from .cuda_runtime import CudaPythonInputs

        index = device_index(device)
        self.graph = TensorRTGraph(
            path, index, lambda sidecar: sidecar.exported_info(str(path)).check_fits(config, str(path))
        )
        # The engine's own stream carries the uploads, the preprocessing and the engine, in order.
        self.inputs = CudaPythonInputs(index, stream=self.graph.stream)
        self.sidecar, self.path, self._config = self.graph.sidecar, path, config
        self.precision = self.sidecar.precision
        self._device = f"cuda:{index}"

    @property
    def device(self) -> str:
        return self._device

    @property
    def feature_dim(self) -> int:
        return self._config.feature_dim

    def describe(self) -> str:
        return f"{self.sidecar.builder} {self.sidecar.tensorrt_version} {self.sidecar.precision} on {self.device}"

    def _run(self, full, half) -> np.ndarray:
        return self.graph.run({"full": full, "half": half})["features"]
