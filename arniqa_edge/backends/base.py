"""The one interface every encoder backend implements: it prepares its own inputs and runs them.

    batch = backend.new_batch(frames, *output_shapes(height, width, spec))
    backend.prepare(frame, spec, batch)      # per frame: preprocessed into its rows of the batch
    features = backend.run(batch)            # (frames * views, 2 * feature_dim), host float32

Where the inputs live and what writes them is the backend's `inputs`
(`inputs.HostInputs` on a CPU; `cuda_inputs.CudaInputs` for torch on CUDA and
TensorRT, which preprocess on the GPU straight into the tensors the model reads).
A subclass sets `inputs` and implements `_run` on those arrays.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ..preprocess import PreprocessSpec, output_shapes
from .inputs import HostInputs, InputBatch, InputPool, Inputs


class Backend(ABC):
    """Runs the encoder: frames -> L2-normalised features of both scales, concatenated."""

    #: short name: "torch", "onnxruntime", "tensorrt"
    name: str = ""
    #: what the model computes in: "fp32", "fp16", "int8"
    precision: str = "fp32"

    @property
    @abstractmethod
    def device(self) -> str:
        """Where it runs, e.g. "cpu", "cuda:0"."""

    @property
    @abstractmethod
    def feature_dim(self) -> int:
        """Features per image and scale."""

    #: where the inputs live and what writes frames into them; backends set their own
    #: (host memory and all cores by default)
    inputs: Inputs = HostInputs()

    @property
    def _pool(self) -> InputPool:
        pool = self.__dict__.get("_input_pool")
        if pool is None or pool.inputs is not self.inputs:
            pool = self.__dict__["_input_pool"] = InputPool(self.inputs)
        return pool

    def new_batch(self, frames: int, full_shape, half_shape) -> InputBatch:
        """An empty batch for `frames` frames whose inputs have these (per frame) shapes."""
        return self._pool.acquire(frames, full_shape, half_shape)

    def prepare(self, frame: Any, spec: PreprocessSpec, batch: InputBatch | None = None) -> InputBatch:
        """Preprocess one uint8 (H, W, 3) frame into the next rows of `batch` (a new batch of one if None)."""
        if batch is None:
            batch = self.new_batch(1, *output_shapes(frame.shape[0], frame.shape[1], spec))
        full, half = batch.next_slot()
        self.inputs.write(frame, spec, full, half)
        batch.commit()
        return batch

    def run(self, batch: InputBatch) -> np.ndarray:
        """Features of the frames of `batch`: (frames * views, 2 * feature_dim); the batch goes back to the pool."""
        ran = False
        try:
            features = self._run(*batch.filled())
            ran = True
            return features
        finally:
            self._pool.release(batch, ran=ran)

    def discard(self, batch: InputBatch) -> None:
        """Give back a batch that will not run (its frames failed, or the stream was closed)."""
        self._pool.release(batch, ran=False)

    def encode_pair(self, full: np.ndarray, half: np.ndarray) -> np.ndarray:
        """Host float32 inputs of N views (preprocessed by the caller) -> (N, 2 * feature_dim)."""
        if full.shape[0] != half.shape[0]:
            raise ValueError(f"full and half scale batches differ: {full.shape[0]} vs {half.shape[0]}")
        return self._run(*self.inputs.upload(full, half))

    @abstractmethod
    def _run(self, full: Any, half: Any) -> np.ndarray:
        """Both scales of N views, arrays of `inputs` -> (N, 2 * feature_dim) host float32, L2-normalised halves."""

    def describe(self) -> str:
        return f"{self.name} on {self.device}"
