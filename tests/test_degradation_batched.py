"""The batched degradation engine (CPU) against the one-image reference.

Deterministic types: PSNR >= 60 dB against the reference on every level (a tighter
bound than the 40 dB asked of them; geometric parameters are replayed exactly, so
only float rounding differs). Random types draw their pixels from the counter-based
kernels, not numpy, so they are compared in distribution: noise variance and impulse
density within 5% of the reference's, jitter's distortion energy within 10%.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import distortion_kernels_built  # noqa: E402

from training.degradation import (  # noqa: E402
    DISTORTIONS,
    CompositionSampler,
    DistortionSequence,
    DistortionStep,
    apply_sequence,
)

LEVELS = (1, 2, 3, 4, 5)
RANDOM_TYPES = ("whitenoise", "whitenoiseCC", "impulsenoise", "multnoise", "jitter")
DETERMINISTIC_TYPES = tuple(name for name in DISTORTIONS if name not in RANDOM_TYPES)
PARITY_DB = 60.0


pytestmark = pytest.mark.skipif(
    not distortion_kernels_built(), reason="needs arniqa_edge._C built with the distortion kernels (_C.distort)"
)

if distortion_kernels_built():
    from arniqa_edge import _C
    from training.degradation.batched import apply_distortion as apply_batched
    from training.degradation.batched import apply_sequences, as_float_batch


def synthetic_batch(count: int, height: int = 64, width: int = 80, seed: int = 0) -> torch.Tensor:
    """Colour gradients, checker edges and fine texture, kept inside (0, 1); one variant per image."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width] / np.array([height - 1, width - 1]).reshape(2, 1, 1)
    images = []
    for i in range(count):
        checker = ((rows * (6 + i)).astype(int) + (cols * 7).astype(int)) % 2 - 0.5
        base = np.stack([0.2 + 0.6 * cols, 0.2 + 0.6 * rows, 0.5 + 0.25 * np.sin((5 + i) * (rows + cols))])
        texture = rng.uniform(-0.05, 0.05, (3, height, width))
        images.append(np.clip(base + 0.2 * checker + texture, 0.02, 0.98))
    return torch.from_numpy(np.stack(images)).float()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(1 / mse)


def reference_batch(images: torch.Tensor, sequences, realization: int = 0) -> torch.Tensor:
    return torch.stack([apply_sequence(image, seq, realization) for image, seq in zip(images, sequences)])


def single_steps(name: str, levels, seed: int = 0) -> list[DistortionSequence]:
    return [DistortionSequence((DistortionStep(name, level, seed + i),)) for i, level in enumerate(levels)]


# --- deterministic types: every level in one batch ---------------------------------------


@pytest.mark.parametrize("name", DETERMINISTIC_TYPES)
def test_deterministic_type_matches_reference_on_every_level(name):
    images = synthetic_batch(len(LEVELS))
    sequences = single_steps(name, LEVELS)
    batched = apply_sequences(images, sequences)
    expected = reference_batch(images, sequences)
    for level, got, want in zip(LEVELS, batched, expected):
        assert psnr(got, want) >= PARITY_DB, f"{name}@{level}: {psnr(got, want):.1f} dB"


def test_deterministic_sequences_match_reference():
    sampler = CompositionSampler(max_distortions=4, pristine_prob=0.0)
    rng = np.random.default_rng(3)
    sequences = []
    while len(sequences) < 6:  # composed sequences of deterministic types only
        sequence = sampler.generate_parameters(rng)
        if not set(sequence.names) & set(RANDOM_TYPES):
            sequences.append(sequence)
    images = synthetic_batch(len(sequences), 64, 64, seed=1)
    batched = apply_sequences(images, sequences)
    for sequence, got, want in zip(sequences, batched, reference_batch(images, sequences)):
        assert psnr(got, want) >= PARITY_DB, str(sequence)


# --- random types: statistics --------------------------------------------------------------


def _mid_grey_batch(count: int, size: int, seed: int = 0) -> torch.Tensor:
    """Values in [0.35, 0.65]: noise of these levels rarely clips."""
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.uniform(0.35, 0.65, (count, 3, size, size))).float()


@pytest.mark.parametrize("name", ["whitenoise", "whitenoiseCC", "multnoise"])
def test_gaussian_noise_variance_matches_reference(name):
    images = _mid_grey_batch(len(LEVELS), 96)
    sequences = single_steps(name, LEVELS)
    batched = apply_sequences(images, sequences) - images
    expected = reference_batch(images, sequences) - images
    for level, got, want in zip(LEVELS, batched, expected):
        got_var = got.flatten(1).var(dim=1)  # per channel: YCbCr noise differs across RGB
        want_var = want.flatten(1).var(dim=1)
        assert torch.allclose(got_var, want_var, rtol=0.05), f"{name}@{level}: {got_var} vs {want_var}"
        assert abs(float(got.mean())) < 0.1 * float(got.std())


def test_ycbcr_noise_has_the_reference_channel_correlation():
    images = _mid_grey_batch(1, 128)
    sequences = single_steps("whitenoiseCC", [5])
    got = (apply_sequences(images, sequences) - images)[0].flatten(1)
    want = (reference_batch(images, sequences) - images)[0].flatten(1)
    assert torch.allclose(torch.corrcoef(got), torch.corrcoef(want), atol=0.03)


def test_impulse_density_matches_reference():
    # 8 x 3 x 384^2 values: even level 1 (density 0.001) hits ~3500 of them.
    images = torch.full((8, 3, 384, 384), 0.5)
    for level in LEVELS:
        sequences = single_steps("impulsenoise", [level] * len(images), seed=10 * level)
        got = apply_sequences(images, sequences)
        want = reference_batch(images, sequences)
        for impulse in (0.0, 1.0):
            got_density = float((got == impulse).float().mean())
            want_density = float((want == impulse).float().mean())
            assert got_density == pytest.approx(want_density, rel=0.05), f"impulsenoise@{level} value {impulse}"
        assert bool(((got == 0) | (got == 1) | (got == 0.5)).all())


