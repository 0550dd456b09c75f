"""CUDA memory, streams and events through cuda-python (`cuda.bindings.runtime`), for TensorRT without torch.

The TensorRT backend used to keep its buffers and stream in torch tensors, which
pulled about 1 GB of torch into the fastest Jetson path. These few wrappers over
the CUDA runtime API are what it needs instead:

- `DeviceArray`: float32 device memory with `__cuda_array_interface__` (so
  `preprocess_cuda` writes it) whose rows slice without a copy;
- `pinned_empty`: page-locked host memory as a numpy array (asynchronous copies);
- `Stream`, `Event`, `copy_to_device`, `copy_to_host`;
- `CudaPythonInputs`: the `CudaInputs` of a backend on GPU `index`.

cuda-python ships as `cuda-python` / `cuda-bindings` (the `tensorrt` extra); its
major version must match the CUDA of the machine (12 on JetPack 6). Every failing
call raises a RuntimeError with CUDA's own message.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError
from .cuda_inputs import CudaInputs

INSTALL_HINT = (
    "cuda-python (pip install 'arniqa-edge[tensorrt]', i.e. cuda-python of your CUDA's major "
    "version; on a Jetson with JetPack 6: pip install 'cuda-python>=12,<13')"
)


def cudart():
    """The CUDA runtime bindings; BackendUnavailableError when cuda-python is not installed."""
    try:
        from cuda.bindings import runtime
    except ImportError:
        try:
            from cuda import cudart as runtime  # cuda-python before 12.6 named the module so
        except ImportError:
            raise BackendUnavailableError(f"the CUDA runtime bindings are not installed: {INSTALL_HINT}") from None
    return runtime


def check(result: Any, what: str) -> Any:
    """The value of a cuda-python call's (error, value...) result; RuntimeError with CUDA's message on failure."""
    rt = cudart()
    error, *values = result if isinstance(result, tuple) else (result,)
    if error != rt.cudaError_t.cudaSuccess:
        message = rt.cudaGetErrorString(error)[1]
        raise RuntimeError(f"{what} failed: {message.decode() if isinstance(message, bytes) else message}")
    return values[0] if len(values) == 1 else None


def device_count() -> int:
    """Visible CUDA devices; 0 without cuda-python, a driver or a GPU."""
    try:
        error, count = cudart().cudaGetDeviceCount()
    except BackendUnavailableError:
        return 0
    return count if error == cudart().cudaError_t.cudaSuccess else 0


def device_name(index: int = 0) -> str | None:
    """The name of GPU `index`, None without a usable one."""
    if index >= device_count():
        return None
    props = check(cudart().cudaGetDeviceProperties(index), "cudaGetDeviceProperties")
    return props.name.split(b"\0", 1)[0].decode()


def set_device(index: int) -> None:
    """Make GPU `index` current for this thread (each thread that enqueues work sets it)."""
    check(cudart().cudaSetDevice(index), f"cudaSetDevice({index})")


def _release(owner: Any, attribute: str, free) -> None:
    """Free what `owner.attribute` holds, once; quietly at interpreter exit, when CUDA may be gone already."""
    handle = getattr(owner, attribute, None)
    if handle:
        setattr(owner, attribute, None)
        try:
            free(handle)
        except Exception:  # noqa: BLE001 - a destructor must not raise
            pass


class _Allocation:
    """One cudaMalloc'ed block, freed with the last array that views it."""

    def __init__(self, nbytes: int):
        self.ptr = int(check(cudart().cudaMalloc(max(nbytes, 1)), f"cudaMalloc({nbytes})"))

    def __del__(self):
        _release(self, "ptr", lambda ptr: cudart().cudaFree(ptr))


class DeviceArray:
    """C-contiguous float32 device memory of `shape`; `array[a:b]` views rows a..b of it."""

    def __init__(self, shape, allocation: _Allocation, offset: int = 0):
        self.shape = tuple(int(n) for n in shape)
        self._allocation, self._offset = allocation, offset

    @property
    def ptr(self) -> int:
        return self._allocation.ptr + self._offset

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * 4

    @property
    def __cuda_array_interface__(self) -> dict:
        return {"shape": self.shape, "typestr": "<f4", "data": (self.ptr, False), "version": 3, "strides": None}

    def __getitem__(self, rows: slice) -> DeviceArray:
        if not isinstance(rows, slice):
            raise TypeError("a DeviceArray slices rows only: array[a:b]")
        start, stop, step = rows.indices(self.shape[0])
        if step != 1:
            raise ValueError("a DeviceArray slices contiguous rows only")
        row_bytes = math.prod(self.shape[1:]) * 4
        return DeviceArray((max(stop - start, 0), *self.shape[1:]), self._allocation, self._offset + start * row_bytes)


