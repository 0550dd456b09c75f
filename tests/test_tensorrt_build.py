"""Engine builds with TensorRT-RTX (no GPU needed to build), of the encoders and of the two CVRKD graphs,
and the engine sidecar checks.

The built engines are not deserialised or run: that needs a GPU. What is checked
is that each ONNX parses into a strongly typed network whose layers carry the
precision asked for, that the builder produces an engine, and the sidecar.
"""

import json

import pytest
from conftest import has_torch

from arniqa_edge import WeightsError
from arniqa_edge.backends.engine_sidecar import EngineSidecar, sidecar_path
from arniqa_edge.models import get_model_config

pytestmark = pytest.mark.skipif(not has_torch(), reason="exports need torch and timm")


@pytest.fixture(scope="module")
def exports(tmp_path_factory, lite0_imagenet_weights, blur_regressor):
    from export_fixtures import lite0_exports

    return lite0_exports(tmp_path_factory.mktemp("onnx"), lite0_imagenet_weights, blur_regressor)


@pytest.fixture(scope="module")
def trt():
    return pytest.importorskip("tensorrt_rtx", reason="needs tensorrt-rtx (pip install tensorrt-rtx)")


# Small shapes: without a GPU the builder allocates its workspace on the host.
SMALL = dict(batch=(1, 1, 2), size=((64, 64), (96, 128), (128, 160)))


@pytest.mark.parametrize(
    "precision, present, absent",
    [
        ("fp32", set(), {"HALF", "INT8"}),
        ("fp16", {"HALF"}, {"INT8"}),
        ("int8", {"INT8"}, {"HALF"}),
    ],
)
def test_build_has_the_precision_of_the_onnx(trt, exports, tmp_path, precision, present, absent):
    from export.trt import ShapeRange, build_engine, layer_precisions, parse_network

    source = exports[precision]
    network, _ = parse_network(trt, trt.Builder(trt.Logger(trt.Logger.ERROR)), source)
    types = layer_precisions(trt, network)
    assert present <= set(types) and not absent & set(types), types

    engine = tmp_path / f"lite0-{precision}.engine"
    sidecar = build_engine(source, engine, precision, ShapeRange(**SMALL), workspace_gib=0.25, module="tensorrt_rtx")
    assert engine.stat().st_size > 1_000_000
    on_disk = json.loads(sidecar_path(engine).read_text())
    assert on_disk["precision"] == precision and on_disk["builder"] == "tensorrt_rtx"
    assert on_disk["input_shapes"]["half"]["max"] == [2, 3, 64, 80]
    assert EngineSidecar.read(engine) == sidecar


def test_precision_must_match_the_onnx(trt, exports, tmp_path):
    from export.trt import build_engine

    with pytest.raises(ValueError, match="is a fp32 graph"):
        build_engine(exports["fp32"], tmp_path / "x.engine", "int8", module="tensorrt_rtx")


def test_sidecar_mismatches_are_clear_errors(tmp_path):
    from arniqa_edge.backends.model_metadata import ExportedModelInfo, InputSpec

    lite0 = get_model_config("arniqa-lite0")
    info = ExportedModelInfo("arniqa-lite0", 1280, ("features",), InputSpec.for_model(lite0))
    sidecar = EngineSidecar(
        "arniqa-lite0", "int8", "tensorrt", "10.3.0", "Orin", "0" * 64, {"full": {}, "half": {}}, info.to_props()
    )
    sidecar.write(tmp_path / "m.engine")
    sidecar = EngineSidecar.read(tmp_path / "m.engine")
    sidecar.check(lite0, "tensorrt", "10.3.0", "Orin", "m.engine")
    with pytest.raises(WeightsError, match="built by tensorrt 10.3.0"):
        sidecar.check(lite0, "tensorrt", "11.0.0", "Orin", "m.engine")
    with pytest.raises(WeightsError, match="built for Orin"):
        sidecar.check(lite0, "tensorrt", "10.3.0", "NVIDIA H100", "m.engine")
    with pytest.raises(WeightsError, match="pass --model arniqa-lite0"):
        sidecar.check(get_model_config("arniqa-r50"), "tensorrt", "10.3.0", "Orin", "m.engine")
    with pytest.raises(WeightsError, match="is missing"):
        EngineSidecar.read(tmp_path / "other.engine")


@pytest.fixture(scope="module")
def cvrkd_student(tmp_path_factory):
    from cvrkd_fixtures import exported_student

    return exported_student(tmp_path_factory)


@pytest.mark.parametrize(
    "graph, max_shapes",
    [
        ("maps", {"crops": [4, 3, 224, 224]}),  # 2 images of 2 crops
        ("score", {"lq_maps": [2, 64, 7, 7], "ref_maps": [2, 64, 7, 7]}),  # 2 references, 2 crops x 8 ch x 4 levels
    ],
)
def test_cvrkd_graphs_build_with_a_range_per_input(trt, cvrkd_student, tmp_path, graph, max_shapes):
    from export.trt import ShapeRange, build_engine, layer_precisions, parse_network

    network, _ = parse_network(trt, trt.Builder(trt.Logger(trt.Logger.ERROR)), cvrkd_student[graph])
    assert not {"HALF", "INT8"} & set(layer_precisions(trt, network))

    engine = tmp_path / f"student.{graph}.engine"
    sidecar = build_engine(
        cvrkd_student[graph], engine, "fp32", ShapeRange(batch=(1, 1, 2)), workspace_gib=0.25, module="tensorrt_rtx"
    )
    assert engine.stat().st_size > 100_000
    assert {name: shapes["max"] for name, shapes in sidecar.input_shapes.items()} == max_shapes
    assert sidecar.model == "cvrkd-student" and sidecar.precision == "fp32"
    assert sidecar.onnx_metadata["arniqa.graph"] == graph and "arniqa.config" in sidecar.onnx_metadata
    assert EngineSidecar.read(engine) == sidecar
    with pytest.raises(WeightsError, match="is a CVRKD graph from python -m export.cvrkd, not a no-reference encoder"):
        sidecar.check(get_model_config("arniqa-lite0"), "tensorrt_rtx", sidecar.tensorrt_version, None, engine.name)


def test_cvrkd_graphs_refuse_an_image_size_range(trt, cvrkd_student, tmp_path, capsys):
    from export.trt import main

    argv = [
        str(cvrkd_student["maps"]),
        "--precision",
        "fp32",
        "-o",
        str(tmp_path / "x.engine"),
        "--module",
        "tensorrt_rtx",
    ]
    assert main([*argv, "--size", "64", "96", "128"]) == 2
    assert "--size does not apply" in capsys.readouterr().err
    assert main([*argv[:2], "fp16", *argv[3:]]) == 2
    assert "is a fp32 graph" in capsys.readouterr().err and not (tmp_path / "x.engine").exists()
