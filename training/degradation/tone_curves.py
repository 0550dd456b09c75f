"""Smooth tone curves through a few control points, as ARNIQA's ``curves`` builds them.

A curve is MATLAB's ``spline`` through the points (not-a-knot end conditions; with
three points that is the parabola through them), evaluated per value and clipped to
[0, 1]. The control points are data, so other implementations can rebuild the curves.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.interpolate import CubicSpline

#: Inputs at which `contrast_curve_points` places its outputs.
CONTRAST_CURVE_INPUTS = (0.0, 0.3, 0.5, 0.7, 1.0)


def brightness_curve_points(midpoint: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(0, 0), (0.5, midpoint), (1, 1): lifts mid-tones above 0.5, lowers them below."""
    return (0.0, 0.5, 1.0), (0.0, midpoint, 1.0)


def contrast_curve_points(amount: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """An S-curve (amount > -0.2 steepens mid-tones) or its inverse (amount < -0.2 flattens).

    The outputs at 0.3 and 0.7 are 0.25 - amount/4 and 0.75 + amount/4, so amount = -0.2
    would be the identity and amount = 0 is already a slight contrast increase.
    """
    return CONTRAST_CURVE_INPUTS, (0.0, 0.25 - amount / 4, 0.5, 0.75 + amount / 4, 1.0)


def apply_tone_curve(image: torch.Tensor, points: tuple[tuple[float, ...], tuple[float, ...]]) -> torch.Tensor:
    """Map every value of `image` through the spline through `points`, clipped to [0, 1]."""
    inputs, outputs = points
    curve = CubicSpline(np.asarray(inputs), np.asarray(outputs), bc_type="not-a-knot")
    mapped = curve(image.numpy().astype(np.float64))
    return torch.from_numpy(mapped).to(image.dtype).clamp(0, 1)