def device_empty(shape) -> DeviceArray:
    """Uninitialised float32 device memory of `shape` on the current GPU."""
    return DeviceArray(shape, _Allocation(math.prod(shape) * 4))


class _PinnedAllocation:
    """One cudaMallocHost'ed block, seen by numpy through __array_interface__ (the array keeps it alive)."""

    def __init__(self, nbytes: int):
        self.ptr = int(check(cudart().cudaMallocHost(max(nbytes, 1)), f"cudaMallocHost({nbytes})"))
        self.__array_interface__ = {"shape": (nbytes,), "typestr": "|u1", "data": (self.ptr, False), "version": 3}

    def __del__(self):
        _release(self, "ptr", lambda ptr: cudart().cudaFreeHost(ptr))


def pinned_empty(nbytes: int) -> np.ndarray:
    """Page-locked host memory as a uint8 numpy array of `nbytes`."""
    return np.asarray(_PinnedAllocation(nbytes))


class Stream:
    """A non-blocking CUDA stream of the current GPU; `handle` is its cudaStream_t as an int."""

    def __init__(self):
        rt = cudart()
        self._stream = check(rt.cudaStreamCreateWithFlags(rt.cudaStreamNonBlocking), "cudaStreamCreateWithFlags")
        self.handle = int(self._stream)

    def synchronize(self) -> None:
        check(cudart().cudaStreamSynchronize(self._stream), "cudaStreamSynchronize")

    def __del__(self):
        _release(self, "_stream", lambda stream: cudart().cudaStreamDestroy(stream))


class Event:
    def __init__(self):
        rt = cudart()
        self._event = check(rt.cudaEventCreateWithFlags(rt.cudaEventDisableTiming), "cudaEventCreateWithFlags")

    def record(self, stream: Stream) -> None:
        check(cudart().cudaEventRecord(self._event, stream.handle), "cudaEventRecord")

    def synchronize(self) -> None:
        check(cudart().cudaEventSynchronize(self._event), "cudaEventSynchronize")

    def __del__(self):
        _release(self, "_event", lambda event: cudart().cudaEventDestroy(event))


def copy_to_device(target: DeviceArray, source: np.ndarray, stream: Stream) -> None:
    """Enqueue the copy of a C-contiguous float32 host array into `target` (asynchronous from pinned memory)."""
    source = np.ascontiguousarray(source, np.float32)
    if source.nbytes != target.nbytes:
        raise ValueError(f"copying {source.shape} into a device array of {target.shape}")
    rt = cudart()
    check(
        rt.cudaMemcpyAsync(
            target.ptr, source.ctypes.data, source.nbytes, rt.cudaMemcpyKind.cudaMemcpyHostToDevice, stream.handle
        ),
        "cudaMemcpyAsync (host to device)",
    )


def copy_to_host(target: np.ndarray, source: DeviceArray, stream: Stream) -> None:
    """Enqueue the copy of `source` into a C-contiguous host array (pinned: asynchronous); synchronise to read it."""
    if target.nbytes != source.nbytes or not target.flags.c_contiguous:
        raise ValueError(f"copying a device array of {source.shape} into a host array of {target.shape}")
    rt = cudart()
    check(
        rt.cudaMemcpyAsync(
            target.ctypes.data, source.ptr, source.nbytes, rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, stream.handle
        ),
        "cudaMemcpyAsync (device to host)",
    )


class CudaPythonInputs(CudaInputs):
    """Device inputs on GPU `index`, written on `stream` (default: a new one), made with cuda-python (no torch)."""

    def __init__(self, index: int = 0, stream: Stream | None = None):
        super().__init__()
        self.index = index
        set_device(index)
        self.cuda_stream = stream or Stream()

    @property
    def stream(self) -> int:
        return self.cuda_stream.handle

    def empty(self, shape) -> DeviceArray:
        set_device(self.index)
        return device_empty(shape)

    def upload(self, full: np.ndarray, half: np.ndarray) -> tuple[DeviceArray, DeviceArray]:
        arrays = []
        for host in (full, half):
            device = self.empty(host.shape)
            copy_to_device(device, host, self.cuda_stream)
            arrays.append(device)
        return arrays[0], arrays[1]

    def synchronize(self) -> None:
        self.cuda_stream.synchronize()

    def write(self, frame, spec, full, half) -> None:
        set_device(self.index)  # events and copies go to this GPU, whichever thread prepares the frame
        super().write(frame, spec, full, half)

    def _pinned(self, nbytes: int) -> np.ndarray:
        return pinned_empty(nbytes)

    def _event(self) -> Event:
        return Event()

    def _record(self, event: Event) -> None:
        event.record(self.cuda_stream)

    def _wait(self, event: Event) -> None:
        event.synchronize()
