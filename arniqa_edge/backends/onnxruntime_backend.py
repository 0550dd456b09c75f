"""onnxruntime backend: runs the two-scale graph of `python -m export.onnx` (no torch needed).

The CPU execution provider always; the CUDA and TensorRT providers when the
installed onnxruntime has them (onnxruntime-gpu) and a device other than "cpu"
is asked for. FP32, FP16 and INT8 (Q/DQ) files run alike: precision is a
property of the file, and inputs and outputs are float32 in all three.

Every session logs the providers it actually runs on (info). A GPU machine can
end up on the CPU provider without asking for it; each way is a warning:
the CPU-only package `onnxruntime` on a machine with an NVIDIA GPU, both
`onnxruntime` and `onnxruntime-gpu` installed (they ship the same module, so the
files of whichever was installed last are in use), and a CUDA provider that
onnxruntime lists but cannot start (missing CUDA/cuDNN libraries), after which
onnxruntime itself falls back to the CPU.
"""

from __future__ import annotations

import importlib.metadata
import logging
import shutil
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import BackendUnavailableError, WeightsError
from ..models.registry import ModelConfig
from .base import Backend
from .model_metadata import ExportedModelInfo

log = logging.getLogger(__name__)

GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
#: Half-scale input fed when only the full scale is wanted (`encode`): the backbones' smallest input.
MIN_HALF_SIDE = 32
#: CPU calls fed more pixels than this (both scales; a 4 MP photo) run on a second session without
#: onnxruntime's memory arena. The arena keeps more than the activations (a 12 MP photo peaks 2.4 GiB
#: above the loaded model with it, 1.9 GiB without: benchmarks/results/memory-*.md) but saves its
#: calls the page faults of fresh memory: 720p and 1080p frames run about 30% faster with it, so
#: smaller calls (video) keep it. memory.estimate_call_bytes follows the same threshold.
ARENA_MAX_INPUT_PIXELS = 5_000_000


#: Packages that install the module `onnxruntime`. Two of them in one environment overwrite each
#: other's files: the last one installed wins, whatever pip lists.
ORT_DISTRIBUTIONS = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml", "onnxruntime-openvino",
                     "onnxruntime-qnn", "onnxruntime-training", "ort-nightly", "ort-nightly-gpu")
GPU_INSTALL_HINT = ("for the GPU, keep onnxruntime-gpu alone: pip uninstall -y onnxruntime onnxruntime-gpu && "
                    "pip install onnxruntime-gpu (arniqa-edge's [gpu] extra, instead of [cpu])")


@lru_cache(maxsize=None)
def installed_distributions() -> tuple[str, ...]:
    """The installed packages that provide the module onnxruntime, as "name version"."""
    found = []
    for name in ORT_DISTRIBUTIONS:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return tuple(found)


def describe_installation() -> str:
    """The package behind the module, e.g. "onnxruntime-gpu 1.19.2" (all of them when several are installed)."""
    import onnxruntime as ort

    return " + ".join(installed_distributions()) or f"onnxruntime {ort.__version__}"


def nvidia_gpu_present() -> bool:
    """Whether the machine shows an NVIDIA GPU, read without CUDA or torch (driver files; Jetson's L4T)."""
    if sys.platform.startswith("linux"):
        gpus = Path("/proc/driver/nvidia/gpus")
        if gpus.is_dir() and any(gpus.iterdir()):
            return True
        return any(Path(p).exists() for p in ("/dev/nvidia0", "/etc/nv_tegra_release", "/dev/nvhost-ctrl-gpu"))
    if sys.platform == "win32":
        return shutil.which("nvidia-smi") is not None
    return False


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning(message)


