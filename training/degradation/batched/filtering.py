"""Linear filtering of (B, C, H, W) batches with replicated borders, as the reference filters.

Filters correlate (no kernel flip) and run in the native kernels, one kernel per
image, so a sub-batch with B different kernels is still one call: 2-D kernels through
their non-zero taps (`filter2d`, `filter2d_per_image`), separable ones (the Gaussians)
as a row and a column pass (`filter_separable`, `filter_separable_per_image`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from . import native


def pad_replicate(images: torch.Tensor, pad_rows: int, pad_cols: int) -> torch.Tensor:
    """Replicate the border of (..., H, W) images; pads may be wider than the image."""
    return F.pad(images, (pad_cols, pad_cols, pad_rows, pad_rows), mode="replicate")


def _check_odd(shape: Sequence[int]) -> None:
    if any(side % 2 == 0 for side in shape):
        raise ValueError(f"kernel sides must be odd, got {tuple(shape)}")


def filter2d(images: torch.Tensor, kernel: np.ndarray) -> torch.Tensor:
    """Correlate every channel of every image with the same odd-sized 2-D kernel."""
    return filter2d_per_image(images, [kernel] * len(images))


def filter_separable(images: torch.Tensor, taps: np.ndarray) -> torch.Tensor:
    """Correlate every channel of every image with outer(taps, taps)."""
    return filter_separable_per_image(images, [taps] * len(images))


def filter_separable_per_image(images: torch.Tensor, taps: Sequence[np.ndarray]) -> torch.Tensor:
    """A new batch: image i (all its channels) correlated with outer(taps[i], taps[i]).

    Runs in the native ``separable_filter`` kernel (a row pass and a column pass);
    shorter tap vectors are zero-padded, centred, which the kernel trims again.
    """
    for row in taps:
        _check_odd(row.shape)
    size = max(len(row) for row in taps)
    table = np.zeros((len(taps), size), dtype=np.float32)
    for i, row in enumerate(taps):
        start = (size - len(row)) // 2
        table[i, start : start + len(row)] = row
    out = images.to(torch.float32, memory_format=torch.contiguous_format, copy=True)
    native.launch("separable_filter", out, torch.empty_like(out), native.parameter(table, out, torch.float32))
    return out


def filter2d_per_image(images: torch.Tensor, kernels: Sequence[np.ndarray]) -> torch.Tensor:
    """A new batch: image i (all its channels) correlated with kernels[i]; sizes may differ.

    Runs in the native ``sparse_filter`` kernel over each kernel's non-zero taps: the
    blur kernels here (disks, one-pixel-wide motion lines) are mostly zeros at their
    larger sizes.
    """
    rows = []
    for kernel in kernels:
        _check_odd(kernel.shape)
        offsets = np.argwhere(kernel != 0)
        weights = kernel[offsets[:, 0], offsets[:, 1]]
        centred = offsets - np.array(kernel.shape) // 2
        rows.append(np.column_stack((centred, weights)).astype(np.float32))
    source = images.to(torch.float32).contiguous()
    out = torch.empty_like(source)
    native.launch(
        "sparse_filter",
        source,
        out,
        native.parameter(native.stack_padded(rows), out, torch.float32),
        native.parameter([len(taps) for taps in rows], out, torch.int32),
    )
    return out
