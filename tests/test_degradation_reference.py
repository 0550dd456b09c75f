"""Tests of the reference degradation model: registry, sampler and the 24 distortions."""

from __future__ import annotations

import colorsys
import dataclasses
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from scipy import stats  # noqa: E402

from training.degradation import (  # noqa: E402  # noqa: E402
    DISTORTIONS,
    GROUPS,
    REFERENCE_FUNCTIONS,
    CompositionSampler,
    DistortionSequence,
    DistortionStep,
    apply_distortion,
    apply_sequence,
    color,
    get_spec,
    level_probabilities,
    reference,
)
from training.degradation.kernels import disk_kernel, gaussian_kernel_1d, motion_kernel  # noqa: E402

LEVELS = (1, 2, 3, 4, 5)


def synthetic_image(size: int = 96, seed: int = 0) -> torch.Tensor:
    """Colour gradients, sharp checker edges and fine texture, kept inside (0, 1)."""
    rows, cols = np.mgrid[0:size, 0:size] / (size - 1)
    checker = ((rows * 8).astype(int) + (cols * 8).astype(int)) % 2 - 0.5
    texture = np.random.default_rng(seed).uniform(-0.04, 0.04, (3, size, size))
    base = np.stack([0.2 + 0.6 * cols, 0.2 + 0.6 * rows, 0.5 + 0.25 * np.sin(6 * (rows + cols))])
    return torch.from_numpy(np.clip(base + 0.2 * checker + texture, 0.02, 0.98)).float()


def flat_image(value: float, size: int = 128) -> torch.Tensor:
    return torch.full((3, size, size), value)


def distort(image: torch.Tensor, name: str, level: int, seed: int = 0) -> torch.Tensor:
    return apply_distortion(image, name, level, np.random.default_rng(seed))


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def laplacian_energy(image: torch.Tensor) -> float:
    lap = 4 * image[:, 1:-1, 1:-1] - image[:, :-2, 1:-1] - image[:, 2:, 1:-1] - image[:, 1:-1, :-2] - image[:, 1:-1, 2:]
    return float((lap**2).mean())


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    return synthetic_image()


# --- registry -------------------------------------------------------------------------

KADID_IDS = {
    "gaublur": 1, "lensblur": 2, "motionblur": 3, "colordiff": 4, "colorshift": 5, "colorsat1": 7,
    "colorsat2": 8, "jpeg2000": 9, "jpeg": 10, "whitenoise": 11, "whitenoiseCC": 12, "impulsenoise": 13,
    "multnoise": 14, "brighten": 16, "darken": 17, "meanshift": 18, "jitter": 19, "noneccpatch": 20,
    "pixelate": 21, "quantization": 22, "colorblock": 23, "highsharpen": 24, "lincontrchange": 25,
    "nonlincontrchange": None,
}  # fmt: skip


def test_registry_has_24_types_in_7_groups_with_5_levels():
    assert list(DISTORTIONS) == list(KADID_IDS)
    assert {name: spec.kadid_id for name, spec in DISTORTIONS.items()} == KADID_IDS
    assert [len(names) for names in GROUPS.values()] == [3, 4, 2, 4, 3, 5, 3]
    assert sorted(n for names in GROUPS.values() for n in names) == sorted(DISTORTIONS)
    assert all(len(spec.values) == 5 for spec in DISTORTIONS.values())
    assert set(REFERENCE_FUNCTIONS) == set(DISTORTIONS)


def test_registry_values_are_arniqas():
    assert DISTORTIONS["gaublur"].values == (0.1, 0.5, 1, 2, 5)
    assert DISTORTIONS["jpeg"].values == (43, 36, 24, 7, 4)
    assert DISTORTIONS["jpeg2000"].values == (16, 32, 45, 120, 170)
    assert DISTORTIONS["colorsat1"].values == (0.4, 0.2, 0.1, 0, -0.4)
    assert DISTORTIONS["quantization"].values == (20, 16, 13, 10, 7)
    assert get_spec("meanshift").value(3) == -0.08


