"""Reference scoring on torch and on onnxruntime: same scores, the choice between them, the file checks."""

import json
import logging
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, has_torch, pristine_images
from test_runtime_without_torch import BLOCK_TORCH

from arniqa_edge.errors import BackendUnavailableError, WeightsError

pytestmark = pytest.mark.skipif(not has_torch(), reason="exports need torch and timm")


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    """{"dir", "weights", "maps", "score"}: a tiny student and its graphs, side by side."""
    from cvrkd_fixtures import exported_student

    return exported_student(tmp_path_factory)


@pytest.fixture(scope="module")
def images():
    """image, reference 1, reference 2 (other content)."""
    return [str(path) for path in pristine_images("val", count=3)]


@pytest.fixture(scope="module")
def torch_scorer(student):
    from arniqa_edge.cvrkd import ReferenceScorer

    return ReferenceScorer(student["weights"], backend="torch", device="cpu")


@pytest.fixture(scope="module")
def ort_scorer(student):
    from arniqa_edge.cvrkd import ReferenceScorer

    return ReferenceScorer(student["maps"], backend="onnxruntime", device="cpu")


def test_onnxruntime_scores_like_torch(torch_scorer, ort_scorer, images):
    image, *references = images
    expected = torch_scorer.predict(image, references)
    actual = ort_scorer.predict(image, references)
    np.testing.assert_allclose(actual.per_reference, expected.per_reference, atol=1e-4)
    assert actual.raw_score == pytest.approx(expected.raw_score, abs=1e-4)
    assert actual.score == pytest.approx(expected.score, abs=1e-4)
    assert (ort_scorer.backend, torch_scorer.backend) == ("onnxruntime", "torch")
    assert ort_scorer.config == torch_scorer.config and ort_scorer.role == torch_scorer.role == "student"

    prepared = ort_scorer.prepare_references(references)
    assert isinstance(prepared.maps, np.ndarray) and prepared.names == tuple(references)
    assert prepared.maps.shape == (2, ort_scorer.config.mixer_input_dim, 7, 7)
    assert ort_scorer.score(image, prepared) == pytest.approx(actual.score, abs=1e-6)


@pytest.mark.parametrize("name", ["maps", "score", "dir", "stem"])
def test_every_way_to_name_the_graphs(student, ort_scorer, images, name):
    from arniqa_edge.cvrkd import ReferenceScorer

    given = student["dir"] / "student" if name == "stem" else student[name]
    scorer = ReferenceScorer(given, backend="onnxruntime", device="cpu")
    assert scorer.backend == "onnxruntime"
    assert scorer.score(images[0], images[1:]) == pytest.approx(ort_scorer.score(images[0], images[1:]), abs=1e-6)


def test_auto_takes_onnxruntime_on_cpu_and_logs_it(student, caplog):
    from arniqa_edge.cvrkd import ReferenceScorer

    with caplog.at_level(logging.INFO, logger="arniqa_edge.backends"):
        # The graphs lie beside the weights and come from them: on a CPU onnxruntime is the faster.
        scorer = ReferenceScorer(student["weights"], device="cpu")
    assert scorer.backend == "onnxruntime"
    assert "CVRKD model backend auto: using onnxruntime on cpu" in caplog.text
    assert "file student.maps.onnx, fp32" in caplog.text


def test_without_onnxruntime_auto_takes_torch_by_the_encoders_policy(student, monkeypatch, caplog):
    """The reference scorer chooses through the backend layer of the encoders: same registry, order and log."""
    import dataclasses

    from arniqa_edge.backends import registry
    from arniqa_edge.cvrkd import ReferenceScorer

    entry = registry.get_entry("cvrkd", "onnxruntime")
    monkeypatch.setitem(registry._ENTRIES, ("cvrkd", "onnxruntime"), dataclasses.replace(entry, probe=lambda d: False))
    with caplog.at_level(logging.INFO, logger="arniqa_edge.backends"):
        scorer = ReferenceScorer(student["maps"], device="cpu")  # the graphs named, the weights beside them
    assert scorer.backend == "torch"
    assert "CVRKD model backend auto: using torch on cpu; file student.safetensors, fp32" in caplog.text


def test_auto_refuses_graphs_exported_from_other_weights(student, tmp_path):
    from arniqa_edge.cvrkd import ReferenceScorer, save_cvrkd
    from arniqa_edge.cvrkd.weights import load_cvrkd

    for graph in ("maps", "score"):
        shutil.copyfile(student[graph], tmp_path / student[graph].name)
    net, _ = load_cvrkd(student["weights"])
    stale = save_cvrkd(net, tmp_path / "student.safetensors", "student", half=True)  # same stem, other bytes
    with pytest.raises(WeightsError, match="student.maps.onnx was not exported from .*student.safetensors"):
        ReferenceScorer(stale, device="cpu")
    assert ReferenceScorer(stale, backend="torch", device="cpu").backend == "torch"  # named form, run as it is
    assert ReferenceScorer(tmp_path / student["maps"].name, backend="onnxruntime").backend == "onnxruntime"


def _with_props(source, target, **props):
    """Copy an ONNX file, overriding metadata props."""
    import onnx

    model = onnx.load(str(source))
    merged = {p.key: p.value for p in model.metadata_props} | props
    onnx.helper.set_model_props(model, merged)
    onnx.save(model, str(target))
    return target


