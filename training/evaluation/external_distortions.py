"""An independent implementation of eleven KADID-10k distortions, for out-of-implementation tests.

A model trained on `training.degradation` could learn that code's exact artifacts
(its JPEG encoder, its blur kernels, its noise generator) instead of quality. These
versions share none of that code: OpenCV's codecs and filters and numpy's generator,
written from KADID-10k's definitions and level parameters (the values in
`training.degradation.registry`, which are KADID's). Labelled with KADID's mean
opinion score of each (type, level), they make a second proxy whose distortions the
model never saw implemented this way.

`SERIES` names the three series a quality model must rank in order on any photo
(blur, JPEG, noise: level 1 best, level 5 worst).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from ..degradation.registry import get_spec

#: float RGB image in [0, 1] (H, W, 3), parameter value, generator -> distorted image in [0, 1].
ExternalFn = Callable[[np.ndarray, float, np.random.Generator], np.ndarray]


def _to_uint8_bgr(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)[:, :, ::-1])


def _from_uint8_bgr(bgr: np.ndarray) -> np.ndarray:
    return bgr[:, :, ::-1].astype(np.float32) / 255


def gaussian_blur(rgb, sigma, rng):
    return cv2.GaussianBlur(rgb, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)


def lens_blur(rgb, radius, rng):
    size = 2 * int(np.ceil(radius)) + 1
    yy, xx = np.mgrid[:size, :size] - size // 2
    disk = (xx**2 + yy**2 <= radius**2).astype(np.float32)
    return cv2.filter2D(rgb, -1, disk / disk.sum(), borderType=cv2.BORDER_REFLECT)


def motion_blur(rgb, length, rng):
    size = int(np.ceil(length)) | 1
    kernel = np.zeros((size, size), np.float32)
    kernel[size // 2, :] = 1
    angle = float(rng.uniform(0, 180))
    rotation = cv2.getRotationMatrix2D(((size - 1) / 2, (size - 1) / 2), angle, 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (size, size), flags=cv2.INTER_LINEAR)
    return cv2.filter2D(rgb, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def jpeg(rgb, quality, rng):
    ok, data = cv2.imencode(".jpg", _to_uint8_bgr(rgb), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return _from_uint8_bgr(cv2.imdecode(data, cv2.IMREAD_COLOR))


def jpeg2000(rgb, ratio, rng):
    # OpenCV's rate parameter is the target size per mille of the raw image.
    ok, data = cv2.imencode(
        ".jp2", _to_uint8_bgr(rgb), [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, max(1, round(1000 / ratio))]
    )
    return _from_uint8_bgr(cv2.imdecode(data, cv2.IMREAD_COLOR))


def white_noise(rgb, variance, rng):
    return rgb + rng.normal(0, np.sqrt(variance), rgb.shape).astype(np.float32)


def impulse_noise(rgb, density, rng):
    out = rgb.copy()
    hit = rng.random(rgb.shape) < density
    out[hit] = (rng.random(int(hit.sum())) < 0.5).astype(np.float32)
    return out


def multiplicative_noise(rgb, variance, rng):
    # speckle: uniform zero-mean noise of the given variance, scaled by the pixel
    half_width = np.sqrt(3 * variance)
    return rgb * (1 + rng.uniform(-half_width, half_width, rgb.shape).astype(np.float32))


def pixelate(rgb, strength, rng):
    height, width = rgb.shape[:2]
    scale = 0.95 - strength**0.6
    small = cv2.resize(rgb, (max(1, int(width * scale)), max(1, int(height * scale))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)


def mean_shift(rgb, offset, rng):
    return rgb + np.float32(offset)


def quantization(rgb, levels, rng):
    steps = int(levels) - 1
    return np.round(rgb * steps) / steps


EXTERNAL: dict[str, ExternalFn] = {
    "gaublur": gaussian_blur,
    "lensblur": lens_blur,
    "motionblur": motion_blur,
    "jpeg": jpeg,
    "jpeg2000": jpeg2000,
    "whitenoise": white_noise,
    "impulsenoise": impulse_noise,
    "multnoise": multiplicative_noise,
    "pixelate": pixelate,
    "meanshift": mean_shift,
    "quantization": quantization,
}

#: series that must be ranked in order on any photo.
SERIES = ("gaublur", "jpeg", "whitenoise")


def apply_external(rgb_uint8: np.ndarray, name: str, level: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> uint8 RGB distorted by the independent version of `name` at `level`."""
    if name not in EXTERNAL:
        raise ValueError(f"no independent implementation of {name!r}; have: {', '.join(EXTERNAL)}")
    value = get_spec(name).value(level)
    out = EXTERNAL[name](rgb_uint8.astype(np.float32) / 255, value, rng)
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
