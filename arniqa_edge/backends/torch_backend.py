"""PyTorch backend (CPU or CUDA): the reference every other backend is checked against."""

from __future__ import annotations

import logging

import numpy as np

from ..errors import BackendUnavailableError
from ..models.registry import ModelConfig
from .base import Backend

log = logging.getLogger(__name__)


def resolve_torch_device(device: str) -> str:
    """"auto" -> cuda when torch sees a GPU, else cpu; an explicit cuda without a GPU is an error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BackendUnavailableError(
            f"device {device!r} was asked for, but torch {torch.__version__} sees no CUDA GPU "
            f"(torch.version.cuda={torch.version.cuda}); use --device cpu or auto")
    if not (device == "cpu" or device.startswith("cuda")):
        raise BackendUnavailableError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")
    return device


class TorchBackend(Backend):
    name = "torch"

    def __init__(self, config: ModelConfig, weights, device: str = "auto", num_threads: int = 0):
        import torch

        from ..models.encoder import load_encoder

        self._torch = torch
        self._device = torch.device(resolve_torch_device(device))
        if num_threads > 0:
            torch.set_num_threads(num_threads)
        self._config = config
        # channels_last: cuDNN's fast path on GPUs and oneDNN's on CPUs (about 1.8x for lite0's
        # depthwise convolutions at 720p on a 2-core x86 CPU).
        self.model = load_encoder(config, weights).to(self._device).eval().to(memory_format=torch.channels_last)

    @property
    def device(self) -> str:
        return str(self._device)

    @property
    def feature_dim(self) -> int:
        return self._config.feature_dim

    def encode(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        if batch.ndim != 4 or batch.shape[1] != 3:
            raise ValueError(f"expected a (N, 3, H, W) batch, got shape {batch.shape}")
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
            if self._device.type == "cuda":
                x = x.pin_memory().to(self._device, non_blocking=True)
            return self.model(x.contiguous(memory_format=torch.channels_last)).float().cpu().numpy()
