"""Calls into the batched distortion kernels of ``arniqa_edge._C.distort``.

The kernels take any array through DLPack / ``__cuda_array_interface__``: torch CPU
tensors run on the C++ thread pool, CUDA tensors on the current torch stream of
their device, so they order with the surrounding torch work without a sync.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from types import ModuleType

import numpy as np
import torch


@functools.cache
def kernels() -> ModuleType:
    try:
        from arniqa_edge import _C
    except ImportError as error:
        raise ImportError(
            "the batched degradation engine needs arniqa_edge._C (the native kernels); build it from the "
            "checkout with `pip install --no-build-isolation -e .`"
        ) from error
    if not hasattr(_C, "distort"):
        raise ImportError(
            f"{_C.__file__} has no distortion kernels (arniqa_edge._C.distort): it was built with "
            "ARNIQA_EDGE_DISTORTIONS=OFF (a runtime-only build) or from an older checkout; rebuild it from this "
            "checkout with the default ARNIQA_EDGE_DISTORTIONS=ON: `pip install --no-build-isolation -e .`"
        )
    return _C.distort


def launch(kernel: str, images: torch.Tensor, *arrays: torch.Tensor, **options) -> None:
    """Run kernel `kernel` on `images` (changed in place) with per-image parameter `arrays`."""
    fn = getattr(kernels(), kernel)
    if images.is_cuda:
        with torch.cuda.device(images.device):
            fn(images, *arrays, stream=torch.cuda.current_stream(images.device).cuda_stream, **options)
    else:
        # Host tensors go in as numpy views (the buffer protocol): a CPU tensor's
        # __dlpack__ asks whether it is pinned, which costs more than small kernels.
        fn(images.numpy(), *(array.numpy() for array in arrays), **options)


def parameter(values: Sequence | np.ndarray, like: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Per-image parameters as a contiguous tensor on the device of `like`."""
    return torch.as_tensor(np.asarray(values), dtype=dtype).contiguous().to(like.device, non_blocking=True)


def stack_padded(per_image: Sequence[np.ndarray]) -> np.ndarray:
    """Stack (count_i, fields) arrays into (images, max count, fields), zero-padded.

    The layout of the kernels' per-image lists (patches, blocks, filter taps), whose
    counts travel beside them.
    """
    capacity = max(len(rows) for rows in per_image)
    stacked = np.zeros((len(per_image), capacity, per_image[0].shape[1]), dtype=per_image[0].dtype)
    for i, rows in enumerate(per_image):
        stacked[i, : len(rows)] = rows
    return stacked
