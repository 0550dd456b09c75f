"""How many images go into one backend call, and what happens when memory runs out.

A backend call's peak memory grows with the pixels it is fed: the encoder's
activations at full resolution dwarf its weights (EfficientNet-Lite0 on a 12 MP
photo holds a 96-channel map of 2000x1500 in float32: 1.2 GB). So batches are
capped by pixels and by an estimate of their memory, not by count alone, and an
image whose single call would exceed the budget is refused before it is
preprocessed instead of being left to the allocator (on a Jetson, or any Linux
without swap, the OOM killer ends the whole process rather than failing one
allocation). An allocation that fails anyway becomes an `InsufficientMemoryError`
for that image.

The per-pixel figures are peak resident memory above the loaded model, per
pixel fed to the backend (both scales summed), measured by
`python -m benchmarks memory` on a 12 MP photo on a CPU (results in
benchmarks/results/memory-*.md), rounded up. GPUs hold the same activations in
device memory, so the same figures serve there.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass

from .backends import onnxruntime_backend
from .errors import InsufficientMemoryError

GIB = 1024**3

#: Default budget of one backend call: 4 GiB keeps a call within half of the 8 GB that a
#: Jetson Orin Nano shares between CPU and GPU, leaving the rest to the system and the
#: runtime. A 12 MP photo fits on every backend (onnxruntime on a CPU: about 2.1 GiB, torch:
#: 3.3 GiB); on a 4 GB board pass --memory-budget 2G (up to about 11 MP on onnxruntime).
DEFAULT_MEMORY_BUDGET = 4 * GIB

#: Peak bytes of one encoder call per input pixel (full + half scale), by backend: the
#: activations and the runtime's own buffers. Measured for arniqa-lite0 and arniqa-r50
#: (lite0 is the larger per pixel); onnxruntime's figure is that of its memory arena.
ENCODER_BYTES_PER_INPUT_PIXEL = {"onnxruntime": 160, "torch": 210, "tensorrt": 160}
#: onnxruntime on a CPU runs calls over ARENA_MAX_INPUT_PIXELS without its arena, which takes less.
ONNXRUNTIME_CPU_LARGE_CALL_BYTES_PER_INPUT_PIXEL = 125
#: The input tensors themselves (float32 RGB), once preprocessed and once batched.
INPUT_BYTES_PER_INPUT_PIXEL = 2 * 3 * 4


def estimate_call_bytes(backend: str, input_pixels: int, device: str = "cpu") -> int:
    """Estimated peak memory of one backend call fed `input_pixels` pixels (all images, both scales)."""
    per_pixel = ENCODER_BYTES_PER_INPUT_PIXEL.get(backend, max(ENCODER_BYTES_PER_INPUT_PIXEL.values()))
    if (
        backend == "onnxruntime"
        and device.startswith("cpu")
        and input_pixels > onnxruntime_backend.ARENA_MAX_INPUT_PIXELS
    ):
        per_pixel = ONNXRUNTIME_CPU_LARGE_CALL_BYTES_PER_INPUT_PIXEL
    return input_pixels * (per_pixel + INPUT_BYTES_PER_INPUT_PIXEL)


#: On a CPU a batch of large frames is slower than the same frames one by one (the
#: activations outgrow the caches; measured 3x slower at 8 x 1080p with onnxruntime on
#: 2 cores), so CPU backends batch images only while a batch stays under this many pixels.
CPU_BATCH_PIXELS = 1_000_000


def cpu_batch_pixels() -> int:
    """The pixel cap of CPU batches."""
    return CPU_BATCH_PIXELS


@dataclass(frozen=True)
class BatchPolicy:
    """Images per backend call: at most `batch_size`, `max_batch_pixels` and `memory_budget`.

    max_batch_pixels: cap on the image pixels of one call; None = automatic: the
        measured CPU cap (`cpu_batch_pixels`) on a CPU, none on a GPU.
    memory_budget: bytes one call may take by `estimate_call_bytes`; a single image
        over it is refused (`check_fits`).
    """

    batch_size: int = 8
    max_batch_pixels: int | None = None
    memory_budget: int = DEFAULT_MEMORY_BUDGET

    def __post_init__(self):
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.max_batch_pixels is not None and self.max_batch_pixels < 1:
            raise ValueError(f"max_batch_pixels must be >= 1 or None, got {self.max_batch_pixels}")
        if self.memory_budget < 1:
            raise ValueError(f"memory_budget must be >= 1 byte, got {self.memory_budget}")

    def pixel_cap(self, device: str) -> int | None:
        if self.max_batch_pixels is not None:
            return self.max_batch_pixels
        return cpu_batch_pixels() if device.startswith("cpu") else None

    def images_per_call(self, image_pixels: int, input_pixels: int, backend: str, device: str) -> int:
        """How many images of this size share one call (at least one).

        image_pixels: pixels of one image (what the pixel cap counts, like the video pipeline);
        input_pixels: what the backend is fed for it (both scales, all crops).
        """
        count = self.batch_size
        cap = self.pixel_cap(device)
        if cap is not None:
            count = min(count, cap // max(image_pixels, 1))
        if count > 1:
            # the estimate per pixel may change with the call's size (onnxruntime's arena): take the largest
            count = next(
                (
                    n
                    for n in range(count, 1, -1)
                    if estimate_call_bytes(backend, n * input_pixels, device) <= self.memory_budget
                ),
                1,
            )
        return max(1, count)

    def check_fits(
        self, name: str, width: int, height: int, input_pixels: int, backend: str, device: str = "cpu"
    ) -> None:
        """Refuse an image whose call alone would exceed the memory budget."""
        need = estimate_call_bytes(backend, input_pixels, device)
        if need > self.memory_budget:
            raise InsufficientMemoryError(
                f"{name}: {width}x{height} ({width * height / 1e6:.1f} MP) needs about {format_bytes(need)} to score "
                f"on {backend}, over the memory budget of {format_bytes(self.memory_budget)}; downscale it, or "
                "raise the budget (--memory-budget) if this machine has the memory"
            )


# -- sizes in messages and options -------------------------------------------

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": GIB, "t": 1024**4}


def parse_bytes(text: str) -> int:
    """ "4G", "1.5GiB", "512M", "512MB" or a plain number of bytes -> bytes (K, M, G, T are powers of 1024)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(?:i?b)?\s*", text, flags=re.IGNORECASE)
    if not match:
        raise ValueError(f"not a size: {text!r} (e.g. 4G, 1.5G, 512M)")
    value = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if value < 1:
        raise ValueError(f"size must be at least 1 byte, got {text!r}")
    return value


