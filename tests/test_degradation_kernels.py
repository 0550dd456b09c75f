"""The native building blocks of the batched engine against plain torch/numpy.

The separable filter is checked against a direct 2-D correlation of the replicated
image (torch conv2d in float64), the Lab conversions against the reference's
`training.degradation.color`, and the thread pool split against one thread.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import distortion_kernels_built  # noqa: E402

F = torch.nn.functional

pytestmark = pytest.mark.skipif(
    not distortion_kernels_built(), reason="needs arniqa_edge._C built with the distortion kernels (_C.distort)"
)

if distortion_kernels_built():
    from arniqa_edge import _C
    from training.degradation import color
    from training.degradation.batched import colorspace
    from training.degradation.batched.filtering import filter_separable_per_image
    from training.degradation.kernels import gaussian_kernel_1d


def _correlate_replicated(image: torch.Tensor, taps: np.ndarray) -> torch.Tensor:
    """(C, H, W) correlated with outer(taps, taps), borders replicated, in float64."""
    radius = len(taps) // 2
    kernel = torch.from_numpy(np.outer(taps, taps)).double()
    padded = F.pad(image.double()[None], (radius,) * 4, mode="replicate")[0]
    channels = image.shape[0]
    weight = kernel.expand(channels, 1, *kernel.shape)
    return F.conv2d(padded[None], weight, groups=channels)[0].float()


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_separable_filter_matches_a_direct_correlation(channels):
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.uniform(0, 1, (4, channels, 23, 37)).astype(np.float32))
    # Different lengths per image; the longest (sigma 12) is wider than the image.
    taps = [gaussian_kernel_1d(sigma) for sigma in (0.5, 1.7, 4.0, 12.0)]
    assert len(taps[-1]) > 37
    got = filter_separable_per_image(images, taps)
    for image, row, out in zip(images, taps, got):
        torch.testing.assert_close(out, _correlate_replicated(image, row), rtol=0, atol=2e-6)


def test_separable_filter_with_asymmetric_taps_is_a_correlation():
    image = torch.zeros(1, 1, 9, 9)
    image[0, 0, 4, 4] = 1.0
    taps = np.array([0.0, 0.0, 1.0, 2.0, 3.0], dtype=np.float32)  # not trimmed: one end is non-zero
    out = filter_separable_per_image(image, [taps])[0, 0]
    torch.testing.assert_close(out, _correlate_replicated(image[0], taps)[0], rtol=0, atol=1e-6)
    # A correlation puts taps[k] at offset -(k - radius) from the impulse.
    assert out[2, 2] == 9.0 and out[4, 4] == 1.0


def test_separable_filter_is_the_same_on_one_and_all_threads():
    images = torch.rand(3, 3, 40, 50)
    table = torch.from_numpy(np.stack([gaussian_kernel_1d(2.0)] * 3).astype(np.float32))
    outs = []
    for threads in (1, 0):
        out = images.clone()
        _C.distort.separable_filter(out, torch.empty_like(out), table, num_threads=threads)
        outs.append(out)
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)


def test_separable_filter_rejects_bad_taps():
    images = torch.rand(2, 3, 8, 8)
    with pytest.raises(ValueError, match="odd length"):
        _C.distort.separable_filter(images, torch.empty_like(images), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="taps must have shape \\(2, 3\\), got \\(3, 3\\)"):
        _C.distort.separable_filter(images, torch.empty_like(images), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="scratch must not be the images buffer"):
        _C.distort.separable_filter(images, images, torch.zeros(2, 3))


def _colourful_batch() -> torch.Tensor:
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 1, (3, 3, 17, 19)).astype(np.float32)
    values[0, :, :2] = 0.0  # black, white and the linear segments of both curves
    values[0, :, 2:4] = 1.0
    values[1, :, :3] = rng.uniform(0, 0.04, (3, 3, 19))
    return torch.from_numpy(values)


def test_rgb_to_lab_matches_the_reference():
    images = _colourful_batch()
    want = torch.stack([color.rgb_to_lab(image) for image in images])
    got = colorspace.rgb_to_lab(images)
    torch.testing.assert_close(got, want, rtol=0, atol=5e-4)  # L, a, b span about 100 units
    assert torch.equal(images, _colourful_batch())  # a new tensor; the input is kept


def test_lab_to_rgb_matches_the_reference_out_of_gamut_too():
    lab = torch.stack([color.rgb_to_lab(image) for image in _colourful_batch()])
    lab[:, 1:] *= 2.5  # push chroma out of the sRGB gamut: clipped like the reference
    want = torch.stack([color.lab_to_rgb(image) for image in lab])
    got = colorspace.lab_to_rgb(lab.clone())
    torch.testing.assert_close(got, want, rtol=0, atol=2e-5)
    assert float(got.min()) == 0.0 and float(got.max()) == 1.0


def test_lab_kernels_need_three_channels():
    with pytest.raises(ValueError, match="3 channels"):
        _C.distort.rgb_to_lab(torch.rand(1, 2, 4, 4))


def test_2d_filter_matches_a_direct_correlation_with_kernels_of_every_size():
    from training.degradation.batched.filtering import filter2d_per_image
    from training.degradation.kernels import disk_kernel, motion_kernel

    rng = np.random.default_rng(2)
    images = torch.from_numpy(rng.uniform(0, 1, (4, 3, 21, 30)).astype(np.float32))
    kernels = [disk_kernel(1), disk_kernel(8), motion_kernel(10, 33.0), motion_kernel(25, 120.0)]  # 17 and 25 px > 21
    got = filter2d_per_image(images, kernels)
    for image, kernel, out in zip(images, kernels, got):
        radius_rows, radius_cols = np.array(kernel.shape) // 2
        padded = F.pad(image.double()[None], (radius_cols, radius_cols, radius_rows, radius_rows), mode="replicate")
        weight = torch.from_numpy(kernel).double().expand(3, 1, *kernel.shape)
        want = F.conv2d(padded, weight, groups=3)[0].float()
        torch.testing.assert_close(out, want, rtol=0, atol=2e-6)


def test_2d_filter_rejects_mismatched_taps():
    images = torch.rand(2, 3, 8, 8)
    with pytest.raises(ValueError, match="taps must have shape \\(N, capacity, fields\\)"):
        _C.distort.sparse_filter(images, torch.empty_like(images), torch.zeros(2, 3), torch.zeros(2, dtype=torch.int32))
    with pytest.raises(TypeError, match="counts must be int32"):
        _C.distort.sparse_filter(images, torch.empty_like(images), torch.zeros(2, 1, 3), torch.zeros(2))
