"""The default model the package ships: present, consistent in both forms, and ranking quality.

These check the shipped files themselves (not fixtures), so a broken release fails here.
"""

import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import pristine_images

from arniqa_edge import Scorer
from arniqa_edge.models import get_model_config
from arniqa_edge.models.shipped import shipped_weights


def shipped():
    files = shipped_weights(get_model_config("arniqa-lite0"))
    assert files is not None, "arniqa-lite0 must ship its weights"
    return files


def test_default_model_ships_in_both_forms_with_its_regressor():
    encoder, regressor = shipped()
    assert encoder.with_suffix(".onnx").is_file() and encoder.with_suffix(".safetensors").is_file()
    from arniqa_edge.regressor import LinearRegressor

    reg = LinearRegressor.load(regressor)
    assert reg.input_dim == 2560 and reg.metadata["model"] == "arniqa-lite0"
    assert "training.recipe" in reg.metadata["release_command"]


def test_scoring_with_no_options_needs_no_torch(tmp_path):
    image = tmp_path / "frame.png"
    cv2.imwrite(str(image), cv2.imread(str(pristine_images("val", count=1)[0])))
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['timm'] = None\n"
        "from arniqa_edge import Scorer\n"
        f"s = Scorer(); print(s.backend.describe()); print(s.score({str(image)!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    backend, score = out.stdout.split("\n")[:2]
    assert "onnxruntime" in backend and 0.0 <= float(score) <= 1.0


def test_cpu_int8_form_ranks_like_fp32():
    encoder, regressor = shipped()
    int8 = encoder.with_suffix(".int8.onnx")
    assert int8.is_file(), "the CPU INT8 export ships (recipe: within 0.01 SRCC of FP32)"
    frames = [cv2.imread(str(p)) for p in pristine_images("val", count=2)]
    frames += [cv2.GaussianBlur(f, (0, 0), 3) for f in frames] + [cv2.GaussianBlur(f, (0, 0), 8) for f in frames]
    fp32 = Scorer(weights=encoder.with_suffix(".onnx"), regressor=regressor, backend="onnxruntime", device="cpu")
    quantized = Scorer(weights=int8, regressor=regressor, backend="onnxruntime", device="cpu")
    assert "int8" in quantized.backend.describe()
    a, b = np.array(fp32.score_batch(frames)), np.array(quantized.score_batch(frames))
    assert np.abs(a - b).max() < 0.08 and (np.argsort(a) == np.argsort(b)).mean() >= 0.6


def test_torch_and_onnx_forms_agree():
    pytest.importorskip("torch")
    encoder, regressor = shipped()
    frame = cv2.imread(str(pristine_images("val", count=1)[0]))
    by_torch = Scorer(
        weights=encoder.with_suffix(".safetensors"), regressor=regressor, backend="torch", device="cpu"
    ).score(frame)
    by_onnx = Scorer(
        weights=encoder.with_suffix(".onnx"), regressor=regressor, backend="onnxruntime", device="cpu"
    ).score(frame)
    assert by_torch == pytest.approx(by_onnx, abs=1e-4)


@pytest.mark.parametrize("distortion", ["gaublur", "jpeg", "whitenoise"])
def test_blur_jpeg_and_noise_series_are_ranked_in_order(distortion):
    # An implementation of the distortions the model never trained on (OpenCV/numpy), on unseen photos.
    # KADID's levels 1-3 of blur and JPEG are close to invisible on these (already JPEG) photos and
    # their order is not stable; the mildest, a strong and the strongest level must be ranked.
    from training.evaluation.external_distortions import apply_external

    scorer = Scorer(backend="onnxruntime", device="cpu")
    for path in pristine_images("val", count=3):
        rgb = cv2.imread(str(path))[:, :, ::-1].copy()
        series = [apply_external(rgb, distortion, level, np.random.default_rng(level)) for level in (1, 4, 5)]
        scores = scorer.score_batch([np.ascontiguousarray(image[:, :, ::-1]) for image in series])
        assert scores[0] > scores[1] > scores[2], (path.name, distortion, scores)
        assert scores[0] - scores[2] > 0.2, (path.name, distortion, scores)


def test_golden_frame_model_ships_and_ranks_blur_against_references():
    from arniqa_edge.cvrkd import ReferenceScorer
    from arniqa_edge.models.shipped import WEIGHTS_DIR, shipped_reference_model

    model = shipped_reference_model()
    assert model is not None and model.name == "cvrkd-student.maps.onnx", "the CVRKD student must ship"
    assert (WEIGHTS_DIR / "cvrkd-student.score.onnx").is_file()
    assert (WEIGHTS_DIR / "cvrkd-student.safetensors").is_file()
    scorer = ReferenceScorer(backend="onnxruntime", device="cpu")  # no model named: the shipped one
    assert scorer.role == "student"
    frame, *others = [cv2.imread(str(p)) for p in pristine_images("val", count=3)]
    references = scorer.prepare_references(others)  # other content: non-aligned references
    sharp = scorer.score(frame, references)
    blurred = scorer.score(cv2.GaussianBlur(frame, (0, 0), 4), references)
    assert sharp - blurred > 0.1, (sharp, blurred)
