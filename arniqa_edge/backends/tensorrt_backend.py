"""TensorRT backend: runs an engine from `python -m export.trt` (TensorRT 10.x/11.x or TensorRT-RTX).

Not exercised by the test suite: it needs an NVIDIA GPU and a TensorRT runtime,
which the development machines lack. It is written against the documented
TensorRT 10 API, the one TensorRT 11 and TensorRT-RTX keep: name-based I/O
tensors (`set_input_shape`, `set_tensor_address`) and `execute_async_v3`.

One CUDA stream carries everything: the host-to-device copies (or, with
`encode_frame`, the CUDA preprocessing writing straight into the engine's input
bindings), the engine, and the copy of the features back. Device buffers are
torch tensors, kept and reused while the input shapes stay the same (a video
stream's frames all have one size).

Before the engine is deserialised its sidecar is checked: model, preprocessing,
TensorRT version and GPU must match, else a WeightsError says what to rebuild.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from pathlib import Path

import numpy as np

from ..errors import BackendUnavailableError, WeightsError
from ..models.registry import ModelConfig
from ..preprocess import PreprocessSpec, output_shapes, preprocess_cuda
from .base import Backend
from .engine_sidecar import EngineSidecar

log = logging.getLogger(__name__)

ENGINE_SUFFIXES = (".engine", ".plan")


def tensorrt_usable() -> bool:
    """A TensorRT runtime module, torch and a CUDA GPU are all present (checked without touching TensorRT)."""
    if not any(importlib.util.find_spec(m) for m in ("tensorrt", "tensorrt_rtx")):
        return False
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


class TensorRTBackend(Backend):
    name = "tensorrt"

    def __init__(self, config: ModelConfig, weights, device: str = "auto", num_threads: int = 0):
        path = Path(weights)
        if path.suffix not in ENGINE_SUFFIXES:
            raise WeightsError(f"backend 'tensorrt' runs a serialized engine ({', '.join(ENGINE_SUFFIXES)}), not "
                               f"{path.name}; build one with python -m export.trt MODEL.onnx --precision ... -o "
                               f"{path.with_suffix('.engine')}")
        if not path.is_file():
            raise WeightsError(f"engine file not found: {path}")
        sidecar = EngineSidecar.read(path)
        try:
            import torch

            trt = importlib.import_module(sidecar.builder)
        except ImportError as exc:
            raise BackendUnavailableError(f"backend 'tensorrt' needs {sidecar.builder} and torch ({exc})") from None
        if device == "cpu" or not torch.cuda.is_available():
            raise BackendUnavailableError(f"backend 'tensorrt' runs on a CUDA GPU; none is usable (device {device!r})")
        self._torch = torch
        self._device = torch.device("cuda" if device == "auto" else device)
        index = self._device.index or 0
        sidecar.check(config, trt.__name__, trt.__version__, torch.cuda.get_device_name(index), str(path))

        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        with torch.cuda.device(self._device):
            self.engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
            if self.engine is None:
                raise WeightsError(f"{path}: {trt.__name__} {trt.__version__} could not deserialise it (see its log)")
            self.context = self.engine.create_execution_context()
            self.stream = torch.cuda.Stream(self._device)
        self.sidecar, self.path, self._config = sidecar, path, config
        self._inputs: dict[str, object] = {}
        self._features = None

    @property
    def device(self) -> str:
        return str(self._device)

    @property
    def feature_dim(self) -> int:
        return self._config.feature_dim

    def describe(self) -> str:
        return f"{self.sidecar.builder} {self.sidecar.tensorrt_version} {self.sidecar.precision} on {self.device}"

    def input_buffers(self, full_shape: tuple, half_shape: tuple):
        """The engine's (full, half) device input tensors for these shapes, bound and ready to be written."""
        torch = self._torch
        shapes = {"full": tuple(full_shape), "half": tuple(half_shape)}
        if {name: tuple(t.shape) for name, t in self._inputs.items()} != shapes:
            self._check_profile(shapes)
            for name, shape in shapes.items():
                self._inputs[name] = torch.empty(shape, dtype=torch.float32, device=self._device)
                self.context.set_input_shape(name, shape)
                self.context.set_tensor_address(name, self._inputs[name].data_ptr())
            self._features = torch.empty((shapes["full"][0], 2 * self.feature_dim), dtype=torch.float32,
                                         device=self._device)
            self.context.set_tensor_address("features", self._features.data_ptr())
        return self._inputs["full"], self._inputs["half"]

    def encode_pair(self, full: np.ndarray, half: np.ndarray) -> np.ndarray:
        torch = self._torch
        device_full, device_half = self.input_buffers(full.shape, half.shape)
        with torch.cuda.stream(self.stream):
            device_full.copy_(torch.from_numpy(np.ascontiguousarray(full, np.float32)).pin_memory(), non_blocking=True)
            device_half.copy_(torch.from_numpy(np.ascontiguousarray(half, np.float32)).pin_memory(), non_blocking=True)
        return self._execute()

    def encode_frame(self, frame, spec: PreprocessSpec) -> np.ndarray:
        """One uint8 (H, W, 3) frame (host or CUDA array) -> (views, 2F) features, preprocessed on the GPU.

        The CUDA preprocessing writes the engine's input bindings directly, on the engine's stream.
        """
        full_shape, half_shape = output_shapes(frame.shape[0], frame.shape[1], spec)
        device_full, device_half = self.input_buffers(full_shape, half_shape)
        preprocess_cuda(frame, device_full, device_half, spec, stream=self.stream)
        return self._execute()

    def encode(self, batch: np.ndarray) -> np.ndarray:
        """Full-scale features only: the engine takes both scales, so the profile's smallest half is fed."""
        half_shape = [batch.shape[0], *self.sidecar.input_shapes["half"]["min"][1:]]
        return self.encode_pair(batch, np.zeros(half_shape, np.float32))[:, :self.feature_dim]

    def _execute(self) -> np.ndarray:
        if not self.context.execute_async_v3(self.stream.cuda_stream):
            raise RuntimeError(f"{self.path.name}: execute_async_v3 failed (see the TensorRT log)")
        with self._torch.cuda.stream(self.stream):
            features = self._features.to("cpu", non_blocking=True)
        self.stream.synchronize()
        return features.numpy()

    def _check_profile(self, shapes: dict[str, tuple]) -> None:
        for name, shape in shapes.items():
            low, high = self.sidecar.input_shapes[name]["min"], self.sidecar.input_shapes[name]["max"]
            if not all(lo <= s <= hi for s, lo, hi in zip(shape, low, high)):
                raise ValueError(f"{self.path.name}: {name} input {list(shape)} is outside the engine's profile "
                                 f"{low}..{high}; rebuild with a wider --batch/--size (python -m export.trt)")
