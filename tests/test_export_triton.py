"""Triton model repository: layout and a config.pbtxt that Triton's own schema accepts."""

import pytest
from conftest import has_torch

pytestmark = pytest.mark.skipif(not has_torch(), reason="exports need torch and timm")


@pytest.fixture(scope="module")
def exports(tmp_path_factory, lite0_imagenet_weights, blur_regressor):
    from export_fixtures import lite0_exports

    return lite0_exports(tmp_path_factory.mktemp("onnx"), lite0_imagenet_weights, blur_regressor)


def test_repository_config_parses_with_tritons_schema(exports, tmp_path):
    model_config_pb2 = pytest.importorskip(
        "tritonclient.grpc.model_config_pb2", reason="needs tritonclient[grpc] (Triton's model_config schema)"
    )
    from google.protobuf import text_format

    from export.triton import write_repository

    path = write_repository(
        exports["score"], tmp_path / "models", "arniqa_lite0", version=3, max_batch_size=16, kind="KIND_CPU"
    )
    assert (tmp_path / "models" / "arniqa_lite0" / "3" / "model.onnx").is_file()
    config = text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())
    assert config.platform == "onnxruntime_onnx" and config.max_batch_size == 16
    assert list(config.dynamic_batching.preferred_batch_size) == [8, 16]
    assert {i.name: list(i.dims) for i in config.input} == {"full": [3, -1, -1], "half": [3, -1, -1]}
    assert {o.name: list(o.dims) for o in config.output} == {"score": [1], "features": [2560]}
    assert config.parameters["arniqa_model"].string_value == "arniqa-lite0"
