"""Brightness: brighten, darken and mean shift, as per-image tone curves."""

from __future__ import annotations

import torch

from ...tone_curves import brightness_curve_points
from .. import colorspace, curves
from ..steps import StepGroup


def _brightness_tables(midpoints) -> list[curves.CurveTable]:
    return [curves.spline_table(brightness_curve_points(midpoint)) for midpoint in midpoints]


def brighten(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    """2/3 the curve on RGB, 1/3 the curve on Lab lightness (which keeps hues)."""
    tables = _brightness_tables(0.5 + amount / 2 for amount in group.values)
    lab = colorspace.rgb_to_lab(images)
    lightness = curves.apply_tables(lab[:, :1] / 100, tables) * 100
    via_lab = colorspace.lab_to_rgb(torch.cat((lightness, lab[:, 1:]), dim=1))
    return (2 * curves.apply_tables(images, tables) + via_lab) / 3


def darken(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    return curves.apply_tables(images, _brightness_tables(0.5 - amount / 2 for amount in group.values))


def mean_shift(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    return curves.apply_tables(images, [curves.affine_table(1.0, offset) for offset in group.values])
