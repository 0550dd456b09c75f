"""Colour-space conversions of (3, H, W) float RGB tensors in [0, 1].

sRGB <-> CIE Lab uses the sRGB transfer curve, the sRGB/D65 matrices and the D65
white point, with the constants kornia uses (ARNIQA's colour conversions are
kornia's). YCbCr is the analogue BT.601 form with chroma centred on 0.5.
Lab -> RGB clips to [0, 1]: distortions that push colours out of gamut saturate.
"""

from __future__ import annotations

import torch

_RGB_TO_XYZ = torch.tensor(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
_XYZ_TO_RGB = torch.tensor(
    [
        [3.2404813432005266, -1.5371515162713185, -0.4985363261688878],
        [-0.9692549499965682, 1.8759900014898907, 0.0415559265582928],
        [0.0556466391351772, -0.2040413383665112, 1.0573110696453443],
    ]
)
_D65_WHITE = torch.tensor([0.95047, 1.0, 1.08883]).view(3, 1, 1)
_LAB_EPSILON = 0.008856  # (6/29)^3: below it the Lab curve is linear

_GRAY_WEIGHTS = (0.299, 0.587, 0.114)


def _mix(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Apply a 3x3 matrix to the channels of a (3, H, W) image."""
    return torch.einsum("ij,jhw->ihw", matrix.to(image), image)


def srgb_to_linear(image: torch.Tensor) -> torch.Tensor:
    return torch.where(image > 0.04045, ((image + 0.055) / 1.055) ** 2.4, image / 12.92)


def linear_to_srgb(image: torch.Tensor) -> torch.Tensor:
    threshold = 0.0031308
    return torch.where(image > threshold, 1.055 * image.clamp(min=threshold) ** (1 / 2.4) - 0.055, 12.92 * image)


def rgb_to_lab(image: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] -> Lab (L in 0..100, a and b roughly -128..127)."""
    xyz = _mix(_RGB_TO_XYZ, srgb_to_linear(image)) / _D65_WHITE.to(image)
    f = torch.where(xyz > _LAB_EPSILON, xyz.clamp(min=_LAB_EPSILON) ** (1 / 3), 7.787 * xyz + 4 / 29)
    fx, fy, fz = f
    return torch.stack((116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)))


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Lab -> sRGB, clipped to [0, 1]."""
    lightness, a, b = lab
    fy = (lightness + 16) / 116
    fx = fy + a / 500
    fz = (fy - b / 200).clamp(min=0)  # out-of-gamut colours would give a negative Z
    f = torch.stack((fx, fy, fz))
    xyz = torch.where(f > 0.2068966, f**3, (f - 4 / 29) / 7.787) * _D65_WHITE.to(lab)
    return linear_to_srgb(_mix(_XYZ_TO_RGB, xyz)).clamp(0, 1)


def rgb_to_ycbcr(image: torch.Tensor) -> torch.Tensor:
    r, g, b = image
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return torch.stack((y, (b - y) * 0.564 + 0.5, (r - y) * 0.713 + 0.5))


def ycbcr_to_rgb(image: torch.Tensor) -> torch.Tensor:
    y, cb, cr = image[0], image[1] - 0.5, image[2] - 0.5
    return torch.stack((y + 1.403 * cr, y - 0.714 * cr - 0.344 * cb, y + 1.773 * cb))


def rgb_to_gray(image: torch.Tensor) -> torch.Tensor:
    """BT.601 luma, shape (H, W)."""
    r, g, b = image
    wr, wg, wb = _GRAY_WEIGHTS
    return wr * r + wg * g + wb * b