def test_graph_pairs_are_checked(student, tmp_path):
    from arniqa_edge.cvrkd import ReferenceScorer

    with pytest.raises(WeightsError, match="CVRKD model not found: .*nope.maps.onnx"):
        ReferenceScorer(tmp_path / "nope.maps.onnx")
    with pytest.raises(WeightsError, match="CVRKD model not found: .*nope \\(expected"):
        ReferenceScorer(tmp_path / "nope")

    shutil.copyfile(student["maps"], tmp_path / "half.maps.onnx")
    with pytest.raises(WeightsError, match="half.score.onnx is missing"):
        ReferenceScorer(tmp_path / "half.maps.onnx")

    shutil.copyfile(student["maps"], tmp_path / "mixed.maps.onnx")
    _with_props(student["score"], tmp_path / "mixed.score.onnx", **{"arniqa.weights_sha256": "0" * 64})
    with pytest.raises(WeightsError, match="do not belong together"):
        ReferenceScorer(tmp_path / "mixed.maps.onnx")

    shutil.copyfile(student["maps"], tmp_path / "swapped.score.onnx")
    shutil.copyfile(student["score"], tmp_path / "swapped.maps.onnx")
    with pytest.raises(WeightsError, match="is the score graph of a CVRKD export, not its maps graph"):
        ReferenceScorer(tmp_path / "swapped.maps.onnx")

    (tmp_path / "two").mkdir()
    for stem in ("a", "b"):
        shutil.copyfile(student["maps"], tmp_path / "two" / f"{stem}.maps.onnx")
    with pytest.raises(WeightsError, match="exactly one model, one stem \\(found 2: a, b\\)"):
        ReferenceScorer(tmp_path / "two")


def test_no_reference_exports_are_refused(tmp_path, tmp_path_factory, lite0_imagenet_weights, blur_regressor):
    from export_fixtures import lite0_exports

    from arniqa_edge.cvrkd import ReferenceScorer

    encoder = lite0_exports(tmp_path_factory.mktemp("onnx"), lite0_imagenet_weights, blur_regressor)["fp32"]
    with pytest.raises(WeightsError, match="is not a CVRKD model: .*no-reference encoders go to --weights"):
        ReferenceScorer(encoder)
    for graph in ("maps", "score"):
        shutil.copyfile(encoder, tmp_path / f"nr.{graph}.onnx")
    with pytest.raises(
        WeightsError,
        match="is a no-reference encoder from python -m export.onnx, not a CVRKD graph: pass it to --weights",
    ):
        ReferenceScorer(tmp_path / "nr.maps.onnx")


def test_backends_and_devices_that_cannot_run_are_refused(student, tmp_path):
    from arniqa_edge.cvrkd import ReferenceScorer

    # TensorRT runs CVRKD engines (<stem>.{maps,score}.engine from python -m export.trt); none lie here.
    with pytest.raises(WeightsError, match="backend 'tensorrt' reads engines <stem>.maps.engine"):
        ReferenceScorer(student["weights"], backend="tensorrt")
    for graph in ("maps", "score"):
        shutil.copyfile(student[graph], tmp_path / student[graph].name)
    with pytest.raises(WeightsError, match="backend 'torch' reads weights <stem>.safetensors .* is none"):
        ReferenceScorer(tmp_path / student["maps"].name, backend="torch")
    with pytest.raises(BackendUnavailableError, match="unknown device 'gpu'"):
        ReferenceScorer(student["maps"], backend="onnxruntime", device="gpu")


def _run_without_torch(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_TORCH + code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_onnxruntime_scores_without_torch(student, torch_scorer, images):
    image, *references = images
    expected = torch_scorer.predict(image, references).per_reference
    result = _run_without_torch(
        "from arniqa_edge.cvrkd import ReferenceScorer\n"
        f"scorer = ReferenceScorer({str(student['dir'])!r})\n"
        f"print(list(scorer.predict({image!r}, {references!r}).per_reference))\n"
        "assert [m for m in sys.modules if m.startswith('torch') and sys.modules[m] is not None] == []\n"
    )
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(json.loads(result.stdout), expected, atol=1e-4)


def test_cli_without_torch_runs_the_graphs_and_names_missing_torch(student, torch_scorer, images):
    image, *references = images
    argv = [image, "--reference", *references, "--reference-model", str(student["weights"]), "--json", "-v"]
    result = _run_without_torch(f"from arniqa_edge.cli import main\nsys.exit(main({argv!r}))\n")
    assert result.returncode == 0, result.stderr
    assert "CVRKD model backend auto: using onnxruntime" in result.stderr
    assert json.loads(result.stdout)[0]["raw_score"] == pytest.approx(
        torch_scorer.predict(image, references).raw_score, abs=1e-4
    )

    argv[argv.index("--json")] = "--backend=torch"
    result = _run_without_torch(f"from arniqa_edge.cli import main\nsys.exit(main({argv!r}))\n")
    assert result.returncode == 2 and "backend 'torch' needs torch and timm" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_cli_options(student, images, capsys):
    from arniqa_edge.cli import main

    image, *references = images
    model = ["--reference-model", str(student["weights"])]
    assert main([image, "--reference", *references, *model, "--backend", "onnxruntime", "--csv"]) == 0
    assert capsys.readouterr().out.startswith("path,score,raw_score,error,warning\n")
    assert main([image, "--reference", *references, *model, "--backend", "tensorrt"]) == 2
    assert "backend 'tensorrt' reads engines" in capsys.readouterr().err
    assert main([image, "--reference", *references, "--weights", str(student["weights"])]) == 2
    assert "--weights apply to no-reference scoring" in capsys.readouterr().err
    assert main([image, "--reference", *references, *model, "--weights", str(student["weights"])]) == 2
    assert "the CVRKD model goes to --reference-model" in capsys.readouterr().err
    assert main([image, *model]) == 2
    assert "--reference-model is used with --reference" in capsys.readouterr().err
