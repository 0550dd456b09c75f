"""The torch engine of `ReferenceScorer`: the CVRKD network from its `.safetensors` (CPU or CUDA)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..backends.torch_backend import resolve_torch_device
from .engine import CVRKDEngine
from .weights import load_cvrkd


class TorchEngine(CVRKDEngine):
    name = "torch"

    def __init__(self, weights: Path, device: str = "auto", num_threads: int = 0):
        self._device = torch.device(resolve_torch_device(device))
        if num_threads > 0:
            torch.set_num_threads(num_threads)
        self.net, self.metadata = load_cvrkd(weights)
        self.net.to(self._device)
        self.config = self.net.config
        self.role = self.metadata["role"]

    @property
    def device(self) -> str:
        return str(self._device)

    def level_maps(self, crops: np.ndarray) -> torch.Tensor:
        with torch.inference_mode():
            return self.net.level_maps(torch.from_numpy(crops).to(self._device))

    def score_maps(self, lq_maps: torch.Tensor, ref_maps: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            raw = self.net.score_maps(lq_maps.expand(ref_maps.shape[0], -1, -1, -1), ref_maps).score
        return raw.float().cpu().numpy()
