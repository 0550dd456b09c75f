"""The reference's colour conversions applied to (B, 3, H, W) batches.

sRGB <-> Lab run in the native kernels (``rgb_to_lab`` / ``lab_to_rgb`` of
`arniqa_edge._C.distort`), which compute `training.degradation.color`'s formulas
per pixel in one pass instead of a dozen whole-tensor torch ops. Gray stays a torch
weighted sum of the reference's function: it is one op either way.
"""

from __future__ import annotations

import torch

from .. import color
from . import native


def rgb_to_lab(images: torch.Tensor) -> torch.Tensor:
    """A new (B, 3, H, W) Lab batch (L in 0..100) of an sRGB batch in [0, 1]."""
    lab = images.clone(memory_format=torch.contiguous_format)
    native.launch("rgb_to_lab", lab)
    return lab


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Lab -> sRGB clipped to [0, 1], converting `lab` in place (it must be contiguous) and returning it."""
    native.launch("lab_to_rgb", lab)
    return lab


def rgb_to_gray(images: torch.Tensor) -> torch.Tensor:
    """BT.601 luma, shape (B, H, W)."""
    return color.rgb_to_gray(images.transpose(0, 1))  # channels first: the reference's (3, ...) layout
