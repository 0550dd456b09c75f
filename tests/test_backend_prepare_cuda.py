"""The GPU backends' own input path on a GPU: uint8 frames uploaded through pinned staging and preprocessed by
`preprocess_cuda` into rows of one device batch, equal to the CPU path; and the backends that run on it
(torch on CUDA, TensorRT without torch, CVRKD engines on TensorRT). Skipped without a GPU; the same code runs on
the CPU through its twin in tests/test_backend_layer.py.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import has_torch, pristine_images

from arniqa_edge import _C
from arniqa_edge.backends.inputs import InputPool
from arniqa_edge.preprocess import PreprocessSpec, output_shapes, preprocess

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(_C.cuda_device_count() == 0, reason="needs a CUDA GPU and the CUDA build of _C"),
]

FLOAT32_TOL = 2e-6


def _frames(count: int, height: int = 200, width: int = 300):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count)]
    frames[1] = rng.integers(0, 256, (height + 20, width + 40, 3), dtype=np.uint8)[10 : 10 + height, 20 : 20 + width]
    return frames


def _prepared(inputs, frames, spec):
    """Frames written by `inputs` into one batch; the batch."""
    batch = InputPool(inputs).acquire(len(frames), *output_shapes(*frames[0].shape[:2], spec))
    for frame in frames:
        full, half = batch.next_slot()
        inputs.write(frame, spec, full, half)
        batch.commit()
    inputs.synchronize()
    return batch


def _assert_like_the_cpu(full, half, frames, spec):
    expected = [preprocess(np.ascontiguousarray(f), spec) for f in frames]
    np.testing.assert_allclose(full, np.concatenate([e[0] for e in expected]), rtol=0, atol=FLOAT32_TOL)
    np.testing.assert_allclose(half, np.concatenate([e[1] for e in expected]), rtol=0, atol=FLOAT32_TOL)


@pytest.mark.parametrize("spec", [PreprocessSpec(), PreprocessSpec(crop="five", crop_size=64)])
def test_torch_cuda_inputs_match_the_cpu_path(spec):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch sees no GPU")
    from arniqa_edge.backends.torch_backend import TorchCudaInputs

    frames = _frames(5)  # more frames than staging buffers: each is reused after its upload ran
    batch = _prepared(TorchCudaInputs(torch, torch.device("cuda")), frames, spec)
    full, half = batch.filled()
    _assert_like_the_cpu(full.cpu().numpy(), half.cpu().numpy(), frames, spec)


def test_cuda_python_inputs_match_the_cpu_path():
    pytest.importorskip("cuda.bindings")
    from arniqa_edge.backends import cuda_runtime
    from arniqa_edge.backends.cuda_runtime import CudaPythonInputs

    spec, frames = PreprocessSpec(), _frames(4)
    inputs = CudaPythonInputs(0)
    batch = _prepared(inputs, frames, spec)
    host = []
    for device in batch.filled():
        array = cuda_runtime.pinned_empty(device.nbytes).view(np.float32).reshape(device.shape)
        cuda_runtime.copy_to_host(array, device, inputs.cuda_stream)
        host.append(array)
    inputs.synchronize()
    _assert_like_the_cpu(*host, frames, spec)


@pytest.fixture(scope="module")
def exports(tmp_path_factory, lite0_imagenet_weights, blur_regressor):
    from export_fixtures import lite0_exports

    return lite0_exports(tmp_path_factory.mktemp("onnx"), lite0_imagenet_weights, blur_regressor)


def _images():
    import cv2

    return [cv2.resize(cv2.imread(str(path)), (320, 240)) for path in pristine_images("val", count=3)]


@pytest.mark.skipif(not has_torch(), reason="needs torch")
def test_torch_backend_scores_on_cuda_as_on_the_cpu(lite0_imagenet_weights, blur_regressor):
    import torch

    from arniqa_edge import Scorer

    if not torch.cuda.is_available():
        pytest.skip("torch sees no GPU")
    scores = {
        device: Scorer(
            weights=lite0_imagenet_weights, regressor=blur_regressor, backend="torch", device=device
        ).score_batch(_images())
        for device in ("cpu", "cuda")
    }
    np.testing.assert_allclose(scores["cuda"], scores["cpu"], atol=1e-3)


@pytest.mark.skipif(not has_torch(), reason="exports need torch")
def test_tensorrt_scores_like_onnxruntime_and_runs_cvrkd(exports, blur_regressor, tmp_path, tmp_path_factory):
    from arniqa_edge import Scorer
    from arniqa_edge.backends.tensorrt_backend import tensorrt_usable
    from export.trt import ShapeRange, build_engine

    if not tensorrt_usable():
        pytest.skip("needs TensorRT (or tensorrt-rtx) and cuda-python")
    engine = tmp_path / "lite0.engine"
    build_engine(exports["fp32"], engine, "fp32", ShapeRange(batch=(1, 2, 4), size=((64, 64), (240, 320), (480, 640))))
    by_trt = Scorer(weights=engine, regressor=blur_regressor, backend="tensorrt").score_batch(_images())
    by_ort = Scorer(weights=exports["fp32"], regressor=blur_regressor, backend="onnxruntime", device="cpu").score_batch(
        _images()
    )
    np.testing.assert_allclose(by_trt, by_ort, atol=1e-3)

    from cvrkd_fixtures import exported_student

    from arniqa_edge.cvrkd import ReferenceScorer

    student = exported_student(tmp_path_factory)
    folder = tmp_path / "cvrkd"
    folder.mkdir()
    for graph in ("maps", "score"):
        shutil.copyfile(student[graph], folder / student[graph].name)
        build_engine(student[graph], folder / f"student.{graph}.engine", "fp32", ShapeRange(batch=(1, 2, 4)))
    image, *references = [str(p) for p in pristine_images("val", count=3)]
    on_trt = ReferenceScorer(folder / "student.maps.engine")
    assert on_trt.backend == "tensorrt"
    expected = ReferenceScorer(student["maps"], backend="onnxruntime", device="cpu").predict(image, references)
    np.testing.assert_allclose(on_trt.predict(image, references).per_reference, expected.per_reference, atol=1e-3)