def test_jitter_distortion_energy_matches_reference():
    images = synthetic_batch(len(LEVELS), 96, 96)
    sequences = single_steps("jitter", LEVELS)
    got = ((apply_sequences(images, sequences) - images) ** 2).flatten(1).mean(dim=1)
    want = ((reference_batch(images, sequences) - images) ** 2).flatten(1).mean(dim=1)
    assert torch.allclose(got, want, rtol=0.10), f"{got} vs {want}"


# --- batching and replay ---------------------------------------------------------------------


def test_mixed_batch_equals_each_sequence_alone():
    sampler = CompositionSampler(max_distortions=4, pristine_prob=0.1)
    rng = np.random.default_rng(7)
    sequences = [sampler.generate_parameters(rng) for _ in range(10)]
    images = synthetic_batch(len(sequences), 64, 64, seed=2)
    together = apply_sequences(images, sequences)
    for i, sequence in enumerate(sequences):
        alone = apply_sequences(images[i : i + 1], [sequence])[0]
        torch.testing.assert_close(together[i], alone, rtol=0, atol=1e-5, msg=str(sequence))


def test_replay_gives_the_same_noise_on_other_content_and_new_noise_per_realization():
    sequence = DistortionSequence.of(("whitenoise", 3), ("jitter", 2), seed=5)
    flat = torch.full((2, 3, 48, 48), 0.5)
    first = apply_sequences(flat, [sequence, sequence])
    torch.testing.assert_close(first[0], first[1], rtol=0, atol=0)
    torch.testing.assert_close(apply_sequences(flat[:1], [sequence])[0], first[0], rtol=0, atol=0)
    other = apply_sequences(flat[:1], [sequence], realization=1)[0]
    assert not torch.equal(other, first[0])


def test_pristine_sequences_and_uint8_input():
    images = (synthetic_batch(2) * 255).round().to(torch.uint8)
    out = apply_sequences(images, [DistortionSequence(), DistortionSequence()])
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, images.float() / 255)
    assert out.data_ptr() != images.data_ptr()


def test_input_is_not_modified():
    images = synthetic_batch(3)
    before = images.clone()
    apply_sequences(images, single_steps("quantization", [1, 3, 5]))
    assert torch.equal(images, before)


def test_kernels_give_the_same_noise_on_one_and_all_threads():
    images = _mid_grey_batch(3, 40)
    seeds = torch.tensor([1, 2, 3], dtype=torch.int64)
    variances = torch.full((3,), 0.01)
    outs = []
    for threads in (1, 0):
        out = images.clone()
        _C.distort.gaussian_noise(out, seeds, variances, kind="additive", num_threads=threads)
        outs.append(out)
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)


# --- bad input ---------------------------------------------------------------------------------


def test_unknown_distortion_is_rejected():
    with pytest.raises(ValueError, match="unknown distortion 'blurry'"):
        apply_batched(synthetic_batch(1), "blurry", 1)


@pytest.mark.parametrize("level", [0, 6, 2.5])
def test_level_outside_1_to_5_is_rejected(level):
    with pytest.raises(ValueError, match="level must be an integer in 1..5"):
        apply_batched(synthetic_batch(1), "gaublur", level)


@pytest.mark.parametrize("name, size", [("noneccpatch", 40), ("colorblock", 24), ("pixelate", 3)])
def test_image_smaller_than_a_patch_is_rejected(name, size):
    with pytest.raises(ValueError, match=f"{name} .*needs images of at least"):
        apply_batched(torch.rand(1, 3, size, 64), name, 1)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.bool])
def test_non_float_non_uint8_batch_is_rejected(dtype):
    with pytest.raises(ValueError, match="float batch in \\[0, 1\\] or a uint8 batch"):
        apply_batched(torch.zeros(1, 3, 32, 32, dtype=dtype), "gaublur", 1)


@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 1, 32, 32), (1, 4, 32, 32)])
def test_wrong_shape_is_rejected(shape):
    with pytest.raises(ValueError, match="\\(B, 3, H, W\\)"):
        apply_sequences(torch.rand(shape), [DistortionSequence()])


def test_one_sequence_per_image_is_required():
    with pytest.raises(ValueError, match="one sequence per image: 2 images, 1 sequences"):
        apply_sequences(synthetic_batch(2), [DistortionSequence()])


def test_kernels_reject_mismatched_parameters():
    images = torch.rand(2, 3, 8, 8)
    with pytest.raises(TypeError, match="seeds must be int64, got int32"):
        _C.distort.impulse_noise(images, torch.zeros(2, dtype=torch.int32), torch.zeros(2))
    with pytest.raises(ValueError, match="densities must have shape \\(2,\\), got \\(3,\\)"):
        _C.distort.impulse_noise(images, torch.zeros(2, dtype=torch.int64), torch.zeros(3))
    with pytest.raises(TypeError, match="images must be float32"):
        _C.distort.saturate_hsv(images.double(), torch.zeros(2))
    with pytest.raises(ValueError, match="noise kind"):
        _C.distort.gaussian_noise(images, torch.zeros(2, dtype=torch.int64), torch.zeros(2), kind="pink")


def test_as_float_batch_scales_uint8():
    batch = as_float_batch(torch.full((1, 3, 2, 2), 255, dtype=torch.uint8))
    assert batch.dtype == torch.float32 and bool((batch == 1).all())
