"""The reference's colour conversions applied to (B, 3, H, W) batches.

The conversions are per pixel, so a batch is viewed as one tall (3, B*H, W) image
and handed to the reference functions unchanged: one definition of the colour
spaces for both engines.
"""

from __future__ import annotations

from typing import Callable

import torch

from .. import color

_PerPixel = Callable[[torch.Tensor], torch.Tensor]


def _on_batch(fn: _PerPixel, images: torch.Tensor) -> torch.Tensor:
    batch, channels, height, width = images.shape
    tall = images.transpose(0, 1).reshape(channels, batch * height, width)
    out = fn(tall)
    return out.reshape(-1, batch, height, width).transpose(0, 1).contiguous()


def rgb_to_lab(images: torch.Tensor) -> torch.Tensor:
    return _on_batch(color.rgb_to_lab, images)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Lab -> sRGB, clipped to [0, 1]."""
    return _on_batch(color.lab_to_rgb, lab)


def rgb_to_gray(images: torch.Tensor) -> torch.Tensor:
    """BT.601 luma, shape (B, H, W)."""
    return _on_batch(lambda tall: color.rgb_to_gray(tall).unsqueeze(0), images)[:, 0]

