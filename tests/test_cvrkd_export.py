import numpy as np
import pytest
from conftest import has_torch

pytestmark = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from cvrkd_fixtures import exported_student

    files = exported_student(tmp_path_factory)
    return files["weights"], (files["maps"], files["score"])


@pytest.mark.parametrize("batch", [1, 3])
def test_onnxruntime_matches_torch_at_any_batch(exported, batch):
    import torch

    from arniqa_edge.cvrkd.weights import load_cvrkd
    from export.cvrkd import onnx_score

    student, (maps_path, score_path) = exported
    net, _ = load_cvrkd(student)
    config = net.config
    rng = np.random.default_rng(batch)
    shape = (batch, config.crops, 3, config.crop_size, config.crop_size)
    lq, ref = rng.standard_normal(shape, dtype=np.float32), rng.standard_normal(shape, dtype=np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(lq), torch.from_numpy(ref)).score.numpy()
    actual = onnx_score(maps_path, score_path, lq, ref)
    assert actual.shape == (batch,)
    np.testing.assert_allclose(actual, expected, atol=1e-4)


def test_graphs_carry_the_configuration_and_their_source(exported):
    import hashlib

    import onnx

    from arniqa_edge.cvrkd.weights import read_cvrkd_metadata

    student, paths = exported
    for path, graph in zip(paths, ("maps", "score")):
        props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        # The one metadata scheme of every export, kind "cvrkd".
        assert props["arniqa.format"] == "arniqa_edge.onnx.v1" and props["arniqa.kind"] == "cvrkd"
        assert props["arniqa.config"] == read_cvrkd_metadata(student)["config"]
        assert props["arniqa.role"] == "student" and props["arniqa.graph"] == graph
        assert props["arniqa.weights_sha256"] == hashlib.sha256(student.read_bytes()).hexdigest()


def test_crop_sizes_the_exporter_cannot_pool_are_refused(tmp_path, capsys):
    from cvrkd_fixtures import tiny_student

    from export.cvrkd import main

    student = tiny_student(tmp_path / "student.safetensors", crop_size=64)
    assert main([str(student), "-o", str(tmp_path / "onnx")]) == 2
    assert "levels are [16, 8, 4, 2] px" in capsys.readouterr().err


def test_the_old_command_forwards_to_export_cvrkd():
    import export.cvrkd
    import training.cvrkd.export

    assert training.cvrkd.export.main is export.cvrkd.main
    assert export.cvrkd.build_parser().prog == "python -m export.cvrkd"
