"""What the preprocessing op produces: crops, normalisation, dtype, channel order."""

from __future__ import annotations

import math
from dataclasses import dataclass

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

CROP_MODES = ("whole", "center", "five")
DTYPES = ("float32", "float16")
CHANNEL_ORDERS = ("bgr", "rgb")

Shape = tuple[int, int, int, int]


@dataclass(frozen=True)
class PreprocessSpec:
    """Preprocessing of one frame into the encoder's full- and half-scale inputs.

    crop: "whole" keeps each scale entire; "center" takes one crop_size crop from the
        centre of each scale; "five" takes ARNIQA's five crops per scale (center,
        top-left, bottom-left, top-right, bottom-right).
    mean, std: per RGB channel, applied to values in [0, 1].
    dtype: "float32" or "float16" output.
    channels: byte order of the input frame, "bgr" (OpenCV) or "rgb"; outputs are RGB.
    """

    crop: str = "whole"
    crop_size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    dtype: str = "float32"
    channels: str = "bgr"

    def __post_init__(self) -> None:
        _check_choice("crop", self.crop, CROP_MODES)
        _check_choice("dtype", self.dtype, DTYPES)
        _check_choice("channels", self.channels, CHANNEL_ORDERS)
        if isinstance(self.crop_size, bool) or not isinstance(self.crop_size, int) or self.crop_size < 1:
            raise ValueError(f"crop_size must be a positive int, got {self.crop_size!r}")
        mean = _three_floats("mean", self.mean)
        std = _three_floats("std", self.std)
        if any(s == 0.0 for s in std):
            raise ValueError(f"std must be non-zero, got {std}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @property
    def num_crops(self) -> int:
        return 5 if self.crop == "five" else 1


def output_shapes(height: int, width: int, spec: PreprocessSpec) -> tuple[Shape, Shape]:
    """NCHW shapes of the (full, half) outputs for a height x width frame.

    The half scale is (height // 2, width // 2); a crop must fit in both scales.
    """
    if height < 2 or width < 2:
        raise ValueError(f"frame must be at least 2x2 pixels (the half scale halves each side), got {height}x{width}")
    scales = {"full": (height, width), "half": (height // 2, width // 2)}
    shapes = []
    for name, (h, w) in scales.items():
        if spec.crop == "whole":
            shapes.append((1, 3, h, w))
            continue
        size = spec.crop_size
        if size > h or size > w:
            raise ValueError(
                f"crop_size {size} does not fit the {name} scale ({h}x{w}) of a {height}x{width} frame; "
                'use crop="whole" or a smaller crop_size'
            )
        shapes.append((spec.num_crops, 3, size, size))
    return shapes[0], shapes[1]


def crop_origins(height: int, width: int, spec: PreprocessSpec) -> list[tuple[int, int]]:
    """(top, left) of each crop in an image of one scale, in ARNIQA's order."""
    if spec.crop == "whole":
        return [(0, 0)]
    size = spec.crop_size
    center = (height // 2 - size // 2, width // 2 - size // 2)
    if spec.crop == "center":
        return [center]
    bottom, right = height - size, width - size
    return [center, (0, 0), (bottom, 0), (0, right), (bottom, right)]


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _three_floats(name: str, values: object) -> tuple[float, float, float]:
    try:
        floats = tuple(float(v) for v in values)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be three numbers, got {values!r}") from None
    if len(floats) != 3 or not all(math.isfinite(v) for v in floats):
        raise ValueError(f"{name} must be three finite numbers, got {values!r}")
    return floats  # type: ignore[return-value]
