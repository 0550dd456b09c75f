"""The onnxruntime backend against the torch backend, the backend choice, and the file checks."""

import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT, gaussian_blur, has_torch, pristine_images

from arniqa_edge import Scorer, WeightsError
from arniqa_edge.backends import create_backend
from arniqa_edge.models import get_model_config

pytestmark = pytest.mark.skipif(not has_torch(), reason="exports need torch and timm")
LITE0 = get_model_config("arniqa-lite0")


@pytest.fixture(scope="module")
def exports(tmp_path_factory, lite0_imagenet_weights, blur_regressor):
    from export_fixtures import lite0_exports

    return lite0_exports(tmp_path_factory.mktemp("onnx"), lite0_imagenet_weights, blur_regressor)


@pytest.fixture(scope="module")
def images():
    base = cv2.resize(cv2.imread(str(pristine_images("val", count=1)[0])), (176, 120), interpolation=cv2.INTER_AREA)
    return [gaussian_blur(base, sigma) for sigma in (0, 1, 2, 4)]


def test_scores_match_torch(exports, images, lite0_imagenet_weights, blur_regressor):
    torch_scorer = Scorer("arniqa-lite0", lite0_imagenet_weights, blur_regressor, backend="torch", device="cpu")
    expected = np.array(torch_scorer.score_batch(images))
    # Scores in [0, 1]. INT8 here is calibrated on 8 small frames only (seen: 0.14 on the heaviest
    # blur); export.accuracy measures a properly calibrated file.
    bounds = {"fp32": 1e-5, "fp16": 5e-3, "int8": 0.2, "int8-cpu": 0.2}
    for precision, bound in bounds.items():
        scorer = Scorer("arniqa-lite0", exports[precision], blur_regressor, backend="onnxruntime", device="cpu")
        scores = np.array(scorer.score_batch(images))
        assert np.abs(scores - expected).max() < bound, (precision, scores, expected)
        assert list(np.argsort(-scores)) == [0, 1, 2, 3], precision  # blur still lowers the score


def test_int8_layouts_by_target(exports, caplog):
    import onnx

    from export.metadata import read_info

    layouts = {}
    for name in ("int8", "int8-cpu"):
        model = onnx.load(str(exports[name]))
        ops = [node.op_type for node in model.graph.node]
        zero_points = {
            init.name: init.data_type for init in model.graph.initializer if init.name.endswith("zero_point")
        }
        quantized = {node.input[0] for node in model.graph.node if node.op_type == "QuantizeLinear"}
        conv_outputs = [node.output[0] for node in model.graph.node if node.op_type == "Conv"]
        layouts[name] = (
            read_info(model).target,
            sum(out in quantized for out in conv_outputs),
            set(zero_points.values()),
        )
        assert ops.count("Conv") > 40
    # TensorRT: symmetric int8 (zero points int8 only); CPU: uint8 activations, Q/DQ on outputs too
    assert layouts["int8"][0] == "tensorrt" and onnx.TensorProto.UINT8 not in layouts["int8"][2]
    assert layouts["int8-cpu"][0] == "cpu" and onnx.TensorProto.UINT8 in layouts["int8-cpu"][2]
    # DQ -> Conv -> Q fuses on the CPU: every convolution output is quantized there, only those feeding Adds for TensorRT
    assert layouts["int8-cpu"][1] > 1.5 * layouts["int8"][1]
    with caplog.at_level("WARNING"):
        create_backend("onnxruntime", LITE0, exports["int8"], device="cpu")
    assert "--target cpu" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        backend = create_backend("onnxruntime", LITE0, exports["int8-cpu"], device="cpu")
    assert "--target cpu" not in caplog.text and "int8 for cpu" in backend.describe()


def test_encode_is_the_full_scale_half_of_encode_pair(exports, images):
    from arniqa_edge.preprocess import preprocess

    backend = create_backend("onnxruntime", LITE0, exports["fp32"], device="cpu")
    full, half = preprocess(images[0])
    pair = backend.encode_pair(full, half)
    assert pair.shape == (1, 2560)
    np.testing.assert_allclose(backend.encode(full), pair[:, :1280], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(pair.reshape(2, -1), axis=1), 1.0, atol=1e-5)


def test_auto_prefers_onnxruntime_cpu_over_torch_cpu_via_sibling(exports, lite0_imagenet_weights, tmp_path):
    weights = tmp_path / "lite0.safetensors"
    shutil.copyfile(lite0_imagenet_weights, weights)
    assert create_backend("auto", LITE0, weights, device="cpu").name == "torch"
    shutil.copyfile(exports["fp32"], tmp_path / "lite0.onnx")
    assert create_backend("auto", LITE0, weights, device="cpu").name == "onnxruntime"
    assert create_backend("torch", LITE0, tmp_path / "lite0.onnx", device="cpu").name == "torch"


