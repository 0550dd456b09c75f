"""create_metric: pyiqa-style calls agree with Scorer on the same image, for every kind of input."""

import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT, gaussian_blur, has_torch, pristine_images

from arniqa_edge import InputImageError, Scorer, WeightsError, create_metric
from arniqa_edge.models import get_model_config
from arniqa_edge.models.shipped import shipped_weights

needs_torch = pytest.mark.skipif(not has_torch(), reason="the fixture models need torch and timm")


@pytest.fixture(scope="module")
def images():
    """Two different 96x64 BGR photos (small: the torch backend runs them on a busy CPU)."""
    paths = pristine_images("val", count=2)
    return [cv2.resize(cv2.imread(str(p)), (96, 64), interpolation=cv2.INTER_AREA) for p in paths]


@pytest.fixture(scope="module")
def scorer(lite0_imagenet_weights, blur_regressor):
    return Scorer(
        "arniqa-lite0", weights=lite0_imagenet_weights, regressor=blur_regressor, backend="torch", device="cpu"
    )


@pytest.fixture(scope="module")
def metric(lite0_imagenet_weights, blur_regressor):
    return create_metric(
        "arniqa-lite0", device="cpu", weights=lite0_imagenet_weights, regressor=blur_regressor, backend="torch"
    )


def to_float_nchw(bgr_images) -> np.ndarray:
    """pyiqa's layout: (N, 3, H, W) RGB float32 in [0, 1]."""
    return np.stack([image[..., ::-1].transpose(2, 0, 1) for image in bgr_images]).astype(np.float32) / 255


@needs_torch
def test_attributes(metric):
    assert metric.lower_better is False
    assert metric.score_range == (0.0, 1.0)
    assert metric.metric_name == "arniqa-lite0"
    assert metric.device == "cpu"
    assert "lower_better=False" in repr(metric)


@needs_torch
def test_tensor_input_agrees_with_scorer_on_the_same_image(metric, scorer, images):
    import torch

    expected = np.array([scorer.score(image) for image in images])
    batch = torch.from_numpy(to_float_nchw(images))
    scores = metric(batch)
    assert isinstance(scores, torch.Tensor) and scores.dtype == torch.float32 and scores.shape == (2,)
    assert scores.device == batch.device
    # The float image is rounded back to the uint8 frame Scorer saw: the same score (float32 output).
    np.testing.assert_allclose(scores.numpy(), expected, rtol=0, atol=1e-6)
    # One (3, H, W) image, a list of tensors, and a uint8 tensor (torchvision.io.read_image) alike.
    assert metric(batch[1]).shape == (1,)
    np.testing.assert_allclose(metric(batch[1]).numpy(), expected[1:], atol=1e-6)
    np.testing.assert_allclose(metric([batch[0], batch[1]]).numpy(), expected, atol=1e-6)
    as_uint8 = torch.from_numpy(np.ascontiguousarray(images[0][..., ::-1].transpose(2, 0, 1)))
    np.testing.assert_allclose(metric(as_uint8).numpy(), expected[:1], atol=1e-6)


@needs_torch
def test_float_input_is_rounded_to_the_uint8_frame(metric, scorer, images):
    """Documented: x is scored as round(clip(x, 0, 1) * 255); off-grid values and small overshoots change nothing."""
    x = to_float_nchw(images[:1])
    jitter = np.random.default_rng(0).uniform(-0.45 / 255, 0.45 / 255, x.shape).astype(np.float32)
    x_off_grid = x + jitter
    x_off_grid[0, :, 0, 0] = (1.05, -0.05, 1.0)  # resampling overshoot: clipped
    frame = images[0].copy()
    frame[0, 0] = (255, 0, 255)  # BGR of the clipped pixel (R 1.05 -> 255, G -0.05 -> 0, B 1.0 -> 255)
    scores = metric(x_off_grid)
    assert isinstance(scores, np.ndarray) and scores.dtype == np.float64
    assert scores[0] == scorer.score(frame)


