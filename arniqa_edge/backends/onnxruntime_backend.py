"""onnxruntime backend: runs the two-scale graph of `python -m export.onnx` (no torch needed).

FP32, FP16 and INT8 (Q/DQ) files run alike: precision is a property of the file,
and inputs and outputs are float32 in all three. Its inputs are host arrays
written by the C++ preprocessing (`HostInputs`), on the CPU and with the CUDA
provider alike (onnxruntime copies them to the GPU itself).

On a CPU the precision matters for speed: TensorRT's INT8 layout and FP16 run
3-5x slower than FP32 on the CPU provider, a `--target cpu` INT8 export about
3x faster. `pick_onnx_file` makes "auto" take the fast one among the exports
lying beside each other (`<stem>.int8.onnx` when made for the CPU, else
`<stem>.onnx`); a file named with --backend onnxruntime runs as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import WeightsError
from ..models.registry import ModelConfig
from .base import Backend
from .inputs import HostInputs
from .model_metadata import ExportedModelInfo, recorded_weights_sha256
from .onnx_props import read_onnx_metadata
from .onnxruntime_session import OnnxRuntimeGraph, load_session, session_options

log = logging.getLogger(__name__)

#: Half-scale input fed when only the full scale is wanted (`encode`): the backbones' smallest input.
MIN_HALF_SIDE = 32
#: CPU calls fed more pixels than this (both scales; a 4 MP photo) run on a second session without
#: onnxruntime's memory arena. The arena keeps more than the activations (a 12 MP photo peaks 2.4 GiB
#: above the loaded model with it, 1.9 GiB without: benchmarks/results/memory-*.md) but saves its
#: calls the page faults of fresh memory: 720p and 1080p frames run about 30% faster with it, so
#: smaller calls (video) keep it. memory.estimate_call_bytes follows the same threshold.
ARENA_MAX_INPUT_PIXELS = 5_000_000


def runs_fast_on_cpu(info: ExportedModelInfo) -> bool:
    """FP32, or INT8 laid out for the CPU: what onnxruntime's CPU provider runs at least as fast as FP32."""
    return info.precision == "fp32" or (info.precision == "int8" and info.target == "cpu")


def pick_onnx_file(candidates: Sequence[Path], device_kind: str | None, named: Path | None) -> Path | None:
    """Among the .onnx forms of a model found for "auto": on a CPU the fastest correct one, never a slower
    precision (a CPU-target INT8 export, else the FP32 one; None when only GPU precisions lie there);
    elsewhere the file named, else `<stem>.onnx`."""
    if device_kind != "cpu":
        return named if named in candidates else min(candidates, key=lambda p: len(p.name))  # <stem>.onnx
    ranked = []
    for path in candidates:
        try:
            info = ExportedModelInfo.from_props(read_onnx_metadata(path), str(path))
        except WeightsError:
            if path == named:
                return path  # let the backend say what is wrong with the file asked for
            continue
        if runs_fast_on_cpu(info):
            ranked.append((info.precision != "int8", path != named, path))
    return min(ranked)[2] if ranked else None


