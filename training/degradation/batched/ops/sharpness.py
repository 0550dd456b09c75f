"""Sharpness and contrast: unsharp masking of lightness, contrast curves, contrast compression."""

from __future__ import annotations

import torch

from ...kernels import gaussian_kernel_1d
from ...tone_curves import contrast_curve_points
from .. import colorspace, curves
from ..filtering import filter_separable
from ..steps import StepGroup

# The reference's unsharp mask: a 13x13 Gaussian of sigma 6.
_SHARPEN_TAPS = gaussian_kernel_1d(6, 13)


def high_sharpen(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    lab = colorspace.rgb_to_lab(images)
    lightness = lab[:, :1]
    blurred = filter_separable(lightness, _SHARPEN_TAPS)
    lab[:, :1] = lightness + group.value_tensor(lab) * (lightness - blurred)
    return colorspace.lab_to_rgb(lab)


def linear_contrast_change(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    return curves.apply_tables(images, [curves.spline_table(contrast_curve_points(a)) for a in group.values])


def contrast_compression(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    """[0, 1] mapped linearly onto [0.5 - h, 0.5 + h]."""
    tables = [curves.affine_table(2 * half_range, 0.5 - half_range) for half_range in group.values]
    return curves.apply_tables(images, tables)
