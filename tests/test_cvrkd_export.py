import numpy as np
import pytest

from conftest import has_torch

pytestmark = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")


def tiny_student(path, crop_size):
    """An untrained student with small heads (parity needs no training), saved as training saves it."""
    import torch

    from arniqa_edge.reference.config import CVRKDConfig
    from arniqa_edge.reference.network import CVRKDNet
    from arniqa_edge.reference.weights import save_cvrkd

    torch.manual_seed(0)
    config = CVRKDConfig(crops=2, crop_size=crop_size, level_channels=8, mixer_dim=32, lq_depth=2, diff_depth=3)
    return save_cvrkd(CVRKDNet(config), path, "student")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    from training.cvrkd.export import export_cvrkd_onnx

    folder = tmp_path_factory.mktemp("cvrkd-onnx")
    # 224 px: every backbone level (56, 28, 14, 7) is a multiple of the 7 x 7 grid, as the exporter needs.
    student = tiny_student(folder / "student.safetensors", crop_size=224)
    return student, export_cvrkd_onnx(student, folder)


@pytest.mark.parametrize("batch", [1, 3])
def test_onnxruntime_matches_torch_at_any_batch(exported, batch):
    import torch

    from arniqa_edge.reference.weights import load_cvrkd
    from training.cvrkd.export import onnx_score

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


def test_graphs_carry_the_configuration(exported):
    import onnx

    from arniqa_edge.reference.weights import read_cvrkd_metadata

    student, paths = exported
    for path in paths:
        props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        assert props["cvrkd_config"] == read_cvrkd_metadata(student)["config"] and props["role"] == "student"


def test_crop_sizes_the_exporter_cannot_pool_are_refused(tmp_path, capsys):
    from training.cvrkd.export import main

    student = tiny_student(tmp_path / "student.safetensors", crop_size=64)
    assert main([str(student), "--out", str(tmp_path / "onnx")]) == 2
    assert "levels are [16, 8, 4, 2] px" in capsys.readouterr().err