def test_mismatched_or_unsuitable_files_are_refused(exports, lite0_imagenet_weights, tmp_path):
    with pytest.raises(WeightsError, match="export of model 'arniqa-lite0'"):
        create_backend("onnxruntime", get_model_config("arniqa-r50"), exports["fp32"], device="cpu")
    with pytest.raises(WeightsError, match="python -m export.onnx"):
        from arniqa_edge.backends.onnxruntime_backend import OnnxRuntimeBackend

        OnnxRuntimeBackend(LITE0, lite0_imagenet_weights)
    plain = tmp_path / "plain.onnx"
    import onnx

    model = onnx.load(str(exports["fp32"]))
    del model.metadata_props[:]
    onnx.save(model, str(plain))
    with pytest.raises(WeightsError, match="not exported by"):
        create_backend("onnxruntime", LITE0, plain, device="cpu")


def test_scores_with_an_onnx_file_and_no_torch(exports, blur_regressor, images, tmp_path):
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), images[0])
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['timm'] = None\n"
        "from arniqa_edge.cli import main\n"
        f"sys.exit(main(['{path}', '--weights', '{exports['fp32']}', '--regressor', '{blur_regressor}', "
        "'--json', '-v']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "backend auto: using onnxruntime fp32 on cpu" in result.stderr
    assert '"score"' in result.stdout


def test_auto_on_a_cpu_takes_the_fastest_correct_file_never_a_slower_precision(
    exports, lite0_imagenet_weights, tmp_path, caplog
):
    """Beside the weights: <stem>.int8.onnx when made for the CPU (U8S8, ~3x FP32), else <stem>.onnx (FP32);
    never FP16 or TensorRT's INT8 layout, which onnxruntime's CPU provider runs 3-5x slower than FP32."""
    weights = tmp_path / "lite0.safetensors"
    shutil.copyfile(lite0_imagenet_weights, weights)
    shutil.copyfile(exports["fp16"], tmp_path / "lite0.fp16.onnx")
    assert create_backend("auto", LITE0, weights, device="cpu").name == "torch"  # not the slower FP16 export
    shutil.copyfile(exports["int8"], tmp_path / "lite0.int8.onnx")  # laid out for TensorRT
    assert create_backend("auto", LITE0, weights, device="cpu").name == "torch"
    shutil.copyfile(exports["fp32"], tmp_path / "lite0.onnx")
    with caplog.at_level("INFO", logger="arniqa_edge.backends"):
        backend = create_backend("auto", LITE0, weights, device="cpu")
    assert (backend.name, backend.precision) == ("onnxruntime", "fp32")
    assert "file lite0.onnx, fp32" in caplog.text
    shutil.copyfile(exports["int8-cpu"], tmp_path / "lite0.int8.onnx")  # laid out for the CPU
    caplog.clear()
    for named in (weights, tmp_path / "lite0.onnx", tmp_path / "lite0.fp16.onnx"):
        with caplog.at_level("INFO", logger="arniqa_edge.backends"):
            backend = create_backend("auto", LITE0, named, device="cpu")
        assert "int8 for cpu" in backend.describe() and "file lite0.int8.onnx, int8" in caplog.text, named
    # Named with its backend, a file runs exactly as given.
    assert create_backend("onnxruntime", LITE0, tmp_path / "lite0.onnx", device="cpu").precision == "fp32"
    assert create_backend("onnxruntime", LITE0, tmp_path / "lite0.fp16.onnx", device="cpu").precision == "fp16"
    # Alone, a GPU precision still runs on a CPU (with the warning) rather than nothing.
    (tmp_path / "alone").mkdir()
    shutil.copyfile(exports["fp16"], tmp_path / "alone" / "lite0.fp16.onnx")
    assert create_backend("auto", LITE0, tmp_path / "alone" / "lite0.fp16.onnx", device="cpu").precision == "fp16"


def test_auto_refuses_an_export_of_other_weights_beside_them(exports, lite0_imagenet_weights, tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    with safe_open(str(lite0_imagenet_weights), framework="numpy") as f:
        metadata = {**f.metadata(), "note": "retrained"}  # other bytes: another sha256
    save_file(load_file(str(lite0_imagenet_weights)), str(tmp_path / "lite0.safetensors"), metadata=metadata)
    shutil.copyfile(exports["fp32"], tmp_path / "lite0.onnx")
    with pytest.raises(WeightsError, match="lite0.onnx was not exported from .*lite0.safetensors"):
        create_backend("auto", LITE0, tmp_path / "lite0.safetensors", device="cpu")
    assert create_backend("torch", LITE0, tmp_path / "lite0.safetensors", device="cpu").name == "torch"
