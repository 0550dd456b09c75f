"""The built-in backends: one registration per backend and kind of model (see `registry`).

Fastest first (the order "auto" tries them on a device): tensorrt, onnxruntime, torch.
Factories are named as "module:attribute" so that registering imports no runtime.
"""

from __future__ import annotations

from pathlib import Path

from .engine_sidecar import EngineSidecar
from .model_metadata import recorded_weights_sha256
from .onnxruntime_backend import onnx_source_sha256, pick_onnx_file
from .onnxruntime_session import INSTALL_HINT as ONNXRUNTIME_HINT
from .onnxruntime_session import onnxruntime_usable
from .registry import register_backend
from .tensorrt_backend import INSTALL_HINT as TENSORRT_HINT
from .tensorrt_backend import tensorrt_usable
from .torch_backend import INSTALL_HINT as TORCH_HINT
from .torch_backend import torch_source_sha256, torch_usable


def engine_source_sha256(path: Path) -> str | None:
    """The weights the ONNX of an engine was exported from, as its sidecar records them."""
    return recorded_weights_sha256(EngineSidecar.read(path).onnx_metadata)


ENCODER = "arniqa_edge.backends"
CVRKD = "arniqa_edge.cvrkd"

# -- no-reference encoders (Backend) ---------------------------------------------------------------
register_backend(
    "tensorrt",
    (".engine", ".plan"),
    ("cuda",),
    tensorrt_usable,
    f"{ENCODER}.tensorrt_backend:TensorRTBackend",
    install_hint=TENSORRT_HINT,
    file_hint="an engine <stem>.engine (python -m export.trt)",
    source_sha256=engine_source_sha256,
)
register_backend(
    "onnxruntime",
    (".int8.onnx", ".fp16.onnx", ".onnx"),
    ("cuda", "cpu"),
    onnxruntime_usable,
    f"{ENCODER}.onnxruntime_backend:OnnxRuntimeBackend",
    install_hint=ONNXRUNTIME_HINT,
    file_hint="an export <stem>.onnx or <stem>.int8.onnx (python -m export.onnx, export.quantize)",
    pick=pick_onnx_file,
    source_sha256=onnx_source_sha256,
)
register_backend(
    "torch",
    (".safetensors", ".pth", ".pt"),
    ("cuda", "cpu"),
    torch_usable,
    f"{ENCODER}.torch_backend:TorchBackend",
    install_hint=TORCH_HINT,
    file_hint="weights <stem>.safetensors (or the paper's .pth)",
    source_sha256=torch_source_sha256,
)

# -- CVRKD networks (arniqa_edge.cvrkd.engine.CVRKDEngine) -----------------------------------------
register_backend(
    "tensorrt",
    (".maps.engine", ".score.engine"),
    ("cuda",),
    tensorrt_usable,
    f"{CVRKD}.graph_engine:open_tensorrt_graphs",
    kind="cvrkd",
    install_hint=TENSORRT_HINT,
    file_hint="engines <stem>.maps.engine + <stem>.score.engine (python -m export.trt)",
    source_sha256=engine_source_sha256,
)
register_backend(
    "onnxruntime",
    (".maps.onnx", ".score.onnx"),
    ("cuda", "cpu"),
    onnxruntime_usable,
    f"{CVRKD}.graph_engine:open_onnxruntime_graphs",
    kind="cvrkd",
    install_hint=ONNXRUNTIME_HINT,
    file_hint="graphs <stem>.maps.onnx + <stem>.score.onnx (python -m export.cvrkd)",
    source_sha256=onnx_source_sha256,
)
register_backend(
    "torch",
    (".safetensors",),
    ("cuda", "cpu"),
    torch_usable,
    f"{CVRKD}.torch_engine:TorchEngine",
    kind="cvrkd",
    install_hint=TORCH_HINT,
    file_hint="weights <stem>.safetensors (python -m training.cvrkd.train)",
    source_sha256=torch_source_sha256,
)