# --- every distortion -----------------------------------------------------------------


@pytest.mark.parametrize("name", list(DISTORTIONS))
def test_every_level_returns_a_valid_image_and_leaves_the_input_alone(name, image):
    before = image.clone()
    for level in LEVELS:
        out = distort(image, name, level)
        assert out.shape == image.shape and out.dtype == torch.float32
        assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert torch.equal(image, before)


@pytest.mark.parametrize("name", list(DISTORTIONS))
def test_output_is_a_function_of_image_value_and_generator_state(name, image):
    assert torch.equal(distort(image, name, 4, seed=7), distort(image, name, 4, seed=7))


def test_uint8_input_is_scaled_to_unit_range(image):
    as_uint8 = (image * 255).round().to(torch.uint8)
    expected = distort(as_uint8.float() / 255, "gaublur", 4)
    assert torch.allclose(distort(as_uint8, "gaublur", 4), expected)


def test_random_distortions_change_with_the_generator(image):
    for name in ("motionblur", "whitenoise", "impulsenoise", "jitter", "noneccpatch", "colorblock"):
        assert not torch.equal(distort(image, name, 5, seed=1), distort(image, name, 5, seed=2)), name


# --- strength grows with the level ----------------------------------------------------


def _mean_saturation(image: torch.Tensor) -> float:
    return float((image.amax(0) - image.amin(0)).mean())


def _chroma(image: torch.Tensor) -> float:
    return float(color.rgb_to_lab(image)[1:].abs().mean())


# name -> (measure of the output, +1 if it grows with the level, -1 if it falls)
MONOTONE_MEASURES = {
    "gaublur": (laplacian_energy, -1),
    "lensblur": (laplacian_energy, -1),
    "motionblur": (laplacian_energy, -1),
    "colordiff": (_chroma, +1),
    "colorsat1": (_mean_saturation, -1),  # 0.4 .. 0 desaturates; -0.4 re-tints weakly
    "colorsat2": (_chroma, +1),
    "jitter": (lambda out: float(((out - synthetic_image()) ** 2).mean()), +1),
    "pixelate": (lambda out: len(torch.unique(out[0], dim=0)), -1),  # distinct rows left
    "jpeg": (lambda out: -psnr(out, synthetic_image()), +1),
    "jpeg2000": (lambda out: -psnr(out, synthetic_image()), +1),
    "whitenoise": (lambda out: float((out - synthetic_image()).var()), +1),
    "whitenoiseCC": (lambda out: float((out - synthetic_image()).var()), +1),
    "multnoise": (lambda out: float((out - synthetic_image()).var()), +1),
    "impulsenoise": (lambda out: float((out != synthetic_image()).float().mean()), +1),
    "colorshift": (lambda out: float((out - synthetic_image()).abs().mean()), +1),
    "brighten": (lambda out: float(out.mean()), +1),
    "darken": (lambda out: float(out.mean()), -1),
    "quantization": (lambda out: len(torch.unique(out)), -1),
    "highsharpen": (laplacian_energy, +1),
    "nonlincontrchange": (lambda out: float(out.std()), -1),
    "colorblock": (lambda out: float((out != synthetic_image()).any(0).float().mean()), +1),
    "noneccpatch": (lambda out: float((out != synthetic_image()).any(0).float().mean()), +1),
}
NOT_MONOTONE_IN_VALUE = {"meanshift", "lincontrchange"}  # signs alternate; see known-value tests


def test_every_type_has_a_strength_check():
    assert set(MONOTONE_MEASURES) | NOT_MONOTONE_IN_VALUE == set(DISTORTIONS)


@pytest.mark.parametrize("name", list(MONOTONE_MEASURES))
def test_strength_grows_with_level(name, image):
    measure, direction = MONOTONE_MEASURES[name]
    levels = LEVELS[:4] if name == "colorsat1" else LEVELS
    scores = [direction * measure(distort(image, name, level)) for level in levels]
    assert all(a <= b for a, b in zip(scores, scores[1:])), scores
    assert scores[0] < scores[-1], scores


