"""One TensorRT engine of `python -m export.trt` (TensorRT 10.x/11.x or TensorRT-RTX), run without torch.

Not exercised by the test suite: it needs an NVIDIA GPU and a TensorRT runtime,
which the development machines lack. It is written against the documented
TensorRT 10 API, the one TensorRT 11 and TensorRT-RTX keep (name-based I/O
tensors: `set_input_shape`, `set_tensor_address`, `get_tensor_shape`,
`execute_async_v3`), and against cuda-python's runtime API (`cuda_runtime`) for
memory and the stream.

Before the engine is deserialised its sidecar is checked: TensorRT version and
GPU here, then what the caller asks of the model (`check`), else a WeightsError
says what to rebuild. Inputs are device arrays bound by address; outputs are
kept on the device per shape and copied back into pinned host buffers, all on
the engine's own stream, synchronised once per run.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import BackendUnavailableError, WeightsError
from . import cuda_runtime as cuda
from .engine_sidecar import EngineSidecar

ENGINE_SUFFIXES = (".engine", ".plan")
MODULES = ("tensorrt", "tensorrt_rtx")


def tensorrt_installed() -> bool:
    """A TensorRT runtime module and cuda-python are importable (checked without importing TensorRT)."""
    return any(importlib.util.find_spec(m) for m in MODULES) and _found("cuda.bindings", "cuda.cudart")


def _found(*modules: str) -> bool:
    for module in modules:
        try:
            if importlib.util.find_spec(module) is not None:
                return True
        except ModuleNotFoundError:  # the parent package is missing
            continue
    return False


class TensorRTGraph:
    """A deserialised engine, its execution context and stream, on GPU `index`."""

    def __init__(self, path: Path, index: int, check: Callable[[EngineSidecar], None]):
        path = Path(path)
        if not path.is_file():
            raise WeightsError(f"engine file not found: {path}")
        sidecar = EngineSidecar.read(path)
        gpu = cuda.device_name(index)
        if gpu is None:
            raise BackendUnavailableError(
                f"backend 'tensorrt' runs on a CUDA GPU; cuda:{index} is not usable here "
                f"({cuda.device_count()} visible to cuda-python)"
            )
        try:
            trt = importlib.import_module(sidecar.builder)
        except ImportError as exc:
            raise BackendUnavailableError(
                f"{path.name} runs on {sidecar.builder}, which is not installed ({exc})"
            ) from None
        sidecar.check_runtime(trt.__name__, trt.__version__, gpu, str(path))
        check(sidecar)
        cuda.set_device(index)
        self.index, self.path, self.sidecar, self._trt = index, path, sidecar, trt
        self.stream = cuda.Stream()
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise WeightsError(f"{path}: {trt.__name__} {trt.__version__} could not deserialise it (see its log)")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if n not in self.inputs]
        for name in names:
            if self.engine.get_tensor_dtype(name) != trt.DataType.FLOAT:
                raise WeightsError(
                    f"{path}: tensor {name} is {self.engine.get_tensor_dtype(name)}, not float32 "
                    "(exports keep float32 inputs and outputs); rebuild it from the ONNX export"
                )
        #: per tensor name: (device array, pinned host array) of the last shape it had
        self._buffers: dict[str, tuple[cuda.DeviceArray, np.ndarray]] = {}

    def max_batch(self, name: str) -> int:
        """The largest first dimension the engine's profile takes for input `name`."""
        return int(self.sidecar.input_shapes[name]["max"][0])

    def smallest(self, name: str) -> list[int]:
        return list(self.sidecar.input_shapes[name]["min"])

    def run(self, inputs: dict[str, cuda.DeviceArray]) -> dict[str, np.ndarray]:
        """Device inputs by name -> host outputs by name (float32, copied), after one synchronisation."""
        cuda.set_device(self.index)
        self._check_profile({name: array.shape for name, array in inputs.items()})
        for name, array in inputs.items():
            self.context.set_input_shape(name, array.shape)
            self.context.set_tensor_address(name, array.ptr)
        outputs = {}
        for name in self.outputs:
            device, host = self._buffer(name, tuple(self.context.get_tensor_shape(name)))
            self.context.set_tensor_address(name, device.ptr)
            outputs[name] = (device, host)
        if not self.context.execute_async_v3(self.stream.handle):
            raise RuntimeError(f"{self.path.name}: execute_async_v3 failed (see the TensorRT log)")
        for device, host in outputs.values():
            cuda.copy_to_host(host, device, self.stream)
        self.stream.synchronize()
        return {name: host.copy() for name, (_, host) in outputs.items()}

    def run_host(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The same with host inputs, uploaded into the engine's own input buffers first."""
        cuda.set_device(self.index)
        device_inputs = {}
        for name, array in inputs.items():
            device, host = self._buffer(name, array.shape)
            np.copyto(host, array.reshape(host.shape))
            cuda.copy_to_device(device, host, self.stream)
            device_inputs[name] = device
        return self.run(device_inputs)

    def _buffer(self, name: str, shape: tuple) -> tuple[cuda.DeviceArray, np.ndarray]:
        if any(n < 0 for n in shape):
            raise RuntimeError(f"{self.path.name}: the shape of {name} is not known ({shape}) after binding the inputs")
        held = self._buffers.get(name)
        if held is None or held[0].shape != tuple(shape):
            count = int(np.prod(shape))
            held = (cuda.device_empty(shape), cuda.pinned_empty(count * 4).view(np.float32).reshape(shape))
            self._buffers[name] = held
        return held

    def _check_profile(self, shapes: dict[str, tuple]) -> None:
        for name, shape in shapes.items():
            low, high = self.sidecar.input_shapes[name]["min"], self.sidecar.input_shapes[name]["max"]
            if len(shape) != len(low) or not all(lo <= s <= hi for s, lo, hi in zip(shape, low, high)):
                raise ValueError(
                    f"{self.path.name}: {name} input {list(shape)} is outside the engine's profile "
                    f"{low}..{high}; rebuild with a wider --batch/--size (python -m export.trt)"
                )