@needs_torch
def test_paths_arrays_and_lists_agree_with_scorer(metric, scorer, images, tmp_path):
    paths = []
    for index, image in enumerate(images):
        paths.append(tmp_path / f"{index}.png")
        cv2.imwrite(str(paths[-1]), image)
    expected = np.array([scorer.score(path) for path in paths])
    np.testing.assert_array_equal(metric(str(paths[0])), expected[:1])
    np.testing.assert_allclose(metric(paths), expected, atol=1e-6)
    np.testing.assert_allclose(metric(images[0]), expected[:1], atol=1e-6)  # uint8 BGR, as cv2.imread gives
    np.testing.assert_allclose(metric(images[0][..., ::-1].copy(), channels="rgb"), expected[:1], atol=1e-6)
    np.testing.assert_allclose(metric(np.stack(images)), expected, atol=1e-6)  # (N, H, W, 3) uint8 frames
    mixed = metric([paths[0], to_float_nchw(images[1:])[0]])
    np.testing.assert_allclose(mixed, expected, atol=1e-6)
    assert metric([]).shape == (0,)


@needs_torch
def test_batched_scores_equal_single_ones(metric, images):
    blurred = [gaussian_blur(images[0], sigma) for sigma in (0, 2)] + [images[1]]
    batch = to_float_nchw(blurred)
    together = metric(batch)
    assert together.shape == (3,)
    singles = np.concatenate([metric(batch[i]) for i in range(3)])
    np.testing.assert_allclose(together, singles, atol=1e-5)
    assert together[0] > together[1]  # the blur fixture regressor: blur lowers the score


@needs_torch
def test_bad_inputs_are_refused_with_a_reason(metric, images):
    x = to_float_nchw(images[:1])
    with pytest.raises(InputImageError, match="divide it by 255"):
        metric(x * 255)
    with pytest.raises(InputImageError, match="transpose"):
        metric(x[0].transpose(1, 2, 0))  # (H, W, 3) float
    nan = x.copy()
    nan[0, 0, 0, 0] = np.nan
    with pytest.raises(InputImageError, match="NaN"):
        metric(nan)
    with pytest.raises(InputImageError, match="expected an"):
        metric(x[None])


def test_weights_errors_and_no_as_loss(tmp_path):
    with pytest.raises(TypeError, match="as_loss"):
        create_metric("arniqa-lite0", as_loss=True)
    with pytest.raises(WeightsError, match="both"):
        create_metric("arniqa-lite0", weights=tmp_path / "encoder.safetensors")
    if shipped_weights(get_model_config("arniqa-lite0")) is None:
        with pytest.raises(WeightsError, match="no trained weights ship"):
            create_metric("arniqa-lite0")


@needs_torch
@pytest.mark.slow
def test_numpy_input_and_paths_score_without_torch(tmp_path, lite0_imagenet_weights, blur_regressor, scorer, images):
    """numpy arrays and paths never import torch: scored by onnxruntime in a process that blocks torch."""
    from export.onnx import export_onnx

    onnx_path = tmp_path / "lite0.onnx"
    export_onnx(get_model_config("arniqa-lite0"), lite0_imagenet_weights, onnx_path)
    np.save(tmp_path / "x.npy", to_float_nchw(images))
    cv2.imwrite(str(tmp_path / "0.png"), images[0])
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['timm'] = None; sys.modules['torchvision'] = None\n"
        "import numpy as np, arniqa_edge\n"
        f"metric = arniqa_edge.create_metric(weights={str(onnx_path)!r}, regressor={str(blur_regressor)!r}, "
        "backend='onnxruntime', device='cpu')\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        f"scores = [metric(x), metric({str(tmp_path / '0.png')!r}), metric(x[0])]\n"
        "assert all(type(s) is np.ndarray for s in scores)\n"
        "assert [m for m in sys.modules if m.split('.')[0] == 'torch' and sys.modules[m] is not None] == []\n"
        "print(' '.join(repr(float(v)) for s in scores for v in s))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    scores = [float(v) for v in result.stdout.split()]
    expected = [scorer.score(image) for image in images]
    np.testing.assert_allclose(scores, expected + expected[:1] + expected[:1], atol=1e-5)
