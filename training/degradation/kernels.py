"""Filter kernels of the blur and sharpening distortions, as float64 numpy arrays.

They follow MATLAB's ``fspecial`` (which the KADID-10k generator and ARNIQA use), so
kernels of the same parameters agree across implementations.
"""

from __future__ import annotations

import math

import numpy as np

_EPS = np.finfo(np.float64).eps


def gaussian_kernel_size(sigma: float) -> int:
    """Odd kernel width covering +-2 sigma, as ARNIQA sizes its Gaussian kernels."""
    return 2 * math.ceil(2 * sigma) + 1


def gaussian_kernel_1d(sigma: float, size: int | None = None) -> np.ndarray:
    """Normalised 1-D Gaussian; its outer product with itself is ``fspecial('gaussian')``.

    Taps below eps * peak are zeroed as fspecial does, which makes sigma = 0.1 (width 3)
    an exact identity.
    """
    size = gaussian_kernel_size(sigma) if size is None else size
    offsets = np.arange(size) - (size - 1) / 2
    taps = np.exp(-(offsets**2) / (2 * sigma**2))
    taps[taps < _EPS * taps.max()] = 0
    return taps / taps.sum()


def disk_kernel(radius: float) -> np.ndarray:
    """``fspecial('disk', radius)``: each tap is the area of its pixel inside a circle.

    The areas are exact: with F(x, y) the area of the disk inside the rectangle between
    the origin and (x, y) (signed, so it also works across the axes), the area inside
    pixel [x0, x1] x [y0, y1] is F(x1, y1) - F(x0, y1) - F(x1, y0) + F(x0, y0).
    """
    half_width = math.ceil(radius - 0.5)
    centres = np.arange(-half_width, half_width + 1, dtype=np.float64)
    lo, hi = centres - 0.5, centres + 0.5
    area = (
        _disk_area_to(hi[:, None], hi[None, :], radius)
        - _disk_area_to(lo[:, None], hi[None, :], radius)
        - _disk_area_to(hi[:, None], lo[None, :], radius)
        + _disk_area_to(lo[:, None], lo[None, :], radius)
    )
    area[area < 1e-12] = 0  # rounding residue (+-1e-17) on pixels outside the circle
    return area / area.sum()


def _disk_area_to(x: np.ndarray, y: np.ndarray, radius: float) -> np.ndarray:
    """Signed area of {|u| <= |x|, |v| <= |y|, same quadrant as (x, y)} inside the disk."""
    ax, ay = np.broadcast_arrays(np.abs(x), np.abs(y))
    ax, ay = np.minimum(ax, radius), np.minimum(ay, radius)

    def area_under_circle(u: np.ndarray) -> np.ndarray:  # integral of sqrt(r^2 - t^2) over [0, u]
        return 0.5 * (u * np.sqrt(radius**2 - u**2) + radius**2 * np.arcsin(u / radius))

    # Up to u_cap the circle is above height ay, so the rectangle's top edge bounds the area.
    u_cap = np.minimum(ax, np.sqrt(radius**2 - ay**2))
    area = ay * u_cap + area_under_circle(ax) - area_under_circle(u_cap)
    return np.sign(x) * np.sign(y) * area


def motion_kernel(length: float, angle_degrees: float) -> np.ndarray:
    """``fspecial('motion', length, angle)``: an anti-aliased line segment, 1 px wide.

    The segment of `length` pixels through the kernel centre at `angle_degrees`
    (counter-clockwise from horizontal) weights each pixel by how close it is to the
    segment; the kernel is built one half at a time and mirrored through the centre.
    """
    length = max(1.0, float(length))
    half_length = (length - 1) / 2
    phi = math.radians(angle_degrees % 180)
    cos_phi, sin_phi = math.cos(phi), math.sin(phi)
    x_sign = 1 if cos_phi >= 0 else -1
    line_width = 1.0

    # Half-kernel grid from the centre towards the end point; the eps terms keep
    # 0 and 90 degrees from growing an extra column or row.
    x_end = int(half_length * cos_phi + line_width * x_sign - length * _EPS)
    y_end = int(half_length * sin_phi + line_width - length * _EPS)
    x, y = np.meshgrid(np.arange(0, x_end + x_sign, x_sign), np.arange(0, y_end + 1))

    distance = y * cos_phi - x * sin_phi  # perpendicular distance to the line
    past_end = (np.hypot(x, y) >= half_length) & (np.abs(distance) <= line_width)
    # Beyond the end point, measure the distance to the end point itself.
    with np.errstate(divide="ignore", invalid="ignore"):
        along = half_length - np.abs((x + distance * sin_phi) / cos_phi)
    distance = np.where(past_end, np.hypot(distance, along), distance)
    half = np.clip(line_width + _EPS - np.abs(distance), 0, None)

    rows, cols = half.shape
    kernel = np.zeros((2 * rows - 1, 2 * cols - 1))
    kernel[:rows, :cols] = np.rot90(half, 2)
    kernel[rows - 1 :, cols - 1 :] = half
    kernel /= kernel.sum() + _EPS * length * length
    if cos_phi > 0:
        kernel = np.flipud(kernel)
    return kernel.copy()  # a fresh array: flipud leaves negative strides
