"""PyTorch backend (CPU or CUDA): the reference every other backend is checked against.

On a CPU its inputs are host arrays written by the C++ preprocessing, read by
torch without a copy. On CUDA they are device tensors: each uint8 frame goes up
once through pinned staging and `preprocess_cuda` writes both scales into them
on the backend's stream (`TorchCudaInputs`), which then runs the model.
"""

from __future__ import annotations

import importlib.util
import logging

import numpy as np

from ..errors import BackendUnavailableError
from ..models.registry import ModelConfig
from .base import Backend
from .cuda_inputs import CudaInputs
from .devices import nvidia_gpu_present
from .files import file_sha256
from .inputs import HostInputs

log = logging.getLogger(__name__)

INSTALL_HINT = "backend 'torch' needs torch and timm: pip install 'arniqa-edge[torch]'"


def torch_usable(device_kind: str = "cpu") -> bool:
    """torch and timm are installed, and for "cuda" torch sees a GPU (torch is imported only then)."""
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("timm") is None:
        return False
    if device_kind == "cpu":
        return True
    if not nvidia_gpu_present():  # no driver: no need to import torch to learn that it sees no GPU
        return False
    import torch

    return torch.cuda.is_available()


def torch_source_sha256(path) -> str:
    """Weights are their own source: exports made from them record this sha256."""
    return file_sha256(path)


def resolve_torch_device(device: str) -> str:
    """ "auto" -> cuda when torch sees a GPU, else cpu; an explicit cuda without a GPU is an error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BackendUnavailableError(
            f"device {device!r} was asked for, but torch {torch.__version__} sees no CUDA GPU "
            f"(torch.version.cuda={torch.version.cuda}); use --device cpu or auto"
        )
    if not (device == "cpu" or device.startswith("cuda")):
        raise BackendUnavailableError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")
    return device


class TorchCudaInputs(CudaInputs):
    """Device tensors on one GPU and the backend's torch stream."""

    def __init__(self, torch, device):
        super().__init__()
        self._torch, self.device = torch, device
        self.cuda = torch.cuda.Stream(device)

    @property
    def stream(self):
        return self.cuda

    def empty(self, shape):
        with self._torch.cuda.stream(self.cuda):  # allocated for (and freed after) this stream's work
            return self._torch.empty(shape, dtype=self._torch.float32, device=self.device)

    def upload(self, full: np.ndarray, half: np.ndarray):
        torch = self._torch
        with torch.cuda.stream(self.cuda):
            return tuple(
                torch.from_numpy(np.ascontiguousarray(a, np.float32)).pin_memory().to(self.device, non_blocking=True)
                for a in (full, half)
            )

    def synchronize(self) -> None:
        self.cuda.synchronize()

    def _pinned(self, nbytes: int) -> np.ndarray:
        return self._torch.empty(nbytes, dtype=self._torch.uint8, pin_memory=True).numpy()

    def _event(self):
        return self._torch.cuda.Event()

    def _record(self, event) -> None:
        event.record(self.cuda)

    def _wait(self, event) -> None:
        event.synchronize()


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
        self.num_threads = num_threads
        # channels_last: cuDNN's fast path on GPUs and oneDNN's on CPUs (about 1.8x for lite0's
        # depthwise convolutions at 720p on a 2-core x86 CPU).
        self.model = load_encoder(config, weights).to(self._device).eval().to(memory_format=torch.channels_last)
        self.inputs = HostInputs(num_threads) if self._device.type == "cpu" else TorchCudaInputs(torch, self._device)

    @property
    def device(self) -> str:
        return str(self._device)

    @property
    def feature_dim(self) -> int:
        return self._config.feature_dim

    def _run(self, full, half) -> np.ndarray:
        return np.concatenate([self._features(full), self._features(half)], axis=1)

    def _features(self, batch) -> np.ndarray:
        """(N, 3, H, W) inputs (a host array on the CPU, a device tensor on CUDA) -> host (N, F) features."""
        torch = self._torch
        if batch.ndim != 4 or batch.shape[1] != 3:
            raise ValueError(f"expected a (N, 3, H, W) batch, got shape {tuple(batch.shape)}")
        with torch.inference_mode():
            if self._device.type == "cpu":
                features = self.model(torch.from_numpy(batch).contiguous(memory_format=torch.channels_last))
                return features.float().numpy()
            with torch.cuda.stream(self.inputs.cuda):  # after the preprocessing enqueued on it
                features = self.model(batch.contiguous(memory_format=torch.channels_last)).float()
                host = features.to("cpu", non_blocking=True)
            self.inputs.synchronize()
            return host.numpy()