# --- known values ---------------------------------------------------------------------


def _parabola_through_midpoint(x: float, midpoint: float) -> float:
    """The curve through (0, 0), (0.5, midpoint), (1, 1), clipped."""
    return min(max((2 - 4 * midpoint) * x**2 + (4 * midpoint - 1) * x, 0.0), 1.0)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("grey", [0.2, 0.5, 0.8])
def test_darken_is_the_parabola_through_the_lowered_midpoint(level, grey):
    amount = DISTORTIONS["darken"].values[level - 1]
    expected = _parabola_through_midpoint(grey, 0.5 - amount / 2)
    assert distort(flat_image(grey, 8), "darken", level).sub(expected).abs().max() < 1e-6


def _srgb_grey_to_lightness(g: float) -> float:
    linear = g / 12.92 if g <= 0.04045 else ((g + 0.055) / 1.055) ** 2.4
    return 116 * linear ** (1 / 3) - 16 if linear > 0.008856 else 903.3 * linear


def _lightness_to_srgb_grey(lightness: float) -> float:
    linear = ((lightness + 16) / 116) ** 3 if lightness > 8 else lightness / 903.3
    return 12.92 * linear if linear <= 0.0031308 else 1.055 * linear ** (1 / 2.4) - 0.055


@pytest.mark.parametrize("level", LEVELS)
def test_brighten_mixes_rgb_and_lightness_curves(level):
    amount = DISTORTIONS["brighten"].values[level - 1]
    midpoint = 0.5 + amount / 2
    grey = 0.4
    via_rgb = _parabola_through_midpoint(grey, midpoint)
    lightness = _parabola_through_midpoint(_srgb_grey_to_lightness(grey) / 100, midpoint) * 100
    expected = (2 * via_rgb + min(_lightness_to_srgb_grey(lightness), 1.0)) / 3
    assert distort(flat_image(grey, 8), "brighten", level).sub(expected).abs().max() < 2e-3


@pytest.mark.parametrize("level", LEVELS)
def test_mean_shift_adds_the_offset(level, image):
    offset = DISTORTIONS["meanshift"].values[level - 1]
    assert torch.allclose(distort(image, "meanshift", level), (image + offset).clamp(0, 1))


@pytest.mark.parametrize("level", LEVELS)
def test_linear_contrast_curve_passes_through_its_control_points(level):
    amount = DISTORTIONS["lincontrchange"].values[level - 1]
    inputs = torch.tensor([0.0, 0.3, 0.5, 0.7, 1.0]).view(1, 1, 5).expand(3, 5, 5)
    expected = torch.tensor([0, 0.25 - amount / 4, 0.5, 0.75 + amount / 4, 1]).clamp(0, 1).view(1, 1, 5)
    assert torch.allclose(distort(inputs, "lincontrchange", level), expected.expand(3, 5, 5), atol=1e-6)


@pytest.mark.parametrize("level", LEVELS)
def test_contrast_compression_maps_unit_range_onto_half_range(level, image):
    half = DISTORTIONS["nonlincontrchange"].values[level - 1]
    expected = 0.5 + 2 * half * (image - 0.5)
    assert torch.allclose(distort(image, "nonlincontrchange", level), expected, atol=1e-6)


@pytest.mark.parametrize("level", LEVELS)
def test_pixelate_keeps_int_of_scaled_size_distinct_rows(level):
    strength = DISTORTIONS["pixelate"].values[level - 1]
    ramp = torch.linspace(0, 1, 96).view(1, 96, 1).expand(3, 96, 96)  # every row distinct
    out = distort(ramp, "pixelate", level)
    assert len(torch.unique(out[0, :, 0])) == int(96 * (0.95 - strength**0.6))


@pytest.mark.parametrize("level", LEVELS)
def test_quantization_bins_values_and_stretches_bin_indices(level, image):
    levels = DISTORTIONS["quantization"].values[level - 1]
    values = (image * 255).numpy()
    edges = [0] + [int(255 * k / levels) for k in range(1, levels)] + [256]
    bins = np.digitize(values, edges, right=True).astype(np.float32)
    expected = (bins - bins.min()) / (bins.max() - bins.min())
    np.testing.assert_allclose(distort(image, "quantization", level).numpy(), expected, atol=1e-6)


