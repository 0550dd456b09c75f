"""The 24 distortion types of ARNIQA's degradation model, as data.

Each type belongs to one of 7 groups; a composed degradation picks at most one type
per group. Every type has 5 parameter values, one per level, ordered from mild (level
1) to strong (level 5); the values are those of the ARNIQA code (the KADID-10k
generator's values). Another implementation of the model (the batched torch/CUDA
engine) imports these tables rather than repeating them.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

NUM_LEVELS = 5


@dataclass(frozen=True)
class DistortionSpec:
    """One distortion type.

    Attributes:
        name: ARNIQA's short name, e.g. ``"gaublur"``.
        group: the group it belongs to, e.g. ``"blur"``.
        title: a human-readable name.
        parameter: what the level values mean (e.g. ``"sigma (px)"``).
        values: the parameter value of levels 1..5.
        kadid_id: the KADID-10k distortion type id (1..25), or None where KADID has none.
        min_size: the smallest image side (px) the distortion accepts.
    """

    name: str
    group: str
    title: str
    parameter: str
    values: tuple[float, ...]
    kadid_id: int | None = None
    min_size: int = 1

    def value(self, level: int) -> float:
        """The parameter value of `level` (1..5)."""
        check_level(level)
        return self.values[level - 1]


def check_level(level: int) -> None:
    """ValueError unless `level` is an integer (not a bool or a float) in 1..NUM_LEVELS."""
    if isinstance(level, bool) or not isinstance(level, numbers.Integral) or not 1 <= level <= NUM_LEVELS:
        raise ValueError(f"level must be an integer in 1..{NUM_LEVELS}, got {level!r}")


_SPECS = (
    # blur
    DistortionSpec("gaublur", "blur", "Gaussian blur", "sigma (px)", (0.1, 0.5, 1, 2, 5), 1),
    DistortionSpec("lensblur", "blur", "lens blur", "disk radius (px)", (1, 2, 4, 6, 8), 2),
    DistortionSpec("motionblur", "blur", "motion blur", "line length (px)", (1, 2, 4, 6, 10), 3),
    # colour
    DistortionSpec("colordiff", "color", "colour diffusion", "chroma blur/gain", (1, 3, 6, 8, 12), 4),
    DistortionSpec("colorshift", "color", "colour shift", "green shift (px)", (1, 3, 6, 8, 12), 5),
    DistortionSpec("colorsat1", "color", "saturation (HSV)", "S factor", (0.4, 0.2, 0.1, 0, -0.4), 7),
    DistortionSpec("colorsat2", "color", "saturation (Lab)", "ab factor", (1, 2, 3, 6, 9), 8),
    # compression
    DistortionSpec("jpeg2000", "compression", "JPEG2000", "compression ratio", (16, 32, 45, 120, 170), 9),
    DistortionSpec("jpeg", "compression", "JPEG", "quality", (43, 36, 24, 7, 4), 10),
    # noise
    DistortionSpec("whitenoise", "noise", "white noise", "variance", (0.001, 0.002, 0.003, 0.005, 0.01), 11),
    DistortionSpec(
        "whitenoiseCC", "noise", "white noise (YCbCr)", "variance", (0.0001, 0.0005, 0.001, 0.002, 0.003), 12
    ),
    DistortionSpec("impulsenoise", "noise", "impulse noise", "density", (0.001, 0.005, 0.01, 0.02, 0.03), 13),
    DistortionSpec("multnoise", "noise", "multiplicative noise", "variance", (0.001, 0.005, 0.01, 0.02, 0.05), 14),
    # brightness
    DistortionSpec("brighten", "brightness", "brighten", "curve lift", (0.1, 0.2, 0.4, 0.7, 1.1), 16),
    DistortionSpec("darken", "brightness", "darken", "curve drop", (0.05, 0.1, 0.2, 0.4, 0.8), 17),
    DistortionSpec("meanshift", "brightness", "mean shift", "offset", (0, 0.08, -0.08, 0.15, -0.15), 18),
    # spatial
    DistortionSpec("jitter", "spatial", "jitter", "displacement std (px)", (0.05, 0.1, 0.2, 0.5, 1), 19),
    DistortionSpec(
        "noneccpatch", "spatial", "non-eccentricity patch", "patch count", (20, 40, 60, 80, 100), 20, min_size=48
    ),
    DistortionSpec("pixelate", "spatial", "pixelate", "strength", (0.01, 0.05, 0.1, 0.2, 0.5), 21, min_size=4),
    DistortionSpec("quantization", "spatial", "quantization", "levels", (20, 16, 13, 10, 7), 22),
    DistortionSpec("colorblock", "spatial", "colour block", "block count", (2, 4, 6, 8, 10), 23, min_size=32),
    # sharpness and contrast
    DistortionSpec("highsharpen", "sharpness_contrast", "high sharpen", "unsharp gain", (1, 2, 3, 6, 12), 24),
    DistortionSpec(
        "lincontrchange", "sharpness_contrast", "contrast change", "curve amount", (0.0, 0.15, -0.4, 0.3, -0.6), 25
    ),
    DistortionSpec(
        "nonlincontrchange",
        "sharpness_contrast",
        "contrast compression",
        "output half-range",
        (0.4, 0.3, 0.2, 0.1, 0.05),
    ),
)

#: name -> spec, in ARNIQA's order.
DISTORTIONS: Mapping[str, DistortionSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})

#: group -> names of its types, in ARNIQA's order (the sampler depends on this order).
GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        group: tuple(spec.name for spec in _SPECS if spec.group == group)
        for group in dict.fromkeys(spec.group for spec in _SPECS)
    }
)


def get_spec(name: str) -> DistortionSpec:
    """The spec of distortion `name`; ValueError names the valid ones when it is unknown."""
    try:
        return DISTORTIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown distortion {name!r}; expected one of: {', '.join(DISTORTIONS)}") from None
