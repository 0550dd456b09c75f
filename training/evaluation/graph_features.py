"""Whole-image features of a proxy set through onnxruntime, for any read-out of a backbone.

Evaluations compare several read-outs of an encoder: ARNIQA's (pooled last layer of
both scales, `export.graph.PairEncoder`) and the multi-level statistics of a frozen
backbone (`StageStatistics`). Each is exported once to ONNX and run with
onnxruntime on the runtime's own preprocessing: about four times faster than torch
eager on a CPU, and exactly what a deployment computes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from arniqa_edge.models.registry import ModelConfig
from arniqa_edge.preprocess import PreprocessSpec, preprocess

from ..photos import read_bgr


class StageStatistics(nn.Module):
    """(full, half) -> per block stage, the channel mean and std of its output map, at both scales.

    Each (stage, scale) block of 2C values is L2-normalised, so that no stage dominates
    a ridge regressor by its scale alone.
    """

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.stem = nn.Sequential(backbone.conv_stem, backbone.bn1)
        self.stages = backbone.blocks

    def describe(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(images)
        out = []
        for stage in self.stages:
            x = stage(x)
            mean = x.mean(dim=(2, 3))
            std = (x - mean[:, :, None, None]).pow(2).mean(dim=(2, 3)).clamp_min(1e-12).sqrt()
            out.append(F.normalize(torch.cat([mean, std], dim=1), dim=1))
        return out

    def forward(self, full: torch.Tensor, half: torch.Tensor) -> torch.Tensor:
        return torch.cat([*self.describe(full), *self.describe(half)], dim=1)


def export_readout(module: nn.Module, path: Path) -> Path:
    """Export a (full, half) -> features module with dynamic batch and size (once per path)."""
    from export.onnx import DEFAULT_OPSET, example_inputs, export_torchscript

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        export_torchscript(module.eval(), example_inputs(None), temporary, ("features",), None, DEFAULT_OPSET)
        temporary.replace(path)
    return path


def weights_tag(path: Path) -> str:
    """A short content hash that names a weights file's exports and feature caches."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


class GraphFeaturizer:
    """Image paths -> (N, 1, D) whole-image features of one exported read-out, cached per set."""

    def __init__(self, graph: Path, config: ModelConfig, cache: Path | None = None, batch_size: int = 8):
        import onnxruntime as ort

        self.graph = Path(graph)
        self.session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
        self.spec = PreprocessSpec(crop="whole", crop_size=config.crop_size, mean=config.mean, std=config.std)
        self.cache = cache
        self.batch_size = batch_size

    def _run(self, batch: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        full = np.concatenate([item[0] for item in batch])
        half = np.concatenate([item[1] for item in batch])
        return self.session.run(None, {"full": full, "half": half})[0]

    def __call__(self, paths: Sequence[Path], name: str = "") -> np.ndarray:
        cache = self.cache / f"{self.graph.stem}-{name}.npy" if self.cache is not None and name else None
        if cache is not None and cache.exists():
            features = np.load(cache)
            if len(features) == len(paths):
                return features
        out, pending = [], []
        for path in tqdm(
            paths, desc=f"features {self.graph.stem} {name}".strip(), unit="img", disable=None, leave=False
        ):
            inputs = preprocess(read_bgr(path), self.spec)
            if pending and (pending[0][0].shape != inputs[0].shape or len(pending) >= self.batch_size):
                out.append(self._run(pending))
                pending = []
            pending.append(inputs)
        if pending:
            out.append(self._run(pending))
        features = np.concatenate(out)[:, None, :]
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, features)
        return features