@pytest.mark.parametrize("level", LEVELS)
def test_hsv_saturation_matches_an_hsv_round_trip(level):
    factor = DISTORTIONS["colorsat1"].values[level - 1]
    pixels = np.random.default_rng(level).random((3, 4, 4)).astype(np.float32)
    out = distort(torch.from_numpy(pixels), "colorsat1", level).numpy()
    for r, c in np.ndindex(4, 4):
        h, s, v = colorsys.rgb_to_hsv(*pixels[:, r, c])
        expected = np.clip(colorsys.hsv_to_rgb(h, s * factor, v), 0, 1)
        np.testing.assert_allclose(out[:, r, c], expected, atol=1e-5)


@pytest.mark.parametrize("level", LEVELS)
def test_white_noise_variance(level):
    variance = DISTORTIONS["whitenoise"].values[level - 1]
    measured = float((distort(flat_image(0.5), "whitenoise", level) - 0.5).var())
    assert measured == pytest.approx(variance, rel=0.05)


@pytest.mark.parametrize("level", LEVELS)
def test_ycbcr_noise_variance_per_rgb_channel(level):
    variance = DISTORTIONS["whitenoiseCC"].values[level - 1]
    # R = Y + 1.403 Cr, G = Y - 0.714 Cr - 0.344 Cb, B = Y + 1.773 Cb with i.i.d. noise on Y, Cb, Cr
    gains = torch.tensor([1 + 1.403**2, 1 + 0.714**2 + 0.344**2, 1 + 1.773**2])
    noise = distort(flat_image(0.5), "whitenoiseCC", level) - 0.5
    measured = noise.flatten(1).var(dim=1)
    assert torch.allclose(measured, variance * gains, rtol=0.05)


@pytest.mark.parametrize("level", LEVELS)
def test_multiplicative_noise_variance_scales_with_the_value(level):
    variance = DISTORTIONS["multnoise"].values[level - 1]
    measured = float((distort(flat_image(0.5), "multnoise", level) - 0.5).var())
    assert measured == pytest.approx(0.25 * variance, rel=0.05)


@pytest.mark.parametrize("level", LEVELS)
def test_impulse_noise_density_and_salt_pepper_balance(level):
    density = DISTORTIONS["impulsenoise"].values[level - 1]
    out = distort(flat_image(0.5, size=512), "impulsenoise", level)
    salt, pepper = float((out == 1).float().mean()), float((out == 0).float().mean())
    assert salt + pepper == pytest.approx(density, rel=0.05)
    assert salt == pytest.approx(pepper, rel=0.15)


def test_gaussian_blur_at_the_smallest_sigma_is_the_identity(image):
    assert torch.equal(distort(image, "gaublur", 1), image)


def test_colour_blocks_are_flat_32px_squares(image):
    out = distort(image, "colorblock", 1)
    changed = (out != image).any(0)
    assert 0 < int(changed.sum()) <= 2 * 32 * 32
    assert len(torch.unique(out[:, changed], dim=1).T) <= 2


# --- kernels and colour conversions ---------------------------------------------------


def test_disk_kernel_matches_matlab_fspecial():
    expected = np.array(
        [
            [0.0, 0.0170, 0.0381, 0.0170, 0.0],
            [0.0170, 0.0784, 0.0796, 0.0784, 0.0170],
            [0.0381, 0.0796, 0.0796, 0.0796, 0.0381],
            [0.0170, 0.0784, 0.0796, 0.0784, 0.0170],
            [0.0, 0.0170, 0.0381, 0.0170, 0.0],
        ]
    )
    np.testing.assert_allclose(disk_kernel(2), expected, atol=5e-5)
    for radius in (1, 4, 6, 8):
        kernel = disk_kernel(radius)
        assert kernel.shape == (2 * radius + 1,) * 2 and kernel.min() >= 0
        assert kernel.sum() == pytest.approx(1)


