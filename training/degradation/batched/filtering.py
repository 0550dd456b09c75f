"""Linear filtering of (B, C, H, W) batches with replicated borders, as the reference filters.

Filters correlate (no kernel flip). `filter2d` and `filter_separable` apply one kernel
to the whole batch; `filter2d_per_image` gives each image its own kernel through a
grouped convolution, so a sub-batch with B different kernels is still one conv call.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F


def pad_replicate(images: torch.Tensor, pad_rows: int, pad_cols: int) -> torch.Tensor:
    """Replicate the border; pads may be wider than the image (F.pad's may not)."""
    *_, height, width = images.shape
    rows = torch.arange(-pad_rows, height + pad_rows, device=images.device).clamp(0, height - 1)
    cols = torch.arange(-pad_cols, width + pad_cols, device=images.device).clamp(0, width - 1)
    return images.index_select(-2, rows).index_select(-1, cols)


def _check_odd(shape: Sequence[int]) -> None:
    if any(side % 2 == 0 for side in shape):
        raise ValueError(f"kernel sides must be odd, got {tuple(shape)}")


def filter2d(images: torch.Tensor, kernel: np.ndarray) -> torch.Tensor:
    """Correlate every channel of every image with the same odd-sized 2-D kernel."""
    _check_odd(kernel.shape)
    channels = images.shape[1]
    k_rows, k_cols = kernel.shape
    padded = pad_replicate(images, k_rows // 2, k_cols // 2)
    # Depthwise (one group per channel): torch's fast path for per-channel filters on the CPU.
    weight = torch.as_tensor(kernel, dtype=images.dtype, device=images.device).expand(channels, 1, k_rows, k_cols)
    return F.conv2d(padded, weight.contiguous(), groups=channels)


def filter_separable(images: torch.Tensor, taps: np.ndarray) -> torch.Tensor:
    """Correlate with outer(taps, taps): a column pass then a row pass."""
    (size,) = taps.shape
    return filter2d(filter2d(images, taps.reshape(size, 1)), taps.reshape(1, size))


def filter2d_per_image(images: torch.Tensor, kernels: Sequence[np.ndarray]) -> torch.Tensor:
    """Correlate image i (all its channels) with kernels[i]; kernels may differ in size.

    Smaller kernels are zero-padded, centred, to the largest size, which leaves their
    result unchanged.
    """
    for kernel in kernels:
        _check_odd(kernel.shape)
    batch, channels, height, width = images.shape
    k_rows = max(kernel.shape[0] for kernel in kernels)
    k_cols = max(kernel.shape[1] for kernel in kernels)
    stacked = np.zeros((batch, k_rows, k_cols), dtype=np.float32)
    for i, kernel in enumerate(kernels):
        top, left = (k_rows - kernel.shape[0]) // 2, (k_cols - kernel.shape[1]) // 2
        stacked[i, top : top + kernel.shape[0], left : left + kernel.shape[1]] = kernel
    weight = torch.from_numpy(stacked).to(images.device).repeat_interleave(channels, dim=0).unsqueeze(1)
    padded = pad_replicate(images, k_rows // 2, k_cols // 2)
    planes = padded.reshape(1, batch * channels, *padded.shape[-2:])
    return F.conv2d(planes, weight, groups=batch * channels).view(batch, channels, height, width)
