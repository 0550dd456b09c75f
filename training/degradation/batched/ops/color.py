"""Colour: diffusion, shift and the two saturation changes."""

from __future__ import annotations

import math

import numpy as np
import torch

from ... import random_params
from ...images import quantize_8bit
from ...kernels import gaussian_kernel_1d
from .. import colorspace, native
from ..filtering import filter_separable, filter_separable_per_image, pad_replicate
from ..steps import StepGroup

_EDGE_SIGMA = 4
_EDGE_PERCENT = 1


def color_diffusion(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    lab = colorspace.rgb_to_lab(images)
    taps = [gaussian_kernel_1d(1.5 * amount + 2) for amount in group.values]
    lab[:, 1:] = filter_separable_per_image(lab[:, 1:], taps) * group.value_tensor(lab)
    return quantize_8bit(colorspace.lab_to_rgb(lab))


def color_shift(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    """Green channel shifted per image and blended in by an edge map."""
    shifts = np.array([random_params.draw_shift(rng, amount) for amount, rng in zip(group.values, group.generators)])
    down = native.parameter(shifts[:, 0], images, torch.int64)
    right = native.parameter(shifts[:, 1], images, torch.int64)
    _, _, height, width = images.shape
    rows = (torch.arange(height, device=images.device) - down[:, None]).clamp(0, height - 1)
    cols = (torch.arange(width, device=images.device) - right[:, None]).clamp(0, width - 1)
    green = images[:, 1]
    samples = torch.arange(len(group), device=images.device)[:, None, None]
    shifted = green[samples, rows[:, :, None], cols[:, None, :]]
    edges = _edge_strength(colorspace.rgb_to_gray(images))
    images[:, 1] = shifted * edges + green * (1 - edges)
    return images


def _edge_strength(gray: torch.Tensor) -> torch.Tensor:
    """(B, H, W) smoothed gradient magnitude, min-max scaled and clipped per image (the reference's)."""
    padded = pad_replicate(gray, 1, 1)
    grad_x = (padded[:, 1:-1, 2:] - padded[:, 1:-1, :-2]) / 2
    grad_y = (padded[:, 2:, 1:-1] - padded[:, :-2, 1:-1]) / 2
    magnitude = torch.sqrt(grad_x**2 + grad_y**2)
    smooth = filter_separable(magnitude.unsqueeze(1), gaussian_kernel_1d(_EDGE_SIGMA))[:, 0]
    flat = smooth.flatten(1)
    low, high = flat.amin(dim=1), flat.amax(dim=1)
    scaled = (flat - low[:, None]) / (high - low).clamp(min=torch.finfo(flat.dtype).tiny)[:, None]
    flat = torch.where((low < high)[:, None], scaled, flat)
    band_low, band_high = _percentile_band(flat, _EDGE_PERCENT)
    return flat.clamp(band_low[:, None], band_high[:, None]).view_as(gray)


def _percentile_band(flat: torch.Tensor, percent: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row nearest-rank `percent`-th and (100 - `percent`)-th percentiles of (B, N) values."""
    count = flat.shape[1]
    high_rank = min(max(math.floor(count * (100 - percent) / 100 + 0.5), 1), count)
    low_rank = count + 1 - high_rank
    return flat.kthvalue(low_rank, dim=1).values, flat.kthvalue(high_rank, dim=1).values


def saturation_hsv(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    native.launch("saturate_hsv", images, native.parameter(group.values, images, torch.float32))
    return images


def saturation_lab(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    lab = colorspace.rgb_to_lab(images)
    lab[:, 1:] *= group.value_tensor(lab)
    return quantize_8bit(colorspace.lab_to_rgb(lab))