def test_motion_kernel_matches_matlab_fspecial():
    np.testing.assert_allclose(motion_kernel(4, 0), [[0.125, 0.25, 0.25, 0.25, 0.125]], atol=1e-12)
    np.testing.assert_allclose(motion_kernel(4, 90), [[0.125], [0.25], [0.25], [0.25], [0.125]], atol=1e-12)
    rising = motion_kernel(10, 45)  # bottom-left to top-right
    np.testing.assert_allclose(rising, rising.T, atol=1e-12)
    np.testing.assert_allclose(motion_kernel(10, 135), np.fliplr(rising), atol=1e-12)
    assert np.trace(np.fliplr(rising)) > 0.5 and rising.sum() == pytest.approx(1)


def test_gaussian_kernel_width_and_normalisation():
    assert len(gaussian_kernel_1d(5)) == 21 and gaussian_kernel_1d(5).sum() == pytest.approx(1)
    np.testing.assert_array_equal(gaussian_kernel_1d(0.1), [0, 1, 0])


def test_lab_round_trip_and_reference_white():
    rgb = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(color.lab_to_rgb(color.rgb_to_lab(rgb)), rgb, atol=1e-4)
    white = color.rgb_to_lab(torch.ones(3, 1, 1)).flatten()
    # kornia's 6-digit matrix does not map RGB white exactly onto D65: a, b are off by ~0.005
    assert torch.allclose(white, torch.tensor([100.0, 0, 0]), atol=0.01)


# --- sampler --------------------------------------------------------------------------


def test_level_probabilities_are_a_normalised_half_gaussian():
    expected = np.exp(-(np.arange(5) ** 2) / (2 * 2.5**2))
    np.testing.assert_allclose(level_probabilities(), expected / expected.sum())
    np.testing.assert_allclose(level_probabilities(3), expected[:3] / expected[:3].sum())


def _draw(sampler: CompositionSampler, count: int, seed: int = 0) -> list[DistortionSequence]:
    rng = np.random.default_rng(seed)
    return [sampler.generate_parameters(rng) for _ in range(count)]


def test_sampler_draws_distinct_groups_and_one_to_max_steps():
    group_of = {name: spec.group for name, spec in DISTORTIONS.items()}
    sequences = _draw(CompositionSampler(max_distortions=4, pristine_prob=0.0), 3000)
    lengths = [len(sequence) for sequence in sequences]
    for sequence in sequences:
        groups = [group_of[name] for name in sequence.names]
        assert len(set(groups)) == len(groups)
    counts = np.bincount(lengths, minlength=5)[1:]
    assert counts[0] > 0 and stats.chisquare(counts).pvalue > 1e-3  # uniform over 1..4


def test_sampler_levels_follow_the_half_gaussian():
    sequences = _draw(CompositionSampler(max_distortions=7, pristine_prob=0.0), 4000)
    levels = [level for sequence in sequences for level in sequence.levels]
    observed = np.bincount(levels, minlength=6)[1:]
    expected = level_probabilities() * len(levels)
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_sampler_uses_only_the_first_num_levels():
    sequences = _draw(CompositionSampler(num_levels=2, pristine_prob=0.0), 500)
    assert {level for sequence in sequences for level in sequence.levels} == {1, 2}


def test_sampler_pristine_probability():
    sequences = _draw(CompositionSampler(pristine_prob=0.3), 5000)
    assert np.mean([sequence.is_pristine for sequence in sequences]) == pytest.approx(0.3, abs=0.02)
    assert all(seq.is_pristine for seq in _draw(CompositionSampler(max_distortions=0), 50))


def test_sampler_is_reproducible_from_a_seed():
    sampler = CompositionSampler()
    assert _draw(sampler, 50, seed=3) == _draw(sampler, 50, seed=3)
    assert _draw(sampler, 50, seed=3) != _draw(sampler, 50, seed=4)


