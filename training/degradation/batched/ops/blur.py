"""Blur: Gaussian, lens (disk) and motion blur, as batched convolutions."""

from __future__ import annotations

import torch

from ... import random_params
from ...kernels import disk_kernel, gaussian_kernel_1d, motion_kernel
from ..filtering import filter2d, filter2d_per_image, filter_separable
from ..steps import StepGroup, apply_per_value


def gaussian_blur(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    return apply_per_value(images, group, lambda batch, sigma: filter_separable(batch, gaussian_kernel_1d(sigma)))


def lens_blur(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    return apply_per_value(images, group, lambda batch, radius: filter2d(batch, disk_kernel(radius)))


def motion_blur(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    # Every image has its own direction: one grouped conv with a kernel per image.
    kernels = [
        motion_kernel(length, random_params.draw_motion_angle(rng)) for length, rng in zip(group.values, group.generators)
    ]
    return filter2d_per_image(images, kernels)
