"""Reference implementation of ARNIQA's 24 distortions, one image at a time, on the CPU.

Layout: every function takes and returns a torch tensor of shape (3, H, W), RGB,
float32 in [0, 1] (uint8 input is accepted and scaled by 1/255). That is the layout
of ARNIQA's training views and of a (B, 3, H, W) batch, so a batched engine compares
against ``reference(batch[i])`` directly.

Every distortion is ``fn(image, value, rng)``: `value` is the parameter of the level
(``registry.DISTORTIONS[name].values``) and `rng` a numpy Generator that the random
distortions draw from (geometric parameters first, through `random_params`, then
per-pixel noise). Output is a deterministic function of (image, value, rng state),
clipped to [0, 1]. Inputs are never modified.

Where ARNIQA's code departs from what it evidently means to compute (and from the
KADID-10k generator it reproduces), this reference follows the intent; see
docs/degradation.md for the list.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from . import color, random_params
from .filtering import filter2d, filter_separable, pad_replicate
from .images import as_float_image, quantize_8bit, to_uint8
from .kernels import disk_kernel, gaussian_kernel_1d, motion_kernel
from .registry import DistortionSpec, get_spec
from .sampler import DistortionSequence
from .tone_curves import apply_tone_curve, brightness_curve_points, contrast_curve_points

DistortionFn = Callable[[torch.Tensor, float, "np.random.Generator | None"], torch.Tensor]

#: ARNIQA name -> reference function, filled by `_implements`.
REFERENCE_FUNCTIONS: dict[str, DistortionFn] = {}


def _implements(name: str) -> Callable[[Callable], DistortionFn]:
    """Register `fn` as the reference of distortion `name`, wrapped with the common checks."""
    spec = get_spec(name)

    def register(fn: Callable) -> DistortionFn:
        @functools.wraps(fn)
        def checked(image: torch.Tensor, value: float, rng: np.random.Generator | None = None) -> torch.Tensor:
            image = as_float_image(image)
            _check_size(image, spec)
            if rng is None:
                rng = np.random.default_rng()
            return fn(image, value, rng).clamp(0, 1).to(torch.float32)

        REFERENCE_FUNCTIONS[name] = checked
        return checked

    return register


def _check_size(image: torch.Tensor, spec: DistortionSpec) -> None:
    _, height, width = image.shape
    if min(height, width) < spec.min_size:
        raise ValueError(
            f"{spec.name} needs images of at least {spec.min_size}x{spec.min_size} px, got {height}x{width}"
        )


def apply_distortion(
    image: torch.Tensor, name: str, level: int, rng: np.random.Generator | None = None
) -> torch.Tensor:
    """Apply distortion `name` at `level` (1..5); without `rng`, random types draw unseeded."""
    value = get_spec(name).value(level)
    return REFERENCE_FUNCTIONS[name](image, value, rng)


def apply_sequence(image: torch.Tensor, sequence: DistortionSequence, realization: int = 0) -> torch.Tensor:
    """Apply the steps of `sequence` in order; step i draws from ``step.rng(realization)``."""
    image = as_float_image(image)
    for step in sequence:
        image = apply_distortion(image, step.name, step.level, step.rng(realization))
    return image


# --- blur -----------------------------------------------------------------------------


@_implements("gaublur")
def gaussian_blur(image: torch.Tensor, sigma: float, rng: np.random.Generator) -> torch.Tensor:
    """Gaussian blur, kernel width 2*ceil(2*sigma)+1, replicated borders.

    sigma (px) per level: 0.1, 0.5, 1, 2, 5 (0.1 leaves the image unchanged).
    """
    return filter_separable(image, gaussian_kernel_1d(sigma))


@_implements("lensblur")
def lens_blur(image: torch.Tensor, radius: float, rng: np.random.Generator) -> torch.Tensor:
    """Defocus: mean over an anti-aliased disk (MATLAB's fspecial('disk')).

    radius (px) per level: 1, 2, 4, 6, 8.
    """
    return filter2d(image, disk_kernel(radius))


@_implements("motionblur")
def motion_blur(image: torch.Tensor, length: float, rng: np.random.Generator) -> torch.Tensor:
    """Linear motion blur along a random direction (uniform whole degrees 0..180).

    line length (px) per level: 1, 2, 4, 6, 10.
    """
    angle = random_params.draw_motion_angle(rng)
    return filter2d(image, motion_kernel(length, angle))


# --- colour ---------------------------------------------------------------------------


@_implements("colordiff")
def color_diffusion(image: torch.Tensor, amount: float, rng: np.random.Generator) -> torch.Tensor:
    """Colour bleeding: the Lab chroma (a, b) is Gaussian-blurred and amplified by `amount`.

    Blur sigma = 1.5 * amount + 2 px. amount per level: 1, 3, 6, 8, 12 (chroma gain and
    blur grow together, so colours smear and over-saturate). Quantized to 8 bits.
    """
    lab = color.rgb_to_lab(image)
    chroma = filter_separable(lab[1:], gaussian_kernel_1d(1.5 * amount + 2))
    lab = torch.cat((lab[:1], chroma * amount))
    return quantize_8bit(color.lab_to_rgb(lab))


@_implements("colorshift")
def color_shift(image: torch.Tensor, amount: float, rng: np.random.Generator) -> torch.Tensor:
    """Misregistered green channel, strongest at edges.

    The green channel is shifted by about `amount` px in a random down-right direction
    and blended with the original by an edge map: the luma gradient magnitude (central
    differences), Gaussian-blurred (sigma 4), scaled to [0, 1] and clipped to its 1st..
    99th percentile. shift (px) per level: 1, 3, 6, 8, 12.
    """
    down, right = random_params.draw_shift(rng, amount)
    edges = _edge_strength(color.rgb_to_gray(image))
    green = image[1]
    _, height, width = image.shape
    rows = (torch.arange(height) - down).clamp(0, height - 1)
    cols = (torch.arange(width) - right).clamp(0, width - 1)
    shifted = green[rows][:, cols]
    out = image.clone()
    out[1] = shifted * edges + green * (1 - edges)
    return out


def _edge_strength(gray: torch.Tensor) -> torch.Tensor:
    """Blend weights for `color_shift`: smoothed gradient magnitude in [0, 1]."""
    padded = pad_replicate(gray.unsqueeze(0), 1, 1)[0]
    grad_x = (padded[1:-1, 2:] - padded[1:-1, :-2]) / 2
    grad_y = (padded[2:, 1:-1] - padded[:-2, 1:-1]) / 2
    magnitude = torch.sqrt(grad_x**2 + grad_y**2)
    smooth = filter_separable(magnitude.unsqueeze(0), gaussian_kernel_1d(4))[0]
    low, high = smooth.min(), smooth.max()
    if low < high:
        smooth = (smooth - low) / (high - low)
    return smooth.clamp(*_percentile_band(smooth, 1))


def _percentile_band(values: torch.Tensor, percent: float) -> tuple[float, float]:
    """Nearest-rank `percent`-th and (100 - `percent`)-th percentiles."""
    flat = values.flatten()
    count = flat.numel()
    high_rank = min(max(math.floor(count * (100 - percent) / 100 + 0.5), 1), count)
    low_rank = count + 1 - high_rank
    return float(flat.kthvalue(low_rank).values), float(flat.kthvalue(high_rank).values)


@_implements("colorsat1")
def saturation_hsv(image: torch.Tensor, factor: float, rng: np.random.Generator) -> torch.Tensor:
    """HSV saturation multiplied by `factor`, hue and value kept.

    In closed form every channel moves towards (factor < 1) or past (factor < 0) the
    pixel's maximum: out = v + factor * (image - v), v = max over channels; this is
    exactly RGB -> HSV, S *= factor, HSV -> RGB. factor per level: 0.4, 0.2, 0.1, 0,
    -0.4 (0 is grey, -0.4 tints towards the complementary hue).
    """
    value = image.amax(dim=0, keepdim=True)
    return value + factor * (image - value)


@_implements("colorsat2")
def saturation_lab(image: torch.Tensor, factor: float, rng: np.random.Generator) -> torch.Tensor:
    """Lab chroma (a, b) multiplied by `factor`; out-of-gamut colours clip. 8-bit output.

    factor per level: 1, 2, 3, 6, 9 (1 changes only the 8-bit rounding).
    """
    lab = color.rgb_to_lab(image)
    lab = torch.cat((lab[:1], lab[1:] * factor))
    return quantize_8bit(color.lab_to_rgb(lab))


# --- compression ----------------------------------------------------------------------

_JPEG2000_MAX_RESOLUTIONS = 8  # wavelet levels + 1, as ARNIQA encodes


@_implements("jpeg2000")
def jpeg2000(image: torch.Tensor, ratio: float, rng: np.random.Generator) -> torch.Tensor:
    """JPEG 2000 round trip (OpenJPEG through Pillow) at a fixed compression ratio.

    One quality layer, LRCP order, 8 resolution levels (fewer on images under 128 px,
    which OpenJPEG cannot decompose 7 times). ratio per level: 16, 32, 45, 120, 170.
    """
    _, height, width = image.shape
    resolutions = min(_JPEG2000_MAX_RESOLUTIONS, int(math.log2(min(height, width))) + 1)
    return _encode_decode(
        image,
        format="JPEG2000",
        quality_mode="rates",
        quality_layers=[int(ratio)],
        num_resolutions=resolutions,
        prog_order="LRCP",
    )


@_implements("jpeg")
def jpeg(image: torch.Tensor, quality: float, rng: np.random.Generator) -> torch.Tensor:
    """JPEG round trip (libjpeg-turbo through Pillow, 4:2:0 chroma).

    Bit-identical to ARNIQA's torchvision round trip. quality per level: 43, 36, 24, 7, 4.
    """
    return _encode_decode(image, format="JPEG", quality=int(quality))


def _encode_decode(image: torch.Tensor, **save_options) -> torch.Tensor:
    """Round trip through an in-memory file written by Pillow with `save_options`."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image).permute(1, 2, 0).numpy(), "RGB").save(buffer, **save_options)
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return torch.from_numpy(decoded.copy()).permute(2, 0, 1).to(torch.float32) / 255


# --- noise ----------------------------------------------------------------------------


def _gaussian_noise(rng: np.random.Generator, like: torch.Tensor, variance: float) -> torch.Tensor:
    noise = rng.standard_normal(tuple(like.shape), dtype=np.float32)
    return torch.from_numpy(noise) * math.sqrt(variance)


@_implements("whitenoise")
def white_noise(image: torch.Tensor, variance: float, rng: np.random.Generator) -> torch.Tensor:
    """Additive i.i.d. Gaussian noise on each RGB value.

    variance per level: 0.001, 0.002, 0.003, 0.005, 0.01 (std 0.032 .. 0.1).
    """
    return image + _gaussian_noise(rng, image, variance)


@_implements("whitenoiseCC")
def white_noise_ycbcr(image: torch.Tensor, variance: float, rng: np.random.Generator) -> torch.Tensor:
    """Additive i.i.d. Gaussian noise on Y, Cb and Cr (so correlated across RGB).

    variance per level: 0.0001, 0.0005, 0.001, 0.002, 0.003.
    """
    ycbcr = color.rgb_to_ycbcr(image)
    return color.ycbcr_to_rgb(ycbcr + _gaussian_noise(rng, image, variance))


@_implements("impulsenoise")
def impulse_noise(image: torch.Tensor, density: float, rng: np.random.Generator) -> torch.Tensor:
    """Salt and pepper on single channel values.

    int(density * 3HW) positions (channel, row, column) are drawn uniformly with
    replacement; the first half become 1, the rest 0. density per level: 0.001, 0.005,
    0.01, 0.02, 0.03.
    """
    _, height, width = image.shape
    count = int(density * image.numel())
    channels = torch.from_numpy(rng.integers(0, 3, count))
    rows = torch.from_numpy(rng.integers(0, height, count))
    cols = torch.from_numpy(rng.integers(0, width, count))
    salt = count // 2
    out = image.clone()
    out[channels[:salt], rows[:salt], cols[:salt]] = 1
    out[channels[salt:], rows[salt:], cols[salt:]] = 0
    return out


@_implements("multnoise")
def multiplicative_noise(image: torch.Tensor, variance: float, rng: np.random.Generator) -> torch.Tensor:
    """Speckle: each value multiplied by 1 + N(0, variance).

    variance per level: 0.001, 0.005, 0.01, 0.02, 0.05.
    """
    return image * (1 + _gaussian_noise(rng, image, variance))


# --- brightness -----------------------------------------------------------------------


@_implements("brighten")
def brighten(image: torch.Tensor, amount: float, rng: np.random.Generator) -> torch.Tensor:
    """Brightening tone curve through (0.5, 0.5 + amount/2).

    Mix of the curve on each RGB channel (weight 2/3) and on Lab lightness (weight 1/3,
    which keeps hues). amount per level: 0.1, 0.2, 0.4, 0.7, 1.1.
    """
    curve = brightness_curve_points(0.5 + amount / 2)
    lab = color.rgb_to_lab(image)
    lightness = apply_tone_curve(lab[:1] / 100, curve) * 100
    via_lab = color.lab_to_rgb(torch.cat((lightness, lab[1:])))
    return (2 * apply_tone_curve(image, curve) + via_lab) / 3


@_implements("darken")
def darken(image: torch.Tensor, amount: float, rng: np.random.Generator) -> torch.Tensor:
    """Darkening tone curve through (0.5, 0.5 - amount/2) on each RGB channel.

    amount per level: 0.05, 0.1, 0.2, 0.4, 0.8.
    """
    return apply_tone_curve(image, brightness_curve_points(0.5 - amount / 2))


@_implements("meanshift")
def mean_shift(image: torch.Tensor, offset: float, rng: np.random.Generator) -> torch.Tensor:
    """`offset` added to every value, clipped.

    offset per level: 0, 0.08, -0.08, 0.15, -0.15 (strength grows with |offset|).
    """
    return image + offset


# --- spatial --------------------------------------------------------------------------

_JITTER_ROUNDS = 5


@_implements("jitter")
def jitter(image: torch.Tensor, std: float, rng: np.random.Generator) -> torch.Tensor:
    """Pixels scattered by random sub-pixel displacements, 5 rounds.

    Each round resamples the image bilinearly at (row - dy, col - dx), with dy, dx
    i.i.d. N(0, std^2) per pixel (one ``(2, H, W)`` normal draw: dy then dx) and
    coordinates clamped to the image. std (px) per level: 0.05, 0.1, 0.2, 0.5, 1.
    """
    _, height, width = image.shape
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    out = image
    for _ in range(_JITTER_ROUNDS):
        offsets = torch.from_numpy(rng.standard_normal((2, height, width), dtype=np.float32)) * std
        out = _sample_bilinear(out, rows - offsets[0], cols - offsets[1])
    return out


def _sample_bilinear(image: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """image at fractional (rows, cols), coordinates clamped to the image (border replicate)."""
    _, height, width = image.shape
    # grid_sample with align_corners=True maps -1 and 1 to the first and last pixel centres.
    grid_x = cols / max(width - 1, 1) * 2 - 1
    grid_y = rows / max(height - 1, 1) * 2 - 1
    grid = torch.stack((grid_x, grid_y), dim=-1).unsqueeze(0)
    sampled = F.grid_sample(image.unsqueeze(0), grid, mode="bilinear", padding_mode="border", align_corners=True)
    return sampled[0]


@_implements("noneccpatch")
def non_eccentricity_patch(image: torch.Tensor, count: float, rng: np.random.Generator) -> torch.Tensor:
    """16x16 patches copied to a spot up to 8 px away, one after the other.

    Sources lie at least 16 px inside the image (images need 48 px per side). patch
    count per level: 20, 40, 60, 80, 100.
    """
    _, height, width = image.shape
    size = random_params.NONECC_PATCH_SIZE
    moves = random_params.draw_patch_moves(rng, height, width, int(count))
    out = image.clone()
    for sr, sc, dr, dc in zip(moves.src_rows, moves.src_cols, moves.dst_rows, moves.dst_cols):
        out[:, dr : dr + size, dc : dc + size] = out[:, sr : sr + size, sc : sc + size].clone()
    return out


@_implements("pixelate")
def pixelate(image: torch.Tensor, strength: float, rng: np.random.Generator) -> torch.Tensor:
    """Nearest-neighbour downscale by z = 0.95 - strength^0.6 and back up.

    strength per level: 0.01, 0.05, 0.1, 0.2, 0.5 (z = 0.89, 0.78, 0.70, 0.57, 0.29).
    """
    _, height, width = image.shape
    scale = 0.95 - strength**0.6
    small_size = (int(height * scale), int(width * scale))
    if min(small_size) < 1:
        raise ValueError(f"pixelate at strength {strength} needs a larger image than {height}x{width}")
    small = F.interpolate(image.unsqueeze(0), size=small_size, mode="nearest")
    return F.interpolate(small, size=(height, width), mode="nearest")[0]


@_implements("quantization")
def quantization(image: torch.Tensor, levels: float, rng: np.random.Generator) -> torch.Tensor:
    """Each RGB value mapped to one of `levels` + 1 uniform bins, then contrast-stretched.

    Bin edges are 0, floor(255 k / levels) for k = 1..levels-1, and 256 (a value v*255
    falls in the first edge interval (lo, hi] that holds it; exact 0 is its own bin);
    the bin indices of the whole image are min-max scaled to [0, 1]. levels per level:
    20, 16, 13, 10, 7. No dithering (ARNIQA's dither routine is never called).
    """
    levels = int(levels)
    inner_edges = [math.floor(255 * k / levels) for k in range(1, levels)]
    edges = torch.tensor([0, *inner_edges, 256], dtype=torch.float32)
    bins = torch.bucketize(image * 255, edges).to(torch.float32)
    low, high = bins.min(), bins.max()
    return (bins - low) / (high - low) if low < high else bins


@_implements("colorblock")
def color_block(image: torch.Tensor, count: float, rng: np.random.Generator) -> torch.Tensor:
    """Flat squares of 32x32 px in uniformly random colours at random positions.

    Images need 32 px per side. block count per level: 2, 4, 6, 8, 10.
    """
    _, height, width = image.shape
    size = random_params.COLOR_BLOCK_SIZE
    blocks = random_params.draw_color_blocks(rng, height, width, int(count))
    out = image.clone()
    for row, col, rgb in zip(blocks.rows, blocks.cols, blocks.colors):
        out[:, row : row + size, col : col + size] = torch.tensor(rgb, dtype=out.dtype).view(3, 1, 1)
    return out


# --- sharpness and contrast -----------------------------------------------------------

_SHARPEN_SIGMA = 6
_SHARPEN_KERNEL_SIZE = 13


@_implements("highsharpen")
def high_sharpen(image: torch.Tensor, amount: float, rng: np.random.Generator) -> torch.Tensor:
    """Unsharp masking of Lab lightness: L + amount * (L - blur(L)).

    The blur is a 13x13 Gaussian with sigma 6 (ARNIQA's choice: nearly a box filter).
    amount per level: 1, 2, 3, 6, 12.
    """
    lab = color.rgb_to_lab(image)
    lightness = lab[:1]
    blurred = filter_separable(lightness, gaussian_kernel_1d(_SHARPEN_SIGMA, _SHARPEN_KERNEL_SIZE))
    sharpened = lightness + amount * (lightness - blurred)
    return color.lab_to_rgb(torch.cat((sharpened, lab[1:])))


@_implements("lincontrchange")
def linear_contrast_change(image: torch.Tensor, amount: float, rng: np.random.Generator) -> torch.Tensor:
    """Contrast tone curve on each RGB channel: a spline through (0.3, 0.25 - amount/4), (0.5, 0.5), (0.7, 0.75 + amount/4).

    amount per level: 0, 0.15, -0.4, 0.3, -0.6 (positive steepens, negative flattens
    mid-tones; strength alternates in sign and grows in size).
    """
    return apply_tone_curve(image, contrast_curve_points(amount))


@_implements("nonlincontrchange")
def contrast_compression(image: torch.Tensor, half_range: float, rng: np.random.Generator) -> torch.Tensor:
    """Values mapped linearly from [0, 1] onto [0.5 - half_range, 0.5 + half_range].

    ARNIQA names it non-linear contrast change, but its mapping is this linear one.
    half_range per level: 0.4, 0.3, 0.2, 0.1, 0.05.
    """
    return 0.5 + 2 * half_range * (image.clamp(0, 1) - 0.5)