def test_sequences_are_immutable_and_hashable():
    sequence = DistortionSequence.of(("jpeg", 2), ("whitenoise", 5), seed=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sequence.steps = ()  # type: ignore[misc]
    assert hash(sequence) == hash(DistortionSequence.of(("jpeg", 2), ("whitenoise", 5), seed=1))
    assert str(sequence) == "jpeg@2 > whitenoise@5" and str(DistortionSequence()) == "pristine"


def test_replay_gives_every_image_and_scale_the_same_steps_and_random_streams(monkeypatch, image):
    calls: list[tuple] = []

    def record(name):
        def recorded(img, value, rng):
            calls.append((name, value, rng.random()))
            return img

        return recorded

    for name in DISTORTIONS:
        monkeypatch.setitem(reference.REFERENCE_FUNCTIONS, name, record(name))
    sequence = DistortionSequence.of(("motionblur", 3), ("colorblock", 2), ("whitenoise", 4), seed=11)
    half_scale = torch.nn.functional.interpolate(image.unsqueeze(0), scale_factor=0.5, mode="area")[0]
    replays = []
    for img in (image, synthetic_image(seed=5), half_scale):
        calls.clear()
        apply_sequence(img, sequence, realization=2)
        replays.append(list(calls))
    assert replays[0] == replays[1] == replays[2]
    assert [(name, value) for name, value, _ in replays[0]] == [
        ("motionblur", 4),
        ("colorblock", 4),
        ("whitenoise", 0.005),
    ]


def test_realizations_share_steps_but_not_noise(image):
    sequence = DistortionSequence.of(("gaublur", 3), ("whitenoise", 3), seed=2)
    first = apply_sequence(image, sequence, realization=0)
    assert torch.equal(first, apply_sequence(image, sequence, realization=0))
    assert not torch.equal(first, apply_sequence(image, sequence, realization=1))
    assert apply_sequence(image[:, ::2, ::2], sequence).shape == (3, 48, 48)
    assert torch.equal(apply_sequence(image, DistortionSequence()), image)


# --- bad input ------------------------------------------------------------------------


def test_unknown_distortion_is_a_value_error_naming_the_valid_ones(image):
    with pytest.raises(ValueError, match="unknown distortion 'blur'.*gaublur"):
        apply_distortion(image, "blur", 1)
    with pytest.raises(ValueError, match="unknown distortion"):
        DistortionStep("blur", 1, 0)


@pytest.mark.parametrize("level", [0, 6, 2.0, True, "3"])
def test_levels_outside_one_to_five_are_rejected(level, image):
    with pytest.raises(ValueError, match="level must be an integer in 1..5"):
        apply_distortion(image, "jpeg", level)
    with pytest.raises(ValueError):
        DistortionStep("jpeg", level, 0)


@pytest.mark.parametrize(("name", "side"), [("noneccpatch", 47), ("colorblock", 31), ("pixelate", 3)])
def test_images_smaller_than_a_distortion_needs_are_rejected(name, side):
    with pytest.raises(ValueError, match=f"{name} needs images of at least"):
        apply_distortion(flat_image(0.5, side), name, 1)


@pytest.mark.parametrize(
    "bad",
    [
        torch.zeros(3, 8, 8, dtype=torch.int32),
        torch.zeros(3, 8, 8, dtype=torch.bool),
        np.zeros((3, 8, 8), np.float32),
        torch.zeros(8, 8, 3),
        torch.zeros(1, 3, 8, 8),
    ],
)
def test_images_of_wrong_type_dtype_or_shape_are_rejected(bad):
    with pytest.raises(ValueError, match="expected"):
        apply_distortion(bad, "gaublur", 2)


def test_sampler_rejects_bad_settings():
    with pytest.raises(ValueError, match="max_distortions"):
        CompositionSampler(max_distortions=8)
    with pytest.raises(ValueError, match="num_levels"):
        CompositionSampler(num_levels=6)
    with pytest.raises(ValueError, match="pristine_prob"):
        CompositionSampler(pristine_prob=1.5)