def format_bytes(count: int) -> str:
    if count >= GIB:
        return f"{count / GIB:.1f} GiB"
    return f"{count / 1024**2:.0f} MiB"


# -- allocation failures -------------------------------------------------------

#: What the allocators of the libraries we call say when they fail (torch CPU and CUDA,
#: onnxruntime's arena and std::bad_alloc, OpenCV, cuDNN).
_ALLOCATION_FAILURE = re.compile(
    r"can't allocate memory|out of memory|failed to allocate|bad_alloc|insufficient memory|"
    r"cannot allocate memory|unable to allocate|CUDNN_STATUS_ALLOC_FAILED|not enough memory",
    re.IGNORECASE,
)


def is_allocation_failure(exc: BaseException) -> bool:
    """Whether `exc` says that memory could not be allocated (MemoryError, or a library's own error type)."""
    if isinstance(exc, MemoryError):
        return True
    return isinstance(exc, Exception) and bool(_ALLOCATION_FAILURE.search(str(exc)))


@contextmanager
def allocation_failures_as(what: str, name: str | None = None):
    """Turn an allocation failure inside the block into an InsufficientMemoryError: out of memory while `what`."""
    try:
        yield
    except InsufficientMemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - only allocation failures are translated, the rest re-raised
        if not is_allocation_failure(exc):
            raise
        detail = _allocation_detail(exc)
        prefix = f"{name}: " if name else ""
        raise InsufficientMemoryError(
            f"{prefix}out of memory while {what} ({detail}); downscale the image, or free memory for it"
        ) from None


def _allocation_detail(exc: BaseException) -> str:
    """The library's own words, short: the part of its message that reports the failure."""
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    line = next((line for line in lines if _ALLOCATION_FAILURE.search(line)), lines[0]).strip()
    line = line.split("Status Message:", 1)[-1].strip()  # onnxruntime names the node first, the cause after
    match = _ALLOCATION_FAILURE.search(line)
    if len(line) <= 120 or match is None:
        return line if len(line) <= 120 else line[:117] + "..."
    start = max(0, match.start() - 40)
    return ("..." if start else "") + line[start : start + 117] + ("..." if start + 117 < len(line) else "")