def onnx_source_sha256(path: Path) -> str | None:
    """The weights an export says it was made from (None for files exported before it was recorded)."""
    return recorded_weights_sha256(read_onnx_metadata(path))


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    def __init__(self, config: ModelConfig, weights, device: str = "auto", num_threads: int = 0):
        path = Path(weights)
        if path.suffix != ".onnx":
            raise WeightsError(
                f"backend 'onnxruntime' runs an exported .onnx file, not {path.name}; export it first:\n"
                f"  python -m export.onnx --model {config.name} --weights {path} -o {path.with_suffix('.onnx')}\n"
                "(or use --backend torch for .safetensors/.pth weights)"
            )
        if not path.is_file():
            raise WeightsError(f"ONNX file not found: {path}")
        # The metadata first: a mismatched file is refused before any session is made.
        self.info = ExportedModelInfo.from_props(read_onnx_metadata(path), str(path))
        self.info.check_fits(config, str(path))
        self.graph = OnnxRuntimeGraph(path, device, num_threads, self.info.precision)
        _check_graph(self.graph.session, config, path)
        self._device = self.graph.device
        if self._device == "cpu" and not runs_fast_on_cpu(self.info):
            # Measured on x86: TensorRT's Q/DQ layout and FP16 run 3-5x slower than FP32 on this provider.
            log.warning(
                "%s is a %s export for GPUs; onnxruntime runs it on the CPU slower than the FP32 export. "
                "For a CPU, use the FP32 graph or python -m export.quantize --precision int8 --target cpu",
                path.name,
                self.info.precision,
            )
        self.path, self._config, self.num_threads = path, config, num_threads
        self.precision = self.info.precision
        self.inputs = HostInputs(num_threads)
        self._session_without_arena = None

    @property
    def session(self):
        return self.graph.session

    @property
    def device(self) -> str:
        return self._device

    @property
    def feature_dim(self) -> int:
        return self._config.feature_dim

    def describe(self) -> str:
        target = f" for {self.info.target}" if self.info.target != "any" else ""
        return f"onnxruntime {self.info.precision}{target} on {self._device} ({self.graph.provider})"

    def _run(self, full: np.ndarray, half: np.ndarray) -> np.ndarray:
        full, half = self._checked(full, "full"), self._checked(half, "half")
        # On a CPU onnxruntime reads the C-contiguous inputs in place; with a GPU provider it copies them over.
        session = self._cpu_session(full.size + half.size) if self._device == "cpu" else None
        return self.graph.run({"full": full, "half": half}, ["features"], session)[0]

    def _cpu_session(self, input_values: int):
        """The session for a CPU call of this many input values: without the memory arena for large ones."""
        if input_values // 3 <= ARENA_MAX_INPUT_PIXELS:
            return self.session
        if self._session_without_arena is None:
            options = session_options(self.num_threads)
            options.enable_cpu_mem_arena = False
            self._session_without_arena = load_session(self.path, options)
        return self._session_without_arena

    def encode(self, batch: np.ndarray) -> np.ndarray:
        """Full-scale features only: the graph always takes both scales, so the smallest half is fed."""
        side = self.info.inputs.height or MIN_HALF_SIDE
        half = np.zeros((batch.shape[0], 3, side, self.info.inputs.width or MIN_HALF_SIDE), np.float32)
        return self.encode_pair(batch, half)[:, : self.feature_dim]

    def _checked(self, batch: np.ndarray, name: str) -> np.ndarray:
        if batch.ndim != 4 or batch.shape[1] != 3:
            raise ValueError(f"expected a (N, 3, H, W) {name} batch, got shape {batch.shape}")
        spec = self.info.inputs
        if not spec.dynamic_size and batch.shape[2:] != (spec.height, spec.width):
            raise ValueError(
                f"{self.path.name} takes {spec.height}x{spec.width} inputs (exported with "
                f"--image-size), got {batch.shape[2]}x{batch.shape[3]}: use the crop protocol it "
                "was exported for, or export without --image-size"
            )
        return np.ascontiguousarray(batch, dtype=np.float32)


def _check_graph(session, config: ModelConfig, path: Path) -> None:
    """Refuse a graph whose inputs or features do not match its metadata (a hand-edited or foreign file)."""
    inputs = {node.name for node in session.get_inputs()}
    outputs = {node.name: node.shape for node in session.get_outputs()}
    if not {"full", "half"} <= inputs or "features" not in outputs:
        raise WeightsError(
            f"{path}: the graph takes {sorted(inputs)} and gives {sorted(outputs)}, not the inputs "
            "full and half and the output features of `python -m export.onnx`; re-export it"
        )
    width = outputs["features"][-1] if outputs["features"] else None
    if isinstance(width, int) and width != 2 * config.feature_dim:
        raise WeightsError(
            f"{path}: the graph gives {width} features per image, but {config.name} has "
            f"{2 * config.feature_dim} (2 x {config.feature_dim}); re-export it for {config.name}"
        )
