"""The CUDA preprocessing op against the numpy reference (needs a GPU and torch).

Same tolerances as the CPU tests: 2e-6 vs the reference in normalised units; the
float16 output within half a float16 ulp of the reference (plus the float32 error).
"""

from __future__ import annotations

import numpy as np
import pytest

from arniqa_edge import _C
from arniqa_edge.preprocess import PreprocessSpec, output_shapes, preprocess_cuda, preprocess_reference

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not (_C.cuda_device_count() > 0 and torch.cuda.is_available()),
        reason="needs a CUDA GPU, torch with CUDA and the CUDA build of arniqa_edge._C",
    ),
]

FLOAT32_TOL = 2e-6
TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16}


class OnlyDLPack:
    """Exposes a tensor through __dlpack__ alone."""

    def __init__(self, tensor):
        self.tensor = tensor
        self.shape = tuple(tensor.shape)

    def __dlpack__(self, stream=None):
        return self.tensor.__dlpack__(stream=stream)

    def __dlpack_device__(self):
        return self.tensor.__dlpack_device__()


class OnlyCudaArrayInterface:
    """Exposes a tensor through __cuda_array_interface__ alone."""

    def __init__(self, tensor):
        self.tensor = tensor
        self.shape = tuple(tensor.shape)
        self.__cuda_array_interface__ = tensor.__cuda_array_interface__


def random_frame(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def empty_outputs(height: int, width: int, spec: PreprocessSpec):
    return [
        torch.full(shape, float("nan"), dtype=TORCH_DTYPES[spec.dtype], device="cuda")
        for shape in output_shapes(height, width, spec)
    ]


def assert_close_to_reference(outputs, frame: np.ndarray, spec: PreprocessSpec) -> None:
    torch.cuda.synchronize()
    for ours, ref in zip(outputs, preprocess_reference(frame, spec)):
        ours = ours.float().cpu().numpy()
        if spec.dtype == "float16":
            assert np.all(np.abs(ours - ref) <= np.abs(ref) * 2.0**-11 + FLOAT32_TOL)
        else:
            np.testing.assert_allclose(ours, ref, rtol=0, atol=FLOAT32_TOL)


@pytest.mark.parametrize("crop", ["whole", "center", "five"])
@pytest.mark.parametrize("channels", ["bgr", "rgb"])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("size", [(480, 640), (301, 457), (5, 7)])
def test_matches_reference(crop: str, channels: str, dtype: str, size: tuple[int, int]) -> None:
    if crop != "whole" and min(size) < 256:
        crop = "whole"
    spec = PreprocessSpec(crop=crop, crop_size=128, channels=channels, dtype=dtype)
    frame = random_frame(*size)
    outputs = empty_outputs(*size, spec)
    preprocess_cuda(torch.from_numpy(frame).cuda(), *outputs, spec)
    assert_close_to_reference(outputs, frame, spec)


@pytest.mark.parametrize("wrap", [OnlyDLPack, OnlyCudaArrayInterface])
def test_array_protocols(wrap) -> None:
    spec = PreprocessSpec(crop="five", crop_size=64)
    frame = random_frame(200, 300, seed=1)
    outputs = empty_outputs(200, 300, spec)
    preprocess_cuda(wrap(torch.from_numpy(frame).cuda()), *(wrap(t) for t in outputs), spec)
    assert_close_to_reference(outputs, frame, spec)


def test_host_frame_is_uploaded() -> None:
    spec = PreprocessSpec()
    for seed, size in enumerate([(120, 160), (240, 320), (120, 160)]):  # grows and reuses the staging buffer
        frame = random_frame(*size, seed=seed)
        outputs = empty_outputs(*size, spec)
        preprocess_cuda(frame, *outputs, spec)
        assert_close_to_reference(outputs, frame, spec)


def test_strided_device_frame() -> None:
    big = torch.from_numpy(random_frame(300, 500, seed=2)).cuda()
    view = big[13:213, 29:429]
    frame = view.cpu().numpy()
    for source in (view, frame):  # padded device rows; the same pixels from the host
        spec = PreprocessSpec(crop="five", crop_size=96)
        outputs = empty_outputs(200, 400, spec)
        preprocess_cuda(source, *outputs, spec)
        assert_close_to_reference(outputs, frame, spec)
    host_view = random_frame(300, 500, seed=3)[13:213, 29:429]  # padded host rows
    outputs = empty_outputs(200, 400, PreprocessSpec())
    preprocess_cuda(host_view, *outputs)
    assert_close_to_reference(outputs, np.ascontiguousarray(host_view), PreprocessSpec())


def test_non_default_stream() -> None:
    spec = PreprocessSpec(crop="center", crop_size=128, dtype="float16")
    frame = random_frame(720, 1280, seed=4)
    device_frame = torch.from_numpy(frame).cuda()
    outputs = empty_outputs(720, 1280, spec)
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        preprocess_cuda(device_frame, *outputs, spec, stream=stream)
        preprocess_cuda(device_frame, *outputs, spec, stream=stream.cuda_stream)
    stream.synchronize()
    assert_close_to_reference(outputs, frame, spec)


def test_slice_of_a_batch_buffer() -> None:
    spec = PreprocessSpec(crop="center", crop_size=64)
    frames = [random_frame(150, 200, seed=s) for s in range(3)]
    batch = [torch.zeros((3, 3, 64, 64), device="cuda") for _ in range(2)]
    for i, frame in enumerate(frames):
        preprocess_cuda(torch.from_numpy(frame).cuda(), batch[0][i : i + 1], batch[1][i : i + 1], spec)
    for i, frame in enumerate(frames):
        assert_close_to_reference([batch[0][i : i + 1], batch[1][i : i + 1]], frame, spec)


def test_errors() -> None:
    spec = PreprocessSpec()
    frame = torch.from_numpy(random_frame(20, 30)).cuda()
    outputs = empty_outputs(20, 30, spec)
    with pytest.raises(ValueError, match="out_full is in host memory"):
        preprocess_cuda(frame, torch.empty(outputs[0].shape), outputs[1], spec)
    with pytest.raises(ValueError, match=r"out_half must have shape \(1, 3, 10, 15\)"):
        preprocess_cuda(frame, outputs[0], outputs[0], spec)
    with pytest.raises(TypeError, match="out_full must be float32, got float16"):
        preprocess_cuda(frame, outputs[0].half(), outputs[1], spec)
    with pytest.raises(ValueError, match="C-contiguous"):
        wide = torch.empty((1, 3, 20, 60), device="cuda")[..., ::2]
        preprocess_cuda(frame, wide, outputs[1], spec)
    with pytest.raises(ValueError, match="pixels must be packed"):
        preprocess_cuda(torch.zeros((20, 60, 3), dtype=torch.uint8, device="cuda")[:, ::2], *outputs, spec)
    with pytest.raises(TypeError, match="frame must be uint8"):
        preprocess_cuda(frame.float(), *outputs, spec)
