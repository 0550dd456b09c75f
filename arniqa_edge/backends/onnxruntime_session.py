"""onnxruntime sessions: the installed package, execution providers, session options, and one graph run.

Shared by every onnxruntime form of a model: the encoder (`onnxruntime_backend`)
and the two CVRKD graphs (arniqa_edge.cvrkd). The CPU execution provider always;
the CUDA and TensorRT providers when the installed onnxruntime has them
(onnxruntime-gpu) and a device other than "cpu" is asked for.

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
import importlib.util
import logging
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import BackendUnavailableError, WeightsError
from .devices import device_index, nvidia_gpu_present

log = logging.getLogger(__name__)

GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
INSTALL_HINT = (
    "backend 'onnxruntime' needs onnxruntime: pip install 'arniqa-edge[cpu]' ('arniqa-edge[gpu]' for CUDA/TensorRT)"
)


def onnxruntime_usable(device_kind: str = "cpu") -> bool:
    """onnxruntime is installed, and for "cuda" has a GPU provider (and the machine a GPU)."""
    if importlib.util.find_spec("onnxruntime") is None:
        return False
    return device_kind == "cpu" or (nvidia_gpu_present() and gpu_providers_available())


#: Packages that install the module `onnxruntime`. Two of them in one environment overwrite each
#: other's files: the last one installed wins, whatever pip lists.
ORT_DISTRIBUTIONS = (
    "onnxruntime",
    "onnxruntime-gpu",
    "onnxruntime-directml",
    "onnxruntime-openvino",
    "onnxruntime-qnn",
    "onnxruntime-training",
    "ort-nightly",
    "ort-nightly-gpu",
)
GPU_INSTALL_HINT = (
    "for the GPU, keep onnxruntime-gpu alone: pip uninstall -y onnxruntime onnxruntime-gpu && "
    "pip install onnxruntime-gpu (arniqa-edge's [gpu] extra, instead of [cpu])"
)


@cache
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
        _warn_once(
            f"several packages provide the module onnxruntime ({', '.join(distributions)}); the files of the "
            f"one installed last are in use (providers: {', '.join(available)}). Keep one: pip uninstall -y "
            f"{' '.join(d.split()[0] for d in distributions)}, then pip install onnxruntime-gpu for the GPU "
            "or onnxruntime for the CPU"
        )
    elif not any(p in available for p in GPU_PROVIDERS) and nvidia_gpu_present():
        _warn_once(
            f"this machine has an NVIDIA GPU, but {describe_installation()} runs on the CPU only "
            f"(providers: {', '.join(available)}); {GPU_INSTALL_HINT}"
        )


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
            f"{GPU_INSTALL_HINT}; or use --device cpu"
        )
    index = device_index(device)
    providers: list = []
    if "TensorrtExecutionProvider" in available:
        # The graph fixes the precision; the flags only allow TensorRT to honour FP16/Q-DQ layers.
        providers.append(
            (
                "TensorrtExecutionProvider",
                {
                    "device_id": index,
                    "trt_fp16_enable": precision == "fp16",
                    "trt_int8_enable": precision == "int8",
                    "trt_engine_cache_enable": True,
                    "trt_engine_cache_path": str(cache_dir),
                },
            )
        )
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


def report_providers(session, device: str, path: Path) -> str:
    """Log the providers `session` runs on; returns the device it really uses ("cpu" after a fallback).

    onnxruntime starts a CPU-only session, with an error on its own log, when a GPU provider it
    lists cannot start (CUDA or cuDNN libraries missing, no usable GPU): that is a warning here.
    """
    active = session.get_providers()
    if device != "cpu" and not any(p in active for p in GPU_PROVIDERS):
        log.warning(
            "%s: %s was asked for, but onnxruntime could not start its CUDA provider (see its error above: "
            "CUDA or cuDNN libraries missing, or no usable GPU); running on the CPU with %s",
            path.name,
            device,
            ", ".join(active),
        )
        device = "cpu"
    log.info("onnxruntime: %s runs on %s with %s (%s)", path.name, device, ", ".join(active), describe_installation())
    return device


class OnnxRuntimeGraph:
    """One ONNX file in an onnxruntime session on `device`: named host inputs -> named host outputs.

    The session is opened on the CPU first (reading a file is checked before any GPU
    work), then on the device's providers; `precision` lets TensorRT honour the
    graph's FP16/Q-DQ layers.
    """

    def __init__(self, path: Path, device: str = "auto", num_threads: int = 0, precision: str = "fp32"):
        self.path = Path(path)
        if not self.path.is_file():
            raise WeightsError(f"ONNX file not found: {self.path}")
        self.options = session_options(num_threads)
        probe = load_session(self.path, self.options)
        providers, device = select_providers(device, precision, self.path.parent)
        self.session = probe if device == "cpu" else load_session(self.path, self.options, providers)
        self.device = report_providers(self.session, device, self.path)

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    def run(self, inputs: dict[str, np.ndarray], outputs: list[str] | None = None, session=None) -> list[np.ndarray]:
        """The outputs (all, or those named) of a run on C-contiguous float32 host inputs."""
        feed = {name: np.ascontiguousarray(array, np.float32) for name, array in inputs.items()}
        return (session or self.session).run(outputs, feed)
