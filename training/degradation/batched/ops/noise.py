"""Noise: white (RGB and YCbCr), impulse and multiplicative, in the counter-based kernels."""

from __future__ import annotations

import torch

from .. import native
from ..steps import StepGroup


def _gaussian(images: torch.Tensor, group: StepGroup, kind: str) -> torch.Tensor:
    seeds = native.parameter(group.noise_seeds(), images, torch.int64)
    variances = native.parameter(group.values, images, torch.float32)
    native.launch("gaussian_noise", images, seeds, variances, kind=kind)
    return images


def white_noise(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    return _gaussian(images, group, "additive")


def white_noise_ycbcr(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    return _gaussian(images, group, "ycbcr")


def multiplicative_noise(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    return _gaussian(images, group, "multiplicative")


def impulse_noise(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    """Each value independently salt or pepper with probability density / 2 each.

    The reference draws int(density * 3HW) positions with replacement instead; both
    hit a fraction of about `density` of the values, half salt and half pepper.
    """
    seeds = native.parameter(group.noise_seeds(), images, torch.int64)
    densities = native.parameter(group.values, images, torch.float32)
    native.launch("impulse_noise", images, seeds, densities)
    return images
