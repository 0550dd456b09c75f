"""The CPU preprocessing op (arniqa_edge._C) against the numpy reference, torch and PIL.

Tolerances, all max abs errors:
- vs preprocess_reference (float64 math): 2e-6 in normalised units. The op sums up
  to 7x7 products in float32 and applies one fused scale and bias; values reach
  about 2.6 in magnitude, where a float32 ulp is 2.4e-7.
- float16 output: the float32 result rounded to nearest even, bit for bit.
- half scale vs torch interpolate(antialias=True) in float: 1e-5 in 0..1 units
  (same filter, same float formula; only summation order differs).
- half scale vs PIL Image.resize(BILINEAR): 1/255 + 1e-6 in 0..1 units. Same
  filter, but PIL rounds to uint8 after each of its two passes.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from arniqa_edge import _C
from arniqa_edge.preprocess import PreprocessSpec, output_shapes, preprocess, preprocess_reference

FLOAT32_TOL = 2e-6
RAW = dict(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))  # outputs in 0..1 units


def random_frame(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def assert_matches_reference(frame: np.ndarray, spec: PreprocessSpec, **kwargs) -> None:
    full, half = preprocess(frame, spec, **kwargs)
    ref_full, ref_half = preprocess_reference(frame, spec)
    assert full.shape == ref_full.shape and half.shape == ref_half.shape
    np.testing.assert_allclose(full, ref_full, rtol=0, atol=FLOAT32_TOL)
    np.testing.assert_allclose(half, ref_half, rtol=0, atol=FLOAT32_TOL)


@pytest.mark.parametrize("crop", ["whole", "center", "five"])
@pytest.mark.parametrize("channels", ["bgr", "rgb"])
@pytest.mark.parametrize("size", [(480, 640), (301, 457), (450, 449)])
def test_matches_reference(crop: str, channels: str, size: tuple[int, int]) -> None:
    spec = PreprocessSpec(crop=crop, crop_size=128, channels=channels)
    assert_matches_reference(random_frame(*size), spec)


@pytest.mark.parametrize("size", [(2, 2), (2, 3), (3, 2), (3, 3), (5, 7), (17, 4)])
def test_tiny_and_odd_sizes(size: tuple[int, int]) -> None:
    assert_matches_reference(random_frame(*size), PreprocessSpec())


def test_output_shapes_and_crop_order() -> None:
    frame = random_frame(300, 400)
    spec = PreprocessSpec(crop="five", crop_size=100, **RAW, channels="rgb")
    full, half = preprocess(frame, spec)
    assert (full.shape, half.shape) == output_shapes(300, 400, spec) == ((5, 3, 100, 100), (5, 3, 100, 100))
    pixels = frame.astype(np.float32).transpose(2, 0, 1) / 255
    # center, top-left, bottom-left, top-right, bottom-right
    for crop, (top, left) in zip(full, [(100, 150), (0, 0), (200, 0), (0, 300), (200, 300)]):
        np.testing.assert_allclose(crop, pixels[:, top : top + 100, left : left + 100], atol=1e-6)


def test_bgr_is_rgb_reversed() -> None:
    frame = random_frame(64, 80)
    bgr = preprocess(frame, PreprocessSpec(channels="bgr"))
    rgb = preprocess(np.ascontiguousarray(frame[..., ::-1]), PreprocessSpec(channels="rgb"))
    for a, b in zip(bgr, rgb):
        np.testing.assert_array_equal(a, b)


def test_half_scale_matches_torch_antialias() -> None:
    """torch's formula evaluated in float64: its float32 path rounds the tap centres."""
    torch = pytest.importorskip("torch")
    for size in [(120, 160), (97, 131), (1081, 603)]:
        frame = random_frame(*size, seed=3)
        _, half = preprocess(frame, PreprocessSpec(**RAW, channels="rgb"))
        image = torch.from_numpy(frame).permute(2, 0, 1)[None].double() / 255
        expected = torch.nn.functional.interpolate(
            image, size=(size[0] // 2, size[1] // 2), mode="bilinear", antialias=True, align_corners=False
        )
        np.testing.assert_allclose(half, expected.numpy(), rtol=0, atol=1e-5)


def test_half_scale_matches_pil_bilinear() -> None:
    for size in [(120, 160), (97, 131)]:
        frame = random_frame(*size, seed=4)
        _, half = preprocess(frame, PreprocessSpec(**RAW, channels="rgb"))
        resized = Image.fromarray(frame).resize((size[1] // 2, size[0] // 2), Image.BILINEAR)
        expected = np.asarray(resized, dtype=np.float32).transpose(2, 0, 1)[None] / 255
        np.testing.assert_allclose(half, expected, rtol=0, atol=1 / 255 + 1e-6)


def test_strided_rows_view_into_larger_frame() -> None:
    big = random_frame(500, 700, seed=5)
    view = big[37:337, 11:611]  # row stride 2100 bytes, not 1800
    assert view.strides[0] != view.shape[1] * 3
    for crop in ["whole", "five"]:
        spec = PreprocessSpec(crop=crop, crop_size=128)
        for a, b in zip(preprocess(view, spec), preprocess(np.ascontiguousarray(view), spec)):
            np.testing.assert_array_equal(a, b)
        assert_matches_reference(view, spec)


def test_float16_is_float32_rounded_to_nearest_even() -> None:
    frame = random_frame(200, 300, seed=6)
    for extra in [
        {},
        dict(mean=(0.5, 0.5, 0.5), std=(1e-6, 2e-6, 1e-5)),
        dict(mean=(0.0, 0.0, 0.0), std=(3e3, 1e4, 5e5)),
    ]:
        # defaults, then values beyond float16's range (-> inf) and in its subnormal range
        spec32 = PreprocessSpec(crop="whole", dtype="float32", **extra)
        spec16 = PreprocessSpec(crop="whole", dtype="float16", **extra)
        for out32, out16 in zip(preprocess(frame, spec32), preprocess(frame, spec16)):
            assert out16.dtype == np.float16
            with np.errstate(over="ignore"):
                expected = out32.astype(np.float16)
            np.testing.assert_array_equal(out16.view(np.uint16), expected.view(np.uint16))


def test_float16_against_reference() -> None:
    frame = random_frame(240, 320, seed=7)
    spec = PreprocessSpec(crop="center", crop_size=100, dtype="float16")
    for ours, ref in zip(preprocess(frame, spec), preprocess_reference(frame, spec)):
        # half a float16 ulp (2^-11 relative) plus the float32 error before rounding
        assert np.all(np.abs(ours.astype(np.float32) - ref) <= np.abs(ref) * 2.0**-11 + FLOAT32_TOL)


def test_caller_buffers_are_filled_in_place() -> None:
    frame = random_frame(300, 400, seed=8)
    spec = PreprocessSpec(crop="center", crop_size=128)
    out_full, out_half = (np.full(shape, np.nan, np.float32) for shape in output_shapes(300, 400, spec))
    full, half = preprocess(frame, spec, out_full, out_half)
    assert full is out_full and half is out_half
    for ours, ref in zip((out_full, out_half), preprocess_reference(frame, spec)):
        np.testing.assert_allclose(ours, ref, atol=FLOAT32_TOL)


def test_slice_of_a_batch_buffer() -> None:
    spec = PreprocessSpec(crop="center", crop_size=64, dtype="float16")
    frames = [random_frame(150, 200, seed=s) for s in range(3)]
    batch_full = np.zeros((3, 3, 64, 64), np.float16)
    batch_half = np.zeros((3, 3, 64, 64), np.float16)
    for i, frame in enumerate(frames):
        preprocess(frame, spec, batch_full[i : i + 1], batch_half[i : i + 1])
    for i, frame in enumerate(frames):
        full, half = preprocess(frame, spec)
        np.testing.assert_array_equal(batch_full[i : i + 1], full)
        np.testing.assert_array_equal(batch_half[i : i + 1], half)


def test_thread_counts_agree() -> None:
    frame = random_frame(333, 444, seed=9)
    results = [preprocess(frame, PreprocessSpec(), num_threads=n) for n in (1, 2, 3, 0)]
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_torch_cpu_tensors_through_dlpack() -> None:
    torch = pytest.importorskip("torch")
    frame = random_frame(120, 160, seed=10)
    spec = PreprocessSpec(crop="center", crop_size=48)
    full_shape, half_shape = output_shapes(120, 160, spec)
    out_full, out_half = torch.empty(full_shape), torch.empty(half_shape)
    preprocess(torch.from_numpy(frame), spec, out_full, out_half)
    for ours, ref in zip((out_full.numpy(), out_half.numpy()), preprocess_reference(frame, spec)):
        np.testing.assert_allclose(ours, ref, atol=FLOAT32_TOL)


def test_randomized_shapes_strides_and_crops() -> None:
    rng = np.random.default_rng(1234)
    for case in range(60):
        height, width = (int(v) for v in rng.integers(2, 80, size=2))
        pad_rows, pad_cols = (int(v) for v in rng.integers(0, 5, size=2))
        big = rng.integers(0, 256, (height + pad_rows, width + pad_cols, 3), dtype=np.uint8)
        top, left = int(rng.integers(0, pad_rows + 1)), int(rng.integers(0, pad_cols + 1))
        frame = big[top : top + height, left : left + width]
        crop = str(rng.choice(["whole", "center", "five"]))
        smallest = min(height // 2, width // 2)
        if crop != "whole" and smallest < 1:
            crop = "whole"
        crop_size = int(rng.integers(1, smallest + 1)) if crop != "whole" else 224
        spec = PreprocessSpec(
            crop=crop,
            crop_size=crop_size,
            mean=tuple(rng.uniform(0.0, 1.0, 3)),
            std=tuple(rng.uniform(0.1, 1.0, 3)),
            channels=str(rng.choice(["bgr", "rgb"])),
        )
        full, half = preprocess(frame, spec, num_threads=int(rng.integers(0, 4)))
        ref_full, ref_half = preprocess_reference(frame, spec)
        # std down to 0.1 scales values (and float32 error) up to 10 / 0.1 / 255 units
        tol = FLOAT32_TOL * 25
        assert np.abs(full - ref_full).max() <= tol, (case, frame.shape, spec)
        assert np.abs(half - ref_half).max() <= tol, (case, frame.shape, spec)


# --- errors -----------------------------------------------------------------------


class FakeCudaArray:
    """Looks like a CUDA array to the array protocols; its memory is never touched."""

    def __init__(self, shape: tuple[int, ...], typestr: str) -> None:
        self.shape = shape
        self.__cuda_array_interface__ = {
            "shape": shape,
            "typestr": typestr,
            "data": (0xDEAD0000, False),
            "strides": None,
            "version": 3,
        }


def read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def call_op(frame, out_full=None, out_half=None, spec=PreprocessSpec(), **kwargs):
    return preprocess(frame, spec, out_full, out_half, **kwargs)


@pytest.mark.parametrize(
    "frame, error, match",
    [
        (np.zeros((10, 10, 3), np.float32), TypeError, "frame must be uint8, got float32"),
        (np.zeros((10, 10, 3), np.uint16), TypeError, "frame must be uint8, got uint16"),
        (np.zeros((10, 10), np.uint8), ValueError, r"shape \(H, W, 3\)"),
        (np.zeros((10, 10, 4), np.uint8), ValueError, r"shape \(H, W, 3\)"),
        (np.zeros((1, 10, 3), np.uint8), ValueError, "at least 2x2"),
        (np.zeros((10, 1, 3), np.uint8), ValueError, "at least 2x2"),
        (np.zeros((0, 0, 3), np.uint8), ValueError, "at least 2x2"),
        (np.zeros((10, 20, 3), np.uint8)[:, ::2], ValueError, "pixels must be packed"),
        (np.zeros((10, 10, 3), np.uint8)[..., ::-1], ValueError, "pixels must be packed"),
        (np.zeros((10, 10, 3), np.uint8, order="F"), ValueError, "pixels must be packed"),
        ([[[0, 0, 0]]], TypeError, "frame must be an array"),
    ],
)
def test_bad_frames(frame, error, match) -> None:
    with pytest.raises(error, match=match):
        _C.preprocess(
            frame,
            np.zeros((1, 3, 10, 10), np.float32),
            np.zeros((1, 3, 5, 5), np.float32),
            crop="whole",
            crop_size=224,
            mean=(0, 0, 0),
            std=(1, 1, 1),
            channels="bgr",
            dtype="float32",
        )


def test_python_api_rejects_frames_without_shape() -> None:
    with pytest.raises(TypeError, match="must be an array"):
        preprocess([[1, 2, 3]])


@pytest.mark.parametrize(
    "out_full, error, match",
    [
        (np.zeros((1, 3, 20, 30), np.float64), TypeError, "out_full must be float32, got float64"),
        (np.zeros((1, 3, 20, 30), np.float16), TypeError, "out_full must be float32, got float16"),
        (
            np.zeros((1, 3, 20, 29), np.float32),
            ValueError,
            r"must have shape \(1, 3, 20, 30\), got \(1, 3, 20, 29\) \(buffer too small\)",
        ),
        (np.zeros((2, 3, 20, 30), np.float32), ValueError, r"must have shape \(1, 3, 20, 30\), got \(2, 3, 20, 30\)$"),
        (np.zeros((1, 3, 30, 20), np.float32).transpose(0, 1, 3, 2), ValueError, "C-contiguous"),
        (np.zeros((1, 3, 20, 60), np.float32)[..., ::2], ValueError, "C-contiguous"),
        (read_only(np.zeros((1, 3, 20, 30), np.float32)), ValueError, "read-only"),
        (FakeCudaArray((1, 3, 20, 30), "<f4"), ValueError, "out_full is in CUDA device memory"),
        ("buffer", TypeError, "out_full must be an array"),
    ],
)
def test_bad_output_buffers(out_full, error, match) -> None:
    frame = random_frame(20, 30)
    with pytest.raises(error, match=match):
        call_op(frame, out_full, np.zeros((1, 3, 10, 15), np.float32))


def test_cuda_frame_on_the_cpu_op() -> None:
    out = [np.zeros(s, np.float32) for s in output_shapes(20, 30, PreprocessSpec())]
    with pytest.raises(ValueError, match="frame is in CUDA device memory.*preprocess_cuda"):
        call_op(FakeCudaArray((20, 30, 3), "|u1"), *out)


def test_host_outputs_on_the_cuda_op() -> None:
    frame = random_frame(20, 30)
    out = [np.zeros(s, np.float32) for s in output_shapes(20, 30, PreprocessSpec())]
    if not _C.cuda_compiled():
        with pytest.raises(RuntimeError, match="built without CUDA"):
            _C.preprocess_cuda(
                frame, *out, crop="whole", crop_size=224, mean=(0, 0, 0), std=(1, 1, 1), channels="bgr", dtype="float32"
            )
        return
    from arniqa_edge.preprocess import preprocess_cuda

    with pytest.raises(ValueError, match="out_full is in host memory"):
        preprocess_cuda(frame, *out)


def test_crop_larger_than_a_scale() -> None:
    frame = random_frame(300, 400)
    with pytest.raises(ValueError, match=r"crop_size 224 does not fit the half scale \(150x200\).*crop=\"whole\""):
        preprocess(frame, PreprocessSpec(crop="center"))
    out = [np.zeros((1, 3, 224, 224), np.float32)] * 2
    with pytest.raises(ValueError, match="does not fit the half scale"):
        preprocess(frame, PreprocessSpec(crop="center"), *out)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(crop="corners"), "crop must be one of"),
        (dict(dtype="float64"), "dtype must be one of"),
        (dict(channels="bgra"), "channels must be one of"),
        (dict(crop_size=0), "crop_size must be a positive int"),
        (dict(std=(0.2, 0.0, 0.2)), "std must be non-zero"),
        (dict(mean=(0.5, 0.5)), "mean must be three finite numbers"),
        (dict(mean=(0.5, float("nan"), 0.5)), "mean must be three finite numbers"),
    ],
)
def test_bad_specs(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        PreprocessSpec(**kwargs)


def test_native_op_validates_options_too() -> None:
    frame = random_frame(20, 30)
    out = [np.zeros(s, np.float32) for s in output_shapes(20, 30, PreprocessSpec())]
    options = dict(crop="whole", crop_size=224, mean=(0, 0, 0), std=(1, 1, 1), channels="bgr", dtype="float32")
    for change, match in [
        (dict(crop="x"), "crop must be"),
        (dict(std=(1, 0, 1)), "std finite and non-zero"),
        (dict(channels="x"), "channels must be"),
        (dict(dtype="x"), "dtype must be"),
        (dict(num_threads=-1), "num_threads must be >= 0"),
    ]:
        with pytest.raises(ValueError, match=match):
            _C.preprocess(frame, *out, **{**options, **change})


def test_build_info() -> None:
    info = _C.build_info()
    assert info["cuda"] == _C.cuda_compiled()
    assert info["cpu_cores"] >= 1
    assert _C.cuda_device_count() >= 0
