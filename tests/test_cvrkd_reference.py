import json

import cv2
import numpy as np
import pytest
from conftest import has_torch, pristine_images

pytestmark = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    from cvrkd_fixtures import smoke_runs

    return smoke_runs(tmp_path_factory)["student"]


@pytest.fixture(scope="module")
def scorer(student):
    from arniqa_edge.cvrkd import ReferenceScorer

    return ReferenceScorer(student, device="cpu")


@pytest.fixture(scope="module")
def images():
    """image, reference 1, reference 2 (other content)."""
    return [str(path) for path in pristine_images("val", count=3)]


def test_score_is_the_mean_over_references_in_unit_range(scorer, images):
    image, *references = images
    prediction = scorer.predict(image, references)
    assert len(prediction.per_reference) == 2
    assert prediction.raw_score == pytest.approx(np.mean(prediction.per_reference))
    assert 0 <= prediction.score <= 1
    assert prediction.score == pytest.approx(np.clip((prediction.raw_score - 1) / 4, 0, 1))
    assert scorer.score(image, references) == prediction.score  # deterministic crop grid


def test_prepared_references_and_every_input_kind_agree(scorer, images):
    from PIL import Image

    image, *references = images
    expected = scorer.score(image, references)
    prepared = scorer.prepare_references(references)
    assert prepared.names == tuple(references)
    bgr = cv2.imread(image)
    assert scorer.score(image, prepared) == pytest.approx(expected, abs=1e-6)
    assert scorer.score(bgr, references) == pytest.approx(expected, abs=1e-6)
    assert scorer.score(bgr[:, :, ::-1].copy(), references, channels="rgb") == pytest.approx(expected, abs=1e-6)
    assert scorer.score(Image.open(image), references) == pytest.approx(expected, abs=1e-6)


def test_scores_match_the_network_on_grid_crops(scorer, images):
    import torch

    from arniqa_edge.cvrkd.crops import grid_crops

    image, reference = images[:2]
    config = scorer.config
    lq, hq = (
        torch.from_numpy(grid_crops(cv2.imread(p)[:, :, ::-1].copy(), config.crop_size, config.crops))[None]
        for p in (image, reference)
    )
    with torch.no_grad():
        expected = scorer.engine.net(lq, hq).score.item()
    assert scorer.predict(image, [reference]).raw_score == pytest.approx(expected, abs=1e-5)


def test_images_smaller_than_a_crop_are_upscaled(scorer, images):
    small = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    assert 0 <= scorer.score(small, images[1:]) <= 1


def test_clear_errors_for_missing_and_bad_references(scorer, images, tmp_path):
    from arniqa_edge.errors import InputImageError

    with pytest.raises(InputImageError, match="reference .*nope.png: no such file"):
        scorer.score(images[0], [images[1], str(tmp_path / "nope.png")])
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    with pytest.raises(InputImageError, match="reference .*broken.jpg"):
        scorer.score(images[0], [str(tmp_path / "broken.jpg")])
    with pytest.raises(InputImageError, match="no reference images"):
        scorer.score(images[0], [])
    with pytest.raises(InputImageError, match="image .*nope.png"):
        scorer.score(str(tmp_path / "nope.png"), images[1:])


def test_bad_weights_files_are_refused(tmp_path, lite0_imagenet_weights):
    from arniqa_edge.cvrkd import ReferenceScorer
    from arniqa_edge.errors import WeightsError

    with pytest.raises(WeightsError, match="not found"):
        ReferenceScorer(tmp_path / "missing.safetensors")
    (tmp_path / "garbage.safetensors").write_bytes(b"garbage")
    with pytest.raises(WeightsError, match="does not read as safetensors"):
        ReferenceScorer(tmp_path / "garbage.safetensors")
    with pytest.raises(WeightsError, match="not an arniqa_edge CVRKD weights file"):
        ReferenceScorer(lite0_imagenet_weights)  # an ARNIQA encoder


def test_cli_scores_against_references(student, images, capsys):
    from arniqa_edge.cli import main

    image, *references = images
    argv = [image, "--reference", *references, "--reference-model", str(student), "--device", "cpu", "--json"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["error"] is None and 0 <= rows[0]["score"] <= 1


def test_cli_reports_unreadable_images_and_references(student, images, tmp_path, capsys):
    from arniqa_edge.cli import main

    image, *references = images
    missing = str(tmp_path / "missing.jpg")
    assert main([image, missing, "--reference", *references, "--reference-model", str(student), "--csv"]) == 1
    captured = capsys.readouterr()
    assert "missing.jpg: no such file" in captured.err and captured.out.count("\n") == 3
    assert main([image, "--reference", missing, "--reference-model", str(student)]) == 2
    assert "reference" in capsys.readouterr().err
    assert main([image, "--reference", *references, "--reference-model", str(student), "--protocol", "five_crop"]) == 2
    assert "--protocol apply to no-reference scoring" in capsys.readouterr().err


def test_cli_without_torch_says_what_to_install(student, images):
    import subprocess
    import sys

    from conftest import ROOT

    block_torch = "import sys; sys.modules['torch'] = None; sys.modules['timm'] = None\n"
    argv = [images[0], "--reference", images[1], "--reference-model", str(student)]
    code = f"from arniqa_edge.cli import main\nsys.exit(main({argv!r}))\n"
    result = subprocess.run(
        [sys.executable, "-c", block_torch + code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 2, result.stderr
    assert "needs torch and timm" in result.stderr and "Traceback" not in result.stderr


def test_float16_weights_load_and_score_like_float32(scorer, images, tmp_path):
    from arniqa_edge.cvrkd import ReferenceScorer, read_cvrkd_metadata, save_cvrkd

    half = save_cvrkd(scorer.engine.net, tmp_path / "half.safetensors", "student", half=True)
    assert read_cvrkd_metadata(half)["dtype"] == "float16"
    assert half.stat().st_size < 0.6 * scorer.weights_path.stat().st_size
    image, *references = images
    assert ReferenceScorer(half, device="cpu").predict(image, references).raw_score == pytest.approx(
        scorer.predict(image, references).raw_score, abs=1e-2
    )


def test_cli_without_reference_model_needs_a_shipped_one(images, without_shipped_weights, capsys):
    from arniqa_edge.cli import main

    image, *references = images
    assert main([image, "--reference", *references]) == 2
    assert "no reference model ships in this installation" in capsys.readouterr().err
    from arniqa_edge.cvrkd import ReferenceScorer
    from arniqa_edge.errors import WeightsError

    with pytest.raises(WeightsError, match="no reference model ships"):
        ReferenceScorer()
