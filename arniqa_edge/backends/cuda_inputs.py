"""Inputs in CUDA device memory, written by the CUDA preprocessing on the backend's stream.

The GPU backends' input path: a host frame (uint8, as decoded) is copied into a
pinned staging buffer, then `preprocess_cuda` enqueues on the backend's stream its
upload (asynchronous, since the source is pinned) and the kernel, which writes the
normalised full and half scales straight into the rows of the batch the model
reads. Nothing but the uint8 frame crosses the bus, and the host moves on while
the GPU works. A frame already on the device (anything with
__cuda_array_interface__ or __dlpack__) is read where it is.

A small ring of staging buffers lets the next frames be staged while earlier
uploads run; an event per buffer says when its upload has run, so a buffer is
never overwritten before. Subclasses provide the memory, the stream and events:
`TorchCudaInputs` (torch_backend) and `CudaPythonInputs` (cuda_runtime, for
TensorRT without torch). `HostInputs` (inputs.py) is the CPU twin of this path.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ..preprocess import PreprocessSpec, preprocess_cuda


class CudaInputs(ABC):
    """Device inputs of one backend, its stream, and a ring of pinned staging buffers for host frames."""

    #: staging buffers: enough for the preprocessing to run ahead of the uploads by a frame or two
    STAGING_BUFFERS = 3
    #: the op that writes a frame into device inputs on a stream (a twin substitutes the CPU op)
    kernel = staticmethod(preprocess_cuda)

    def __init__(self):
        self._staging: list[np.ndarray | None] = [None] * self.STAGING_BUFFERS
        self._uploaded: list[Any] = [None] * self.STAGING_BUFFERS
        self._next = 0
        self._lock = threading.Lock()

    @property
    @abstractmethod
    def stream(self) -> Any:
        """The backend's stream: an int cudaStream_t, or an object with `cuda_stream` or `ptr`."""

    @abstractmethod
    def empty(self, shape) -> Any:
        """An uninitialised float32 device array."""

    @abstractmethod
    def upload(self, full: np.ndarray, half: np.ndarray) -> tuple[Any, Any]:
        """Host float32 inputs copied to new device arrays on the stream."""

    @abstractmethod
    def synchronize(self) -> None:
        """Wait for the stream."""

    @abstractmethod
    def _pinned(self, nbytes: int) -> np.ndarray:
        """A page-locked host buffer of `nbytes` (uint8, kept alive by the array)."""

    @abstractmethod
    def _event(self) -> Any:
        """A new event."""

    @abstractmethod
    def _record(self, event: Any) -> None:
        """Mark on `event` the work enqueued on the stream so far."""

    @abstractmethod
    def _wait(self, event: Any) -> None:
        """Block the host until `event`'s work has run."""

    def write(self, frame: Any, spec: PreprocessSpec, full: Any, half: Any) -> None:
        if not (isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3):
            self.kernel(frame, full, half, spec, stream=self.stream)  # on the device already (or refused by the op)
            return
        with self._lock:  # the ring is shared by the threads that prepare frames
            slot = self._next
            self._next = (slot + 1) % self.STAGING_BUFFERS
            staged = self._stage(slot, frame)
            self.kernel(staged, full, half, spec, stream=self.stream)
            self._record(self._uploaded[slot])

    def _stage(self, slot: int, frame: np.ndarray) -> np.ndarray:
        """`frame` copied into staging buffer `slot`, once the upload that last read it has run."""
        if self._uploaded[slot] is None:
            self._uploaded[slot] = self._event()
        else:
            self._wait(self._uploaded[slot])
        buffer = self._staging[slot]
        if buffer is None or buffer.size < frame.nbytes:
            buffer = self._staging[slot] = self._pinned(frame.nbytes)
        staged = buffer[: frame.nbytes].reshape(frame.shape)
        np.copyto(staged, frame)  # packs a strided view (a crop of a larger frame) too
        return staged
