"""Tone curves as per-image piecewise cubic tables for the ``tone_curve`` kernel.

A table is (knots (4,), coefficients (4, 4)): piece i starts at knots[i] and holds
c[i] . (t^3, t^2, t, 1) with t = x - knots[i]; unused pieces start at +inf. Splines
come from the reference's control points (`tone_curves`) through the same scipy
spline, so the curves are the reference's, evaluated in float32.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import torch
from scipy.interpolate import CubicSpline

from . import native

PIECES = 4  # the kernel's fixed table size (kCurvePieces)

CurvePoints = tuple[tuple[float, ...], tuple[float, ...]]
CurveTable = tuple[np.ndarray, np.ndarray]


@functools.lru_cache(maxsize=256)
def spline_table(points: CurvePoints) -> CurveTable:
    """The not-a-knot cubic spline through `points`, as the reference builds it."""
    inputs, outputs = points
    spline = CubicSpline(np.asarray(inputs), np.asarray(outputs), bc_type="not-a-knot")
    pieces = spline.c.shape[1]
    if pieces > PIECES:
        raise ValueError(f"tone curves have at most {PIECES + 1} control points, got {len(inputs)}")
    knots = np.full(PIECES, np.inf)
    knots[:pieces] = spline.x[:pieces]
    coefficients = np.zeros((PIECES, 4))
    coefficients[:pieces] = spline.c.T
    return knots, coefficients


def affine_table(slope: float, offset: float) -> CurveTable:
    """x -> slope * x + offset on [0, 1] as a one-piece table."""
    knots = np.array([0.0, np.inf, np.inf, np.inf])
    coefficients = np.zeros((PIECES, 4))
    coefficients[0, 2:] = slope, offset
    return knots, coefficients


def apply_tables(images: torch.Tensor, tables: Sequence[CurveTable]) -> torch.Tensor:
    """Image i mapped through tables[i], value by value, clipped to [0, 1] (in place)."""
    knots = native.parameter([knots for knots, _ in tables], images, torch.float32)
    coefficients = native.parameter([coefficients for _, coefficients in tables], images, torch.float32)
    native.launch("tone_curve", images, knots, coefficients)
    return images
