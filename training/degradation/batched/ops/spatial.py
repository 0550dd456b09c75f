"""Spatial: jitter, non-eccentricity patches, pixelation, quantization and colour blocks."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ... import random_params
from .. import native
from ..steps import StepGroup, apply_per_value

JITTER_ROUNDS = 5  # as the reference


def jitter(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    seeds = native.parameter(group.noise_seeds(), images, torch.int64)
    stds = native.parameter(group.values, images, torch.float32)
    out = torch.empty_like(images)
    native.launch("jitter", images, out, seeds, stds, rounds=JITTER_ROUNDS)
    return out


def non_eccentricity_patch(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    _, _, height, width = images.shape
    draws = [
        random_params.draw_patch_moves(rng, height, width, int(count))
        for count, rng in zip(group.values, group.generators)
    ]
    boxes = native.stack_padded([np.stack((m.src_rows, m.src_cols, m.dst_rows, m.dst_cols), axis=1) for m in draws])
    native.launch(
        "copy_patches",
        images,
        native.parameter(boxes, images, torch.int32),
        native.parameter([len(m.src_rows) for m in draws], images, torch.int32),
        size=random_params.NONECC_PATCH_SIZE,
    )
    return images


def color_block(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    _, _, height, width = images.shape
    draws = [
        random_params.draw_color_blocks(rng, height, width, int(count))
        for count, rng in zip(group.values, group.generators)
    ]
    boxes = native.stack_padded([np.stack((b.rows, b.cols), axis=1) for b in draws])
    colors = native.stack_padded([b.colors for b in draws])
    native.launch(
        "fill_blocks",
        images,
        native.parameter(boxes, images, torch.int32),
        native.parameter([len(b.rows) for b in draws], images, torch.int32),
        native.parameter(colors, images, torch.float32),
        size=random_params.COLOR_BLOCK_SIZE,
    )
    return images


def pixelate(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    """Nearest-neighbour down by z = 0.95 - strength^0.6 and back up (the reference's resampling)."""
    _, _, height, width = images.shape

    def down_up(batch: torch.Tensor, strength: float) -> torch.Tensor:
        scale = 0.95 - strength**0.6
        small_size = (int(height * scale), int(width * scale))
        if min(small_size) < 1:
            raise ValueError(f"pixelate at strength {strength} needs a larger image than {height}x{width}")
        small = F.interpolate(batch, size=small_size, mode="nearest")
        return F.interpolate(small, size=(height, width), mode="nearest")

    return apply_per_value(images, group, down_up)


def quantization(images: torch.Tensor, group: StepGroup) -> torch.Tensor:
    native.launch("quantize", images, native.parameter([int(v) for v in group.values], images, torch.int32))
    return images
