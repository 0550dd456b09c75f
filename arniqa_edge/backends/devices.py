"""Device names ("auto", "cpu", "cuda", "cuda:N") and whether the machine has an NVIDIA GPU at all."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from ..errors import BackendUnavailableError

#: Kinds of device a backend runs on, fastest first: "auto" tries backends on them in this order.
DEVICE_KINDS = ("cuda", "cpu")


def device_kind(device: str) -> str:
    """ "cpu" or "cuda" for a device name; BackendUnavailableError for anything else ("auto" has no kind)."""
    if device == "cpu" or device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit()):
        return device.split(":")[0]
    raise BackendUnavailableError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")


def device_index(device: str) -> int:
    """The GPU index of "cuda:N" (0 for "cuda" and "auto")."""
    return int(device.split(":")[1]) if ":" in device else 0


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
