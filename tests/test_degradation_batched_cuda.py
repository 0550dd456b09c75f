"""The batched degradation engine on CUDA against the same engine on the CPU (needs a GPU).

The CUDA kernels share their per-value arithmetic and random numbers with the CPU
kernels (ops/distort_math.h, ops/distort_random.h), so every type but JPEG agrees
with the CPU path up to float rounding, noise included: same seeds, same noise.
JPEG runs through nvJPEG on the GPU and libjpeg on the CPU; two encoders of the same
quality differ in their DCT rounding, hence a looser bound.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training.degradation import DISTORTIONS, CompositionSampler, DistortionSequence, DistortionStep  # noqa: E402


def _cuda_kernels_available() -> bool:
    try:
        from arniqa_edge import _C
    except ImportError:
        return False
    return hasattr(_C, "distort") and _C.cuda_compiled() and _C.cuda_device_count() > 0 and torch.cuda.is_available()


pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not _cuda_kernels_available(), reason="needs a CUDA GPU, torch with CUDA and the CUDA build of arniqa_edge._C"
    ),
]

if _cuda_kernels_available():
    from arniqa_edge import _C
    from training.degradation.batched import apply_sequences

LEVELS = (1, 2, 3, 4, 5)
RANDOM_TYPES = ("whitenoise", "whitenoiseCC", "impulsenoise", "multnoise", "jitter")
PARITY_DB = 60.0
JPEG_PARITY_DB = 30.0
NOISE_ATOL = 1e-4  # libm vs CUDA logf/sinf/cosf and bilinear weights, a few ulps


def synthetic_batch(count: int, height: int = 64, width: int = 80, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width] / np.array([height - 1, width - 1]).reshape(2, 1, 1)
    images = []
    for i in range(count):
        checker = ((rows * (6 + i)).astype(int) + (cols * 7).astype(int)) % 2 - 0.5
        base = np.stack([0.2 + 0.6 * cols, 0.2 + 0.6 * rows, 0.5 + 0.25 * np.sin((5 + i) * (rows + cols))])
        images.append(np.clip(base + 0.2 * checker + rng.uniform(-0.05, 0.05, (3, height, width)), 0.02, 0.98))
    return torch.from_numpy(np.stack(images)).float()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(1 / mse)


def single_steps(name: str) -> list[DistortionSequence]:
    return [DistortionSequence((DistortionStep(name, level, i),)) for i, level in enumerate(LEVELS)]


@pytest.mark.parametrize("name", list(DISTORTIONS))
def test_cuda_matches_cpu_on_every_level(name):
    images = synthetic_batch(len(LEVELS))
    sequences = single_steps(name)
    on_cpu = apply_sequences(images, sequences)
    on_gpu = apply_sequences(images.cuda(), sequences)
    assert on_gpu.is_cuda and on_gpu.dtype == torch.float32
    on_gpu = on_gpu.cpu()
    if name in RANDOM_TYPES:  # the same counter-based noise on both devices
        torch.testing.assert_close(on_gpu, on_cpu, rtol=0, atol=NOISE_ATOL)
        return
    bound = JPEG_PARITY_DB if name == "jpeg" else PARITY_DB
    for level, got, want in zip(LEVELS, on_gpu, on_cpu):
        assert psnr(got, want) >= bound, f"{name}@{level}: {psnr(got, want):.1f} dB"


def test_mixed_batch_on_cuda_matches_cpu():
    sampler = CompositionSampler(max_distortions=4)
    rng = np.random.default_rng(11)
    sequences = [sampler.generate_parameters(rng) for _ in range(12)]
    images = synthetic_batch(len(sequences), 64, 64)
    on_cpu = apply_sequences(images, sequences)
    on_gpu = apply_sequences(images.cuda(), sequences).cpu()
    for sequence, got, want in zip(sequences, on_gpu, on_cpu):
        bound = JPEG_PARITY_DB if "jpeg" in sequence.names else 50.0
        assert psnr(got, want) >= bound, str(sequence)


def test_uint8_batch_on_cuda():
    images = (synthetic_batch(2) * 255).round().to(torch.uint8).cuda()
    out = apply_sequences(images, [DistortionSequence.of(("darken", 2)), DistortionSequence()])
    assert out.is_cuda and out.dtype == torch.float32
    torch.testing.assert_close(out[1], images[1].float() / 255)


def test_side_stream_gives_the_same_result():
    images = synthetic_batch(4).cuda()
    sequences = [DistortionSequence.of(("whitenoise", 3), ("quantization", 2), ("jitter", 4), seed=i) for i in range(4)]
    expected = apply_sequences(images, sequences)
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        got = apply_sequences(images, sequences)
    torch.cuda.current_stream().wait_stream(stream)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_jpeg2000_on_cuda_is_the_host_codec():
    images = synthetic_batch(3)
    sequences = [DistortionSequence((DistortionStep("jpeg2000", level, 0),)) for level in (1, 3, 5)]
    torch.testing.assert_close(apply_sequences(images.cuda(), sequences).cpu(), apply_sequences(images, sequences))


def test_kernel_rejects_host_parameters_for_cuda_images():
    images = torch.rand(2, 3, 8, 8, device="cuda")
    with pytest.raises(ValueError, match="same memory as images"):
        _C.distort.saturate_hsv(images, torch.zeros(2))
