"""Frame preprocessing: uint8 HxWx3 frame -> the encoder's full- and half-scale inputs.

``preprocess`` runs the fused C++ op on the CPU, ``preprocess_cuda`` the CUDA op on
a stream; both write caller-provided buffers (e.g. an inference engine's input
bindings) so the frame is read once and nothing is copied afterwards.
``preprocess_reference`` is the plain numpy definition they are tested against.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .reference import preprocess_reference
from .spec import IMAGENET_MEAN, IMAGENET_STD, PreprocessSpec, output_shapes

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "PreprocessSpec",
    "output_shapes",
    "preprocess",
    "preprocess_cuda",
    "preprocess_reference",
]

_BUILD_HINT = (
    "arniqa_edge._C (the native preprocessing kernels) is not built. From a checkout run\n"
    "    pip install --no-build-isolation -e .\n"
    "(needs cmake, a C++17 compiler and pybind11; nvcc on PATH adds the CUDA kernels)."
)


def _native() -> Any:
    try:
        from arniqa_edge import _C
    except ImportError as error:
        raise ImportError(f"{_BUILD_HINT}\n({error})") from error
    return _C


def preprocess(
    frame: Any,
    spec: PreprocessSpec = PreprocessSpec(),
    out_full: Any = None,
    out_half: Any = None,
    num_threads: int = 0,
) -> tuple[Any, Any]:
    """Preprocess one host frame on the CPU; returns (full, half).

    frame: uint8 (H, W, 3) array in spec.channels order; rows may be padded (a crop
        view of a larger frame is fine) but pixels must be packed.
    out_full, out_half: C-contiguous host arrays of output_shapes(H, W, spec) and
        spec.dtype to fill (numpy, or torch CPU tensors); allocated when omitted.
    num_threads: 0 uses every core this process may run on.
    """
    _C = _native()
    if out_full is None or out_half is None:
        full_shape, half_shape = output_shapes(*_frame_size(frame), spec)
        dtype = np.dtype(spec.dtype)
        out_full = np.empty(full_shape, dtype) if out_full is None else out_full
        out_half = np.empty(half_shape, dtype) if out_half is None else out_half
    _C.preprocess(frame, out_full, out_half, num_threads=num_threads, **_options(spec))
    return out_full, out_half


def preprocess_cuda(
    frame: Any,
    out_full: Any,
    out_half: Any,
    spec: PreprocessSpec = PreprocessSpec(),
    stream: Any = 0,
) -> tuple[Any, Any]:
    """Enqueue the op on a CUDA stream, writing out_full and out_half; returns them.

    frame: uint8 (H, W, 3) CUDA array (anything with __cuda_array_interface__ or
        __dlpack__), or a host array, which is first copied to a device buffer.
    out_full, out_half: C-contiguous CUDA arrays of output_shapes(H, W, spec) and
        spec.dtype, on the same device.
    stream: a cudaStream_t as an int (0 = default stream), or a stream object with
        ``cuda_stream`` (torch) or ``ptr`` (CuPy). The call returns once the work is
        enqueued; synchronise the stream before reading the outputs on the host.
    """
    _C = _native()
    _C.preprocess_cuda(frame, out_full, out_half, stream=_stream_handle(stream), **_options(spec))
    return out_full, out_half


def _options(spec: PreprocessSpec) -> dict[str, Any]:
    return {
        "crop": spec.crop,
        "crop_size": spec.crop_size,
        "mean": spec.mean,
        "std": spec.std,
        "channels": spec.channels,
        "dtype": spec.dtype,
    }


def _frame_size(frame: Any) -> tuple[int, int]:
    shape = getattr(frame, "shape", None)
    if shape is None:
        raise TypeError(f"frame must be an array with a shape, got {type(frame).__name__}")
    if len(shape) != 3 or shape[2] != 3:
        raise ValueError(f"frame must have shape (H, W, 3), got {tuple(shape)}")
    return int(shape[0]), int(shape[1])


def _stream_handle(stream: Any) -> int:
    for attribute in ("cuda_stream", "ptr"):
        if hasattr(stream, attribute):
            return int(getattr(stream, attribute))
    if isinstance(stream, int) and stream >= 0:
        return stream
    raise TypeError(f"stream must be a non-negative int or a CUDA stream object, got {stream!r}")
