"""Image validation and conversions shared by the distortions and the CLI.

Images are torch tensors in channel-first RGB layout, (3, H, W), float32 in [0, 1]:
the layout of ``torchvision.transforms.ToTensor`` and of ARNIQA's training views, so
the reference and a batched (B, 3, H, W) engine index images the same way.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch


def as_float_image(image: torch.Tensor) -> torch.Tensor:
    """Validate a (3, H, W) RGB tensor and return it as float32 in [0, 1].

    uint8 images are scaled by 1/255; floating-point images are taken to be in [0, 1]
    already. Anything else raises ValueError.
    """
    if not isinstance(image, torch.Tensor):
        raise ValueError(f"expected a torch.Tensor of shape (3, H, W), got {type(image).__name__}")
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"expected an RGB image of shape (3, H, W), got shape {tuple(image.shape)}")
    if image.dtype == torch.uint8:
        return image.contiguous().to(torch.float32) / 255
    if not image.dtype.is_floating_point:
        raise ValueError(f"expected a float image in [0, 1] or a uint8 image, got dtype {image.dtype}")
    return image.to(torch.float32).contiguous()


def to_uint8(image: torch.Tensor) -> torch.Tensor:
    """Float [0, 1] -> uint8, rounding to the nearest level."""
    return (image * 255).round().clamp(0, 255).to(torch.uint8)


def quantize_8bit(image: torch.Tensor) -> torch.Tensor:
    """Round to the 256 levels an 8-bit image can hold, staying float."""
    return to_uint8(image).to(torch.float32) / 255


def load_image(path: str | Path) -> torch.Tensor:
    """Read an image file (any format OpenCV reads) as a (3, H, W) float32 RGB tensor."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read an image from {path}")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return torch.from_numpy(rgb).permute(2, 0, 1).to(torch.float32) / 255


def to_bgr_uint8(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) float RGB -> (H, W, 3) uint8 BGR, for OpenCV drawing and writing."""
    rgb = to_uint8(image).permute(1, 2, 0).numpy()
    return np.ascontiguousarray(rgb[:, :, ::-1])


def center_crop(image: torch.Tensor, size: int) -> torch.Tensor:
    """The central size x size window; ValueError if the image is smaller."""
    _, height, width = image.shape
    if height < size or width < size:
        raise ValueError(f"image of {height}x{width} is smaller than the {size}x{size} crop")
    top, left = (height - size) // 2, (width - size) // 2
    return image[:, top : top + size, left : left + size]
