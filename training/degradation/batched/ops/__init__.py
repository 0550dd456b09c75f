"""One batched function per distortion type: ``fn(images, group) -> images``.

`images` is the sub-batch (b, 3, H, W) float32 of the images that apply this type at
this step position; the function owns it (may change it in place) and returns the
distorted sub-batch. `group` holds their levels, values and generators.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import torch

from ...registry import DISTORTIONS
from ..steps import StepGroup
from . import blur, brightness, color, compression, noise, sharpness, spatial

BatchedResult = torch.Tensor | compression.PendingImages


@dataclass(frozen=True)
class BatchedOp:
    """A batched distortion.

    Attributes:
        apply: the function.
        host_bound: it runs on host threads and returns a `PendingImages`; the engine
            starts it first at its step position and collects it last.
    """

    apply: Callable[[torch.Tensor, StepGroup], BatchedResult]
    host_bound: bool = False


BATCHED_OPS: Mapping[str, BatchedOp] = MappingProxyType(
    {
        "gaublur": BatchedOp(blur.gaussian_blur),
        "lensblur": BatchedOp(blur.lens_blur),
        "motionblur": BatchedOp(blur.motion_blur),
        "colordiff": BatchedOp(color.color_diffusion),
        "colorshift": BatchedOp(color.color_shift),
        "colorsat1": BatchedOp(color.saturation_hsv),
        "colorsat2": BatchedOp(color.saturation_lab),
        "jpeg2000": BatchedOp(compression.jpeg2000, host_bound=True),
        "jpeg": BatchedOp(compression.jpeg),
        "whitenoise": BatchedOp(noise.white_noise),
        "whitenoiseCC": BatchedOp(noise.white_noise_ycbcr),
        "impulsenoise": BatchedOp(noise.impulse_noise),
        "multnoise": BatchedOp(noise.multiplicative_noise),
        "brighten": BatchedOp(brightness.brighten),
        "darken": BatchedOp(brightness.darken),
        "meanshift": BatchedOp(brightness.mean_shift),
        "jitter": BatchedOp(spatial.jitter),
        "noneccpatch": BatchedOp(spatial.non_eccentricity_patch),
        "pixelate": BatchedOp(spatial.pixelate),
        "quantization": BatchedOp(spatial.quantization),
        "colorblock": BatchedOp(spatial.color_block),
        "highsharpen": BatchedOp(sharpness.high_sharpen),
        "lincontrchange": BatchedOp(sharpness.linear_contrast_change),
        "nonlincontrchange": BatchedOp(sharpness.contrast_compression),
    }
)

if set(BATCHED_OPS) != set(DISTORTIONS):  # the registry is the source of truth
    raise ImportError(f"batched ops out of step with the registry: {sorted(set(BATCHED_OPS) ^ set(DISTORTIONS))}")