def check_installation() -> None:
    """Warn (once per process) when this onnxruntime installation keeps a GPU machine on the CPU provider."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    distributions = installed_distributions()
    if len(distributions) > 1:
        _warn_once(f"several packages provide the module onnxruntime ({', '.join(distributions)}); the files of the "
                   f"one installed last are in use (providers: {', '.join(available)}). Keep one: pip uninstall -y "
                   f"{' '.join(d.split()[0] for d in distributions)}, then pip install onnxruntime-gpu for the GPU "
                   "or onnxruntime for the CPU")
    elif not any(p in available for p in GPU_PROVIDERS) and nvidia_gpu_present():
        _warn_once(f"this machine has an NVIDIA GPU, but {describe_installation()} runs on the CPU only "
                   f"(providers: {', '.join(available)}); {GPU_INSTALL_HINT}")


def gpu_providers_available() -> bool:
    import onnxruntime as ort

    check_installation()
    return any(p in ort.get_available_providers() for p in GPU_PROVIDERS)


def select_providers(device: str, precision: str, cache_dir: Path) -> tuple[list, str]:
    """Execution providers (with options) for `device`, and the device they run on."""
    import onnxruntime as ort

    if device != "cpu":
        check_installation()
    available = ort.get_available_providers()
    if device == "cpu" or (device == "auto" and not any(p in available for p in GPU_PROVIDERS)):
        return ["CPUExecutionProvider"], "cpu"
    if not (device == "auto" or device.startswith("cuda")):
        raise BackendUnavailableError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")
    if not any(p in available for p in GPU_PROVIDERS):
        raise BackendUnavailableError(
            f"device {device!r} was asked for, but {describe_installation()} has only {', '.join(available)}; "
            f"{GPU_INSTALL_HINT}; or use --device cpu")
    index = int(device.split(":")[1]) if ":" in device else 0
    providers: list = []
    if "TensorrtExecutionProvider" in available:
        # The graph fixes the precision; the flags only allow TensorRT to honour FP16/Q-DQ layers.
        providers.append(("TensorrtExecutionProvider", {
            "device_id": index, "trt_fp16_enable": precision == "fp16", "trt_int8_enable": precision == "int8",
            "trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache_dir)}))
    if "CUDAExecutionProvider" in available:
        providers.append(("CUDAExecutionProvider", {"device_id": index}))
    providers.append("CPUExecutionProvider")
    return providers, f"cuda:{index}"


def session_options(num_threads: int = 0):
    """Session options of every arniqa-edge graph: full graph optimisation, `num_threads` > 0 caps intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if num_threads > 0:
        options.intra_op_num_threads = num_threads
    return options


