"""Blur: Gaussian, lens (disk) and motion blur, one kernel per image in one native call."""

from __future__ import annotations

import torch

from ... import random_params
from ...kernels import disk_kernel, gaussian_kernel_1d, motion_kernel
from ..filtering import filter2d_per_image, filter_separable_per_image
from ..steps import StepGroup


def gaussian_blur(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    return filter_separable_per_image(images, [gaussian_kernel_1d(sigma) for sigma in group.values])


def lens_blur(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    return filter2d_per_image(images, [disk_kernel(radius) for radius in group.values])


def motion_blur(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    # Every image has its own direction.
    kernels = [
        motion_kernel(length, random_params.draw_motion_angle(rng))
        for length, rng in zip(group.values, group.generators)
    ]
    return filter2d_per_image(images, kernels)
