"""Linear filtering of (C, H, W) float tensors with replicated borders.

Filters correlate (no kernel flip), like ``cv2.filter2D``; every kernel used by the
distortions is point-symmetric, so correlation and convolution agree.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def pad_replicate(image: torch.Tensor, pad_rows: int, pad_cols: int) -> torch.Tensor:
    """Replicate the border; unlike ``F.pad`` this allows pads wider than the image."""
    _, height, width = image.shape
    rows = torch.arange(-pad_rows, height + pad_rows).clamp(0, height - 1)
    cols = torch.arange(-pad_cols, width + pad_cols).clamp(0, width - 1)
    return image[:, rows][:, :, cols]


def filter2d(image: torch.Tensor, kernel: np.ndarray) -> torch.Tensor:
    """Correlate every channel with the same odd-sized 2-D kernel."""
    k_rows, k_cols = kernel.shape
    if k_rows % 2 == 0 or k_cols % 2 == 0:
        raise ValueError(f"kernel sides must be odd, got {kernel.shape}")
    padded = pad_replicate(image, k_rows // 2, k_cols // 2)
    weight = torch.tensor(np.array(kernel), dtype=image.dtype).view(1, 1, k_rows, k_cols)
    return F.conv2d(padded.unsqueeze(1), weight).squeeze(1)


def filter_separable(image: torch.Tensor, taps: np.ndarray) -> torch.Tensor:
    """Correlate every channel with outer(taps, taps): a column pass then a row pass."""
    (size,) = taps.shape
    return filter2d(filter2d(image, taps.reshape(size, 1)), taps.reshape(1, size))