def load_session(path: Path, options, providers=("CPUExecutionProvider",)):
    """An InferenceSession of `path`; a file onnxruntime cannot load is a WeightsError naming it."""
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(path), options, providers=list(providers))
    except Exception as exc:  # onnxruntime raises its own exception types
        raise WeightsError(f"{path}: onnxruntime cannot load it ({exc})") from None


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    def __init__(self, config: ModelConfig, weights, device: str = "auto", num_threads: int = 0):
        path = Path(weights)
        if path.suffix != ".onnx":
            raise WeightsError(
                f"backend 'onnxruntime' runs an exported .onnx file, not {path.name}; export it first:\n"
                f"  python -m export.onnx --model {config.name} --weights {path} -o {path.with_suffix('.onnx')}\n"
                "(or use --backend torch for .safetensors/.pth weights)")
        if not path.is_file():
            raise WeightsError(f"ONNX file not found: {path}")
        options = session_options(num_threads)
        # Read the metadata from a CPU session first: a mismatched file is refused before any GPU work.
        probe = load_session(path, options)
        self.info = ExportedModelInfo.from_props(probe.get_modelmeta().custom_metadata_map, str(path))
        self.info.check_fits(config, str(path))
        _check_graph(probe, config, path)
        providers, self._device = select_providers(device, self.info.precision, path.parent)
        self.session = probe if self._device == "cpu" else load_session(path, options, providers)
        self._device = report_providers(self.session, self._device, path)
        if self._device == "cpu" and self.info.precision in ("fp16", "int8") and self.info.target != "cpu":
            # Measured on x86: TensorRT's Q/DQ layout and FP16 run 3-5x slower than FP32 on this provider.
            log.warning("%s is a %s export for GPUs; onnxruntime runs it on the CPU slower than the FP32 export. "
                        "For a CPU, use the FP32 graph or python -m export.quantize --precision int8 --target cpu",
                        path.name, self.info.precision)
        self.path = path
        self._config = config
        self._num_threads = num_threads
        self._outputs = ["features"]
        self._session_without_arena = None

    @property
    def device(self) -> str:
        return self._device

    @property
    def feature_dim(self) -> int:
        return self._config.feature_dim

    def describe(self) -> str:
        target = f" for {self.info.target}" if self.info.target != "any" else ""
        return f"onnxruntime {self.info.precision}{target} on {self._device} ({self.session.get_providers()[0]})"

    def encode_pair(self, full: np.ndarray, half: np.ndarray) -> np.ndarray:
        full, half = self._checked(full, "full"), self._checked(half, "half")
        if full.shape[0] != half.shape[0]:
            raise ValueError(f"full and half scale batches differ: {full.shape[0]} vs {half.shape[0]}")
        if self._device == "cpu":
            # onnxruntime reads C-contiguous numpy inputs in place; nothing to bind.
            return self._cpu_session(full.size + half.size).run(self._outputs, {"full": full, "half": half})[0]
        binding = self.session.io_binding()
        binding.bind_cpu_input("full", full)
        binding.bind_cpu_input("half", half)
        binding.bind_output("features", "cpu")
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]

    def _cpu_session(self, input_values: int):
        """The session for a CPU call of this many input values: without the memory arena for large ones."""
        if input_values // 3 <= ARENA_MAX_INPUT_PIXELS:
            return self.session
        if self._session_without_arena is None:
            options = session_options(self._num_threads)
            options.enable_cpu_mem_arena = False
            self._session_without_arena = load_session(self.path, options)
        return self._session_without_arena

    def encode(self, batch: np.ndarray) -> np.ndarray:
        """Full-scale features only: the graph always takes both scales, so the smallest half is fed."""
        batch = self._checked(batch, "full")
        side = self.info.inputs.height or MIN_HALF_SIDE
        half = np.zeros((batch.shape[0], 3, side, self.info.inputs.width or MIN_HALF_SIDE), np.float32)
        return self.encode_pair(batch, half)[:, :self.feature_dim]

    def _checked(self, batch: np.ndarray, name: str) -> np.ndarray:
        if batch.ndim != 4 or batch.shape[1] != 3:
            raise ValueError(f"expected a (N, 3, H, W) {name} batch, got shape {batch.shape}")
        spec = self.info.inputs
        if not spec.dynamic_size and batch.shape[2:] != (spec.height, spec.width):
            raise ValueError(f"{self.path.name} takes {spec.height}x{spec.width} inputs (exported with "
                             f"--image-size), got {batch.shape[2]}x{batch.shape[3]}: use the crop protocol it "
                             "was exported for, or export without --image-size")
        return np.ascontiguousarray(batch, dtype=np.float32)


def report_providers(session, device: str, path: Path) -> str:
    """Log the providers `session` runs on; returns the device it really uses ("cpu" after a fallback).

    onnxruntime starts a CPU-only session, with an error on its own log, when a GPU provider it
    lists cannot start (CUDA or cuDNN libraries missing, no usable GPU): that is a warning here.
    """
    active = session.get_providers()
    if device != "cpu" and not any(p in active for p in GPU_PROVIDERS):
        log.warning("%s: %s was asked for, but onnxruntime could not start its CUDA provider (see its error above: "
                    "CUDA or cuDNN libraries missing, or no usable GPU); running on the CPU with %s",
                    path.name, device, ", ".join(active))
        device = "cpu"
    log.info("onnxruntime: %s runs on %s with %s (%s)", path.name, device, ", ".join(active), describe_installation())
    return device


def _check_graph(session, config: ModelConfig, path: Path) -> None:
    """Refuse a graph whose inputs or features do not match its metadata (a hand-edited or foreign file)."""
    inputs = {node.name for node in session.get_inputs()}
    outputs = {node.name: node.shape for node in session.get_outputs()}
    if not {"full", "half"} <= inputs or "features" not in outputs:
        raise WeightsError(f"{path}: the graph takes {sorted(inputs)} and gives {sorted(outputs)}, not the inputs "
                           "full and half and the output features of `python -m export.onnx`; re-export it")
    width = outputs["features"][-1] if outputs["features"] else None
    if isinstance(width, int) and width != 2 * config.feature_dim:
        raise WeightsError(f"{path}: the graph gives {width} features per image, but {config.name} has "
                           f"{2 * config.feature_dim} (2 x {config.feature_dim}); re-export it for {config.name}")
