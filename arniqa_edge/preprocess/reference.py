"""Readable numpy implementation of the preprocessing op: the ground truth in tests.

The half scale is the antialiased bilinear downscale of PIL and of
``torch.nn.functional.interpolate(x, size=(H // 2, W // 2), mode="bilinear",
antialias=True, align_corners=False)``: a triangle filter whose support is stretched
by the in/out ratio, weights renormalised where it leaves the image. It is computed
in float from the uint8 values, with no intermediate rounding, so torch's result on
float input is the reference: float64 torch agrees with this module to 1e-15. (Its
float32 path computes the filter centres in float32 and drifts by up to ~5e-5 on
large odd sizes; the C++ and CUDA kernels place the taps exactly.) ARNIQA itself
resizes with PIL's bilinear reduce on uint8 images: the same filter, but PIL rounds
to uint8 after each of its two passes, which moves values by up to about 1/255.
"""

from __future__ import annotations

import numpy as np

from .spec import PreprocessSpec, crop_origins, output_shapes


def antialias_weights(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) resampling matrix, built like PIL's precompute_coeffs."""
    ratio = in_size / out_size
    stretch = max(ratio, 1.0)  # the triangle's support is 1, widened when downscaling
    weights = np.zeros((out_size, in_size), dtype=np.float64)
    for i in range(out_size):
        center = (i + 0.5) * ratio
        first = max(int(center - stretch + 0.5), 0)
        end = min(int(center + stretch + 0.5), in_size)
        taps = np.arange(first, end)
        w = np.clip(1.0 - np.abs((taps - center + 0.5) / stretch), 0.0, None)
        weights[i, first:end] = w / w.sum()
    return weights


def half_scale(image: np.ndarray) -> np.ndarray:
    """Antialiased bilinear downscale of an (H, W, C) float image to (H // 2, W // 2)."""
    height, width = image.shape[:2]
    rows = antialias_weights(height, height // 2)
    cols = antialias_weights(width, width // 2)
    return np.einsum("yh,hwc,xw->yxc", rows, image, cols, optimize=True)


def preprocess_reference(frame: np.ndarray, spec: PreprocessSpec = PreprocessSpec()) -> tuple[np.ndarray, np.ndarray]:
    """(full, half) float32 NCHW RGB tensors of a uint8 (H, W, 3) frame, as spec says."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
    height, width = frame.shape[:2]
    output_shapes(height, width, spec)  # validates sizes and crops

    rgb = frame[..., ::-1] if spec.channels == "bgr" else frame
    full = rgb.astype(np.float64) / 255.0
    half = half_scale(full)
    mean = np.asarray(spec.mean)
    std = np.asarray(spec.std)
    return _normalized_crops(full, mean, std, spec), _normalized_crops(half, mean, std, spec)


def _normalized_crops(image: np.ndarray, mean: np.ndarray, std: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    height, width = image.shape[:2]
    crop_h, crop_w = (height, width) if spec.crop == "whole" else (spec.crop_size, spec.crop_size)
    crops = [image[top : top + crop_h, left : left + crop_w] for top, left in crop_origins(height, width, spec)]
    normalized = (np.stack(crops) - mean) / std
    return np.ascontiguousarray(normalized.transpose(0, 3, 1, 2), dtype=np.float32)
