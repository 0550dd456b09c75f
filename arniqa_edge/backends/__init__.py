"""Inference backends behind one `Backend` interface, and the choice among them.

Each backend reads one kind of file: torch the weights (.safetensors, or the
official .pth), onnxruntime an export (.onnx), tensorrt an engine (.engine or
.plan). The exported forms of an encoder may lie beside its weights under the
same stem (lite0.safetensors, lite0.onnx, lite0.engine): "auto" then picks the
fastest backend that is installed and has its file, in this order:
tensorrt (GPU) > onnxruntime on CUDA/TensorRT > torch on CUDA > onnxruntime on
CPU > torch on CPU; it logs the choice.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from ..errors import BackendUnavailableError, WeightsError
from ..models.registry import ModelConfig
from .base import Backend

log = logging.getLogger(__name__)

#: Names accepted by `create_backend` and the CLIs' --backend.
BACKEND_NAMES = ("auto", "tensorrt", "onnxruntime", "torch")

#: The files each backend reads.
FILE_SUFFIXES = {
    "tensorrt": (".engine", ".plan"),
    "onnxruntime": (".onnx",),
    "torch": (".safetensors", ".pth", ".pt"),
}


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None and importlib.util.find_spec("timm") is not None


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def _torch_cuda() -> bool:
    if not torch_available():
        return False
    import torch

    return torch.cuda.is_available()


def _onnxruntime_gpu() -> bool:
    from .onnxruntime_backend import gpu_providers_available

    return onnxruntime_available() and gpu_providers_available()


def _tensorrt_usable() -> bool:
    from .tensorrt_backend import tensorrt_usable

    return tensorrt_usable()


def available_backends() -> list[str]:
    """Installed backends, fastest first (whether a file for them exists is not checked)."""
    checks = (("tensorrt", _tensorrt_usable), ("onnxruntime", onnxruntime_available), ("torch", torch_available))
    return [name for name, ok in checks if ok()]


def backend_file(name: str, weights) -> Path | None:
    """The file backend `name` reads: `weights` itself if it has the right suffix, else a sibling of the same stem."""
    weights = Path(weights)
    suffixes = FILE_SUFFIXES[name]
    if weights.suffix in suffixes:
        return weights
    return next((sibling for suffix in suffixes if (sibling := weights.with_suffix(suffix)).is_file()), None)


#: (backend, device, usable) in the order "auto" tries them, fastest first; the reference scorer
#: (arniqa_edge.reference) follows the same order over the backends it has.
AUTO_ORDER = (
    ("tensorrt", "cuda", _tensorrt_usable),
    ("onnxruntime", "cuda", _onnxruntime_gpu),
    ("torch", "cuda", _torch_cuda),
    ("onnxruntime", "cpu", onnxruntime_available),
    ("torch", "cpu", torch_available),
)


def _auto(config: ModelConfig, weights, device: str, num_threads: int) -> Backend:
    for name, runs_on, usable in AUTO_ORDER:
        if device != "auto" and not device.startswith(runs_on):
            continue
        path = backend_file(name, weights)
        if path is not None and (path.is_file() or name == "torch") and usable():
            backend = create_backend(name, config, path, device if device != "auto" else runs_on, num_threads)
            log.info("backend auto: using %s", backend.describe())
            return backend
    if device != "auto":
        # Nothing runs on the device asked for: let a backend that has its file say why (e.g. no GPU).
        for name, _, usable in AUTO_ORDER[3:]:
            path = backend_file(name, weights)
            if path is not None and usable():
                return create_backend(name, config, path, device, num_threads)
    installed = available_backends()
    if not installed:
        raise BackendUnavailableError(
            "no inference backend is installed: pip install 'arniqa-edge[cpu]' (onnxruntime), "
            "'arniqa-edge[gpu]' (onnxruntime-gpu) or 'arniqa-edge[torch]'")
    raise BackendUnavailableError(
        f"no inference backend is installed that runs {Path(weights).name} on device {device!r} "
        f"(installed: {', '.join(installed)}). onnxruntime needs an .onnx export (python -m export.onnx), "
        "tensorrt an engine (python -m export.trt), torch needs pip install 'arniqa-edge[torch]'")


def create_backend(name: str, config: ModelConfig, weights, device: str = "auto", num_threads: int = 0) -> Backend:
    """Build a backend by name; "auto" takes the fastest one installed and logs which."""
    if name not in BACKEND_NAMES:
        raise BackendUnavailableError(f"unknown backend {name!r}; choose from {', '.join(BACKEND_NAMES)}")
    if name == "auto":
        return _auto(config, weights, device, num_threads)
    path = backend_file(name, weights)
    if path is None:
        raise WeightsError(f"backend {name!r} reads {' or '.join(FILE_SUFFIXES[name])} files; {weights} is none, "
                           f"and no such file lies beside it")
    if name == "torch":
        if not torch_available():
            raise BackendUnavailableError("backend 'torch' needs torch and timm: pip install 'arniqa-edge[torch]'")
        from .torch_backend import TorchBackend

        return TorchBackend(config, path, device=device, num_threads=num_threads)
    if name == "onnxruntime":
        if not onnxruntime_available():
            raise BackendUnavailableError("backend 'onnxruntime' needs onnxruntime: pip install 'arniqa-edge[cpu]' "
                                          "('arniqa-edge[gpu]' for CUDA/TensorRT)")
        from .onnxruntime_backend import OnnxRuntimeBackend

        return OnnxRuntimeBackend(config, path, device=device, num_threads=num_threads)
    if name == "tensorrt":
        from .tensorrt_backend import TensorRTBackend

        return TensorRTBackend(config, path, device=device, num_threads=num_threads)
    raise AssertionError(name)


__all__ = ["AUTO_ORDER", "BACKEND_NAMES", "Backend", "available_backends", "backend_file", "create_backend"]
