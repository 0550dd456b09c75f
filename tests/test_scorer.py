"""Scorer API end to end on the torch CPU backend with the ImageNet lite0 encoder."""

import cv2
import numpy as np
import pytest
from conftest import gaussian_blur, has_torch, pristine_images

from arniqa_edge import InputImageError, Scorer, WeightsError
from arniqa_edge.errors import BackendUnavailableError

pytestmark = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")


@pytest.fixture(scope="module")
def scorer(lite0_imagenet_weights, blur_regressor):
    return Scorer(
        "arniqa-lite0", weights=lite0_imagenet_weights, regressor=blur_regressor, backend="torch", device="cpu"
    )


@pytest.fixture(scope="module")
def val_image():
    return cv2.resize(cv2.imread(str(pristine_images("val", count=1)[0])), (200, 136), interpolation=cv2.INTER_AREA)


def test_blur_lowers_the_score_on_unseen_content(scorer, val_image):
    scores = scorer.score_batch([gaussian_blur(val_image, s) for s in (0, 1, 2, 4)])
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True), scores
    assert scores[0] - scores[-1] > 0.3, scores


def test_input_kinds_agree(scorer, val_image, tmp_path):
    from PIL import Image

    path = tmp_path / "x.png"
    cv2.imwrite(str(path), val_image)
    rgb = val_image[..., ::-1].copy()
    by_array = scorer.score(val_image)
    assert scorer.score(path) == pytest.approx(by_array, abs=1e-6)
    assert scorer.score(str(path)) == pytest.approx(by_array, abs=1e-6)
    assert scorer.score(rgb, channels="rgb") == pytest.approx(by_array, abs=1e-6)
    assert scorer.score(Image.fromarray(rgb)) == pytest.approx(by_array, abs=1e-6)
    # A channel swap changes colours, hence (slightly) the score: the order is honoured.
    assert scorer.score(rgb) != pytest.approx(by_array, abs=1e-7)


def test_batch_equals_single_and_mixed_sizes(scorer, val_image):
    small = val_image[:100, :120]
    batch = scorer.predict_batch([val_image, small, val_image])
    singles = [scorer.predict(i) for i in (val_image, small, val_image)]
    for b, s in zip(batch, singles):
        assert b.score == pytest.approx(s.score, abs=1e-5)
        assert b.raw_score == pytest.approx(s.raw_score, abs=1e-4)


def test_embed_matches_torch_reference(scorer, val_image, lite0_imagenet_weights):
    """Features = [f(full), f(half)] with the half scale from torch's antialiased bilinear resize."""
    import torch
    import torch.nn.functional as F

    from arniqa_edge.models import get_model_config
    from arniqa_edge.models.encoder import load_encoder

    feats = scorer.embed(val_image)
    assert feats.shape == (1, 2560)
    encoder = load_encoder(get_model_config("arniqa-lite0"), lite0_imagenet_weights)
    x = torch.from_numpy(val_image[..., ::-1].copy()).permute(2, 0, 1).float()[None] / 255
    h, w = val_image.shape[:2]
    x_half = F.interpolate(x, size=(h // 2, w // 2), mode="bilinear", antialias=True, align_corners=False)
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    with torch.no_grad():
        expected = torch.cat([encoder((x - mean) / std), encoder((x_half - mean) / std)], 1).numpy()
    np.testing.assert_allclose(feats, expected, atol=2e-5)


def test_five_crop(lite0_imagenet_weights, blur_regressor, val_image):
    scorer = Scorer(
        "arniqa-lite0",
        weights=lite0_imagenet_weights,
        regressor=blur_regressor,
        backend="torch",
        device="cpu",
        protocol="five_crop",
    )
    big = cv2.resize(val_image, (480, 460))
    assert scorer.embed(big).shape == (5, 2560)
    assert 0 <= scorer.score(big) <= 1
    with pytest.raises(InputImageError, match="too small for five_crop"):
        scorer.score(val_image)


def test_bad_inputs(scorer, tmp_path):
    with pytest.raises(InputImageError, match="no such file"):
        scorer.score(tmp_path / "missing.png")
    with pytest.raises(InputImageError, match="too small"):
        scorer.score(np.zeros((16, 64, 3), np.uint8))
    with pytest.raises(InputImageError, match="dtype"):
        scorer.score(np.zeros((64, 64, 3), np.float64))


def test_weights_errors(lite0_imagenet_weights, blur_regressor, tmp_path):
    with pytest.raises(WeightsError, match="no trained weights ship"):
        Scorer("arniqa-r50")  # only arniqa-lite0 ships
    with pytest.raises(WeightsError, match="pass both"):
        Scorer("arniqa-lite0", weights=lite0_imagenet_weights)
    with pytest.raises(WeightsError, match="takes 2560 features"):
        Scorer("arniqa-r50", weights=lite0_imagenet_weights, regressor=blur_regressor)
    with pytest.raises(BackendUnavailableError, match="unknown backend"):
        Scorer("arniqa-lite0", weights=lite0_imagenet_weights, regressor=blur_regressor, backend="magic")


def test_cuda_requested_without_gpu_is_an_error(lite0_imagenet_weights, blur_regressor):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(BackendUnavailableError, match="sees no CUDA GPU"):
        Scorer("arniqa-lite0", weights=lite0_imagenet_weights, regressor=blur_regressor, device="cuda")


def test_non_finite_features_are_refused_naming_the_weights(scorer, val_image, monkeypatch, lite0_imagenet_weights):
    """In the Scorer, so every tool gets it: the API, the image CLI and the video pipeline."""
    from arniqa_edge.errors import NonFiniteOutputError
    from arniqa_edge.pipeline import Frame, score_frames

    monkeypatch.setattr(scorer.backend, "_run", lambda full, half: np.full((full.shape[0], 2560), np.nan, np.float32))
    with pytest.raises(NonFiniteOutputError, match=f"the encoder {lite0_imagenet_weights} gave NaN or infinite"):
        scorer.score(val_image)
    frames = [Frame(index, index / 25, val_image) for index in range(3)]
    with pytest.raises(NonFiniteOutputError, match="gave NaN or infinite features for 3 of 3 inputs"):
        list(score_frames(scorer, frames, batch_size=3))


def test_non_finite_scores_are_refused_naming_the_regressor(lite0_imagenet_weights, val_image, tmp_path):
    from arniqa_edge.errors import NonFiniteOutputError
    from arniqa_edge.regressor import LinearRegressor, ScoreScale

    path = tmp_path / "huge.regressor.safetensors"
    LinearRegressor(np.full(2560, 3e38, np.float32), 0.0, ScoreScale(1, 5), {"model": "arniqa-lite0"}).save(path)
    scorer = Scorer("arniqa-lite0", weights=lite0_imagenet_weights, regressor=path, backend="torch", device="cpu")
    with pytest.raises(NonFiniteOutputError, match=f"the regressor {path} gave a NaN or infinite score"):
        scorer.score(val_image)
