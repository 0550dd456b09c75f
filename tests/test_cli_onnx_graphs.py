"""The image CLI on onnxruntime with tiny hand-built graphs (no export needed): a real allocation failure,
a real SIGINT mid-run, non-finite features and a graph that does not match its metadata.

Each graph has the export's interface (inputs full and half, output features of
2 x 1280, arniqa metadata for arniqa-lite0): a 1x1 convolution to `channels`
maps per scale, global average pooling and a projection to 1280 features.
"""

import csv
import io
import json
import signal
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT

from arniqa_edge.cli import main
from arniqa_edge.regressor import LinearRegressor, ScoreScale

onnx = pytest.importorskip("onnx")


def tiny_graph(path, channels=16, features=1280, scale_by=1.0):
    """An encoder-shaped graph; scale_by=nan makes every feature NaN, features != 1280 a mismatched graph."""
    from onnx import TensorProto, helper, numpy_helper

    from arniqa_edge.backends.model_metadata import ExportedModelInfo, InputSpec
    from arniqa_edge.models import get_model_config

    rng = np.random.default_rng(0)
    initializers = [
        numpy_helper.from_array(rng.normal(size=(channels, 3, 1, 1)).astype(np.float32), "conv"),
        numpy_helper.from_array(rng.normal(size=(channels, features)).astype(np.float32), "projection"),
        numpy_helper.from_array(np.array(scale_by, np.float32), "scale"),
    ]
    nodes = []
    for scale in ("full", "half"):
        nodes += [
            helper.make_node("Conv", [scale, "conv"], [f"{scale}_maps"]),
            helper.make_node("GlobalAveragePool", [f"{scale}_maps"], [f"{scale}_pooled"]),
            helper.make_node("Flatten", [f"{scale}_pooled"], [f"{scale}_flat"]),
            helper.make_node("MatMul", [f"{scale}_flat", "projection"], [f"{scale}_features"]),
        ]
    nodes += [
        helper.make_node("Concat", ["full_features", "half_features"], ["joined"], axis=1),
        helper.make_node("Mul", ["joined", "scale"], ["features"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [
            helper.make_tensor_value_info("full", TensorProto.FLOAT, ["batch", 3, "height", "width"]),
            helper.make_tensor_value_info("half", TensorProto.FLOAT, ["batch", 3, "half_height", "half_width"]),
        ],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 2 * features])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    config = get_model_config("arniqa-lite0")
    info = ExportedModelInfo(
        model=config.name,
        feature_dim=config.feature_dim,
        outputs=("features",),
        inputs=InputSpec.for_model(config),
        opset=18,
    )
    for key, value in info.to_props().items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path


@pytest.fixture
def regressor(tmp_path):
    path = tmp_path / "r.safetensors"
    LinearRegressor(
        np.random.default_rng(0).normal(0, 0.01, 2560), 3.0, ScoreScale(1, 5), {"model": "arniqa-lite0"}
    ).save(path)
    return path


def _photo(path, height=120, width=160, seed=0):
    cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))
    return str(path)


def _strict_json(text):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_allocation_failure_in_onnxruntime_is_that_files_row(tmp_path, regressor):
    """Under an address-space limit a 12 MP photo cannot be encoded; the photos around it still are."""
    graph = tiny_graph(tmp_path / "tiny.onnx", channels=128)  # 12 MP x 128 maps x 4 bytes = 6 GB
    small = [_photo(tmp_path / f"small{i}.png", seed=i) for i in range(2)]
    big = str(tmp_path / "big.jpg")
    cv2.imwrite(big, np.full((3000, 4000, 3), 90, np.uint8))
    argv = [
        small[0],
        big,
        small[1],
        "--weights",
        str(graph),
        "--regressor",
        str(regressor),
        "--json",
        "--memory-budget",
        "64G",
    ]  # past the estimate: the allocator must fail, and be handled
    code = (
        "import resource, sys\n"
        "sys.modules['torch'] = None; sys.modules['timm'] = None\n"
        "import onnxruntime\n"
        "from arniqa_edge.cli import main\n"
        "size = next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmSize'))\n"
        "limit = size + 1536 * 2 ** 20\n"
        "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
        f"sys.exit(main({argv!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    rows = _strict_json(result.stdout)
    assert result.returncode == 1, result.stderr
    assert [row["path"] for row in rows] == [small[0], big, small[1]]
    assert rows[0]["error"] is None and rows[2]["error"] is None
    assert rows[1]["error"].startswith(f"{big}: out of memory while running the encoder"), rows[1]
    assert "Traceback" not in result.stderr


def test_nan_features_are_an_error_row_naming_the_weights(tmp_path, regressor, capsys):
    graph = tiny_graph(tmp_path / "nan.onnx", scale_by=float("nan"))
    photo = _photo(tmp_path / "photo.png")
    code = main([photo, "--weights", str(graph), "--regressor", str(regressor), "--json"])
    out, err = capsys.readouterr()
    rows = _strict_json(out)  # no NaN in the output
    assert code == 1
    assert rows[0]["score"] is None and f"the encoder {graph} gave NaN or infinite features" in rows[0]["error"]
    assert "Traceback" not in err


def test_graph_with_the_wrong_feature_width_is_refused_at_load(tmp_path, regressor, capsys):
    graph = tiny_graph(tmp_path / "wide.onnx", features=1000)
    code = main([_photo(tmp_path / "photo.png"), "--weights", str(graph), "--regressor", str(regressor)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith(f"error: {graph}: the graph gives 2000 features per image, but arniqa-lite0 has 2560")
    assert len(err.strip().splitlines()) == 1


def test_sigint_during_a_real_run_keeps_the_rows_written(tmp_path, regressor):
    """150 photos (enough that a loaded machine cannot finish before the signal), --csv: rows arrive while the others are scored; SIGINT ends the run with them kept."""
    COUNT = 150
    graph = tiny_graph(tmp_path / "tiny.onnx", channels=32)
    paths = [_photo(tmp_path / f"frame{index:02d}.jpg", 960, 1280, seed=index) for index in range(COUNT)]
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['torch'] = None\nfrom arniqa_edge.cli import main\nsys.exit(main(sys.argv[1:]))",
            *paths,
            "--weights",
            str(graph),
            "--regressor",
            str(regressor),
            "--csv",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(1 + 2)]  # the header and the first two rows
        assert lines[-1].startswith(paths[1]), lines
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    rows = list(csv.DictReader(io.StringIO("".join(lines) + rest)))
    assert process.returncode == 130, err
    assert 2 <= len(rows) < COUNT and [row["path"] for row in rows] == paths[: len(rows)]
    assert all(row["error"] == "" and 0 <= float(row["score"]) <= 1 for row in rows)
    assert err.strip().splitlines() == [
        f"error: interrupted after {len(rows)} of {COUNT} images (their rows are written)"
    ]
