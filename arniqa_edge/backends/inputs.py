"""A backend's inputs: batches of frames preprocessed in place, where the backend reads them.

An `InputBatch` holds the (full, half) input arrays of up to `limit` frames of one
size; frame i is written into rows [i * views, (i + 1) * views) (views: 1 for the
whole image, 5 for five crops), so a batch goes to the backend without a copy.
Where the arrays live and what writes a frame into them is the backend's `Inputs`:

- `HostInputs` (here): host memory, the fused C++ op `_C.preprocess`: the CPU
  backends' path, and the twin that exercises the batching on any machine;
- `cuda_inputs.CudaInputs`: device memory, the uint8 frame uploaded once through
  pinned staging and `_C.preprocess_cuda` on the backend's stream (torch on CUDA,
  TensorRT).

`InputPool` hands out batches and takes them back after the backend ran them: a
video's frames all have one size, so its batches are allocated once.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import numpy as np

from ..preprocess import PreprocessSpec, preprocess

Shape = tuple[int, int, int, int]


class Inputs(Protocol):
    """Where a backend's inputs live and how a frame is written into them."""

    def empty(self, shape: Shape) -> Any:
        """An uninitialised float32 array of `shape` (rows sliceable along the first axis)."""

    def write(self, frame: Any, spec: PreprocessSpec, full: Any, half: Any) -> None:
        """Preprocess one uint8 (H, W, 3) frame into `full` and `half` (slices of a batch)."""

    def upload(self, full: np.ndarray, half: np.ndarray) -> tuple[Any, Any]:
        """Host float32 (full, half) inputs as this memory's arrays (for callers that preprocess themselves)."""

    def synchronize(self) -> None:
        """Wait until every write enqueued so far is done (the GPU ones are asynchronous)."""


class HostInputs:
    """Inputs in host memory (numpy), written by the C++ preprocessing on the CPU's cores."""

    def __init__(self, num_threads: int = 0):
        self.num_threads = num_threads

    def empty(self, shape: Shape) -> np.ndarray:
        return np.empty(shape, np.float32)

    def write(self, frame: np.ndarray, spec: PreprocessSpec, full: np.ndarray, half: np.ndarray) -> None:
        preprocess(frame, spec, full, half, num_threads=self.num_threads)

    def upload(self, full: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.ascontiguousarray(full, np.float32), np.ascontiguousarray(half, np.float32)

    def synchronize(self) -> None:
        pass


class InputBatch:
    """The inputs of up to `limit` frames of one size, written in place one frame after the other."""

    def __init__(self, full: Any, half: Any, frame_shapes: tuple[Shape, Shape]):
        self.full, self.half = full, half
        #: (full, half) shapes of one frame's inputs
        self.frame_shapes = frame_shapes
        self.views = frame_shapes[0][0]
        self.capacity = full.shape[0] // self.views
        self.limit = self.capacity
        self.count = 0

    @property
    def is_full(self) -> bool:
        return self.count >= self.limit

    def next_slot(self) -> tuple[Any, Any]:
        """(full, half) rows of the next frame; `commit` once it is written."""
        if self.is_full:
            raise ValueError(f"the batch holds its {self.limit} frames already")
        rows = slice(self.count * self.views, (self.count + 1) * self.views)
        return self.full[rows], self.half[rows]

    def commit(self) -> None:
        self.count += 1

    def filled(self) -> tuple[Any, Any]:
        """(full, half) of the frames written so far: what the backend runs."""
        rows = slice(0, self.count * self.views)
        return self.full[rows], self.half[rows]


class InputPool:
    """Batches of one backend's `Inputs`, reused once the backend has run them."""

    #: batches kept for reuse: those in flight in the video pipeline (its queue depth, one being
    #: filled, one running)
    KEEP = 4

    def __init__(self, inputs: Inputs):
        self.inputs = inputs
        self._free: list[InputBatch] = []
        self._lock = threading.Lock()

    def acquire(self, frames: int, full_shape: Shape, half_shape: Shape) -> InputBatch:
        """An empty batch for `frames` frames with these per-frame input shapes."""
        shapes = (tuple(full_shape), tuple(half_shape))
        with self._lock:
            batch = next((b for b in self._free if b.frame_shapes == shapes and b.capacity >= frames), None)
            if batch is not None:
                self._free.remove(batch)
        if batch is None:
            views = shapes[0][0]
            batch = InputBatch(
                self.inputs.empty((frames * views, *shapes[0][1:])),
                self.inputs.empty((frames * views, *shapes[1][1:])),
                shapes,
            )
        batch.count, batch.limit = 0, frames
        return batch

    def release(self, batch: InputBatch, ran: bool) -> None:
        """Take `batch` back; one that did not run may have writes in flight, which are waited for first."""
        if not ran:
            self.inputs.synchronize()
        with self._lock:
            # Frames change size rarely (a new video): batches of another size are dropped.
            self._free = [b for b in self._free if b.frame_shapes == batch.frame_shapes][-(self.KEEP - 1) :]
            self._free.append(batch)
