"""The backend layer of both scorers: a registry of backends, one selection policy, and the encoder backends.

Each backend reads one form of a model: torch the weights (.safetensors, or the
official .pth), onnxruntime an export (.onnx), tensorrt an engine (.engine).
The forms of a model may lie beside each other under one stem (lite0.safetensors,
lite0.onnx, lite0.int8.onnx, lite0.engine): "auto" picks the fastest backend that
runs here and has its form, in this order: tensorrt (GPU) > onnxruntime on
CUDA/TensorRT > torch on CUDA > onnxruntime on CPU > torch on CPU, and logs the
backend, device, file and precision it took (`selection`). No-reference scoring
opens encoders here (`create_backend`); CVRKD scoring opens its networks through
the same registry and policy (`arniqa_edge.cvrkd.engine.open_engine`).

- `registry`: `register_backend(name, suffixes, devices, probe, factory)`; `builtin`: ours;
- `selection`: the policy; `files`: a model's forms under one stem;
- `base.Backend`: the encoder interface, which prepares its own inputs (`inputs`,
  `cuda_inputs`) and runs them;
- `model_metadata`, `onnx_props`, `engine_sidecar`: what an export says about itself.
"""

from __future__ import annotations

import os

from ..models.registry import ModelConfig
from . import builtin  # noqa: F401 - registers the built-in backends
from .base import Backend
from .registry import BackendEntry, backend_names, entries, register_backend, unregister_backend
from .selection import Choice, open_model

#: Names accepted by `create_backend` and the CLIs' --backend.
BACKEND_NAMES = backend_names()


def available_backends(kind: str = "encoder") -> list[str]:
    """Backends that run here on some device, fastest first (whether a file for them exists is not checked)."""
    return [entry.name for entry in entries(kind) if entry.installed()]


def create_backend(
    name: str, config: ModelConfig, weights: str | os.PathLike, device: str = "auto", num_threads: int = 0
) -> Backend:
    """The encoder backend `name` for `weights`; "auto" takes the fastest that runs here and logs which."""

    def build(choice: Choice) -> Backend:
        return choice.entry.build(config, choice.path, device=choice.device, num_threads=num_threads)

    return open_model("encoder", weights, name, device, build)


__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "BackendEntry",
    "Choice",
    "available_backends",
    "create_backend",
    "open_model",
    "register_backend",
    "unregister_backend",
]
