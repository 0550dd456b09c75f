"""ONNX export, FP16 and INT8 conversion of the lite0 encoder, checked against torch on real photos."""

import numpy as np
import pytest
from conftest import gaussian_blur, has_torch, pristine_images

pytestmark = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")

onnx = pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def exports(tmp_path_factory, lite0_imagenet_weights, blur_regressor):
    from export_fixtures import lite0_exports

    return lite0_exports(tmp_path_factory.mktemp("onnx"), lite0_imagenet_weights, blur_regressor)


@pytest.fixture(scope="module")
def photo_inputs():
    """Two real photos at 160x120 and a blurred copy of each, as (full, half) batches."""
    from arniqa_edge.models import get_model_config
    from export.images import model_inputs, read_frame

    frames = [read_frame(p, 160, 120) for p in pristine_images("val", count=2)]
    frames += [gaussian_blur(f, 2) for f in frames]
    return model_inputs(frames, get_model_config("arniqa-lite0"))


@pytest.fixture(scope="module")
def torch_features(lite0_imagenet_weights, photo_inputs):
    from arniqa_edge.backends.torch_backend import TorchBackend
    from arniqa_edge.models import get_model_config

    return TorchBackend(get_model_config("arniqa-lite0"), lite0_imagenet_weights, device="cpu").encode_pair(
        *photo_inputs
    )


def _run(path, full, half):
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, {"full": full, "half": half})))


def test_fp32_export_is_valid_and_matches_torch(exports, photo_inputs, torch_features):
    model = onnx.load(str(exports["fp32"]))
    onnx.checker.check_model(model, full_check=True)
    dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    assert dims == {"full": ["batch", 3, "height", "width"], "half": ["batch", 3, "half_height", "half_width"]}
    assert {n.op_type for n in model.graph.node}.isdisjoint({"BatchNormalization"})  # folded into Conv

    features = _run(exports["fp32"], *photo_inputs)["features"]
    # Same float32 arithmetic, different kernels: 1e-5 is ~30x the difference seen (4e-7).
    assert np.abs(features - torch_features).max() < 1e-5


def test_metadata_describes_the_export(exports):
    from export.metadata import read_info

    info = read_info(onnx.load(str(exports["score"])))
    assert (info.model, info.feature_dim, info.precision, info.opset) == ("arniqa-lite0", 1280, "fp32", 18)
    assert info.outputs == ("score", "features") and info.inputs.dynamic_size
    assert info.inputs.mean == (0.485, 0.456, 0.406) and info.regressor_scale == (1.0, 5.0, True)


def test_score_export_folds_regressor_and_scale(exports, photo_inputs, torch_features, blur_regressor):
    from arniqa_edge.models.shipped import load_regressor

    out = _run(exports["score"], *photo_inputs)
    expected = load_regressor(blur_regressor).predict(torch_features)
    assert out["score"].shape == (4, 1)
    assert np.abs(out["score"][:, 0] - expected).max() < 1e-5
    assert np.abs(out["features"] - torch_features).max() < 1e-5


def test_fp16_keeps_float32_io_and_head(exports, photo_inputs, torch_features):
    from export.quantize import head_nodes

    model = onnx.load(str(exports["fp16"]))
    float32 = onnx.TensorProto.FLOAT
    assert all(v.type.tensor_type.elem_type == float32 for v in [*model.graph.input, *model.graph.output])
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer)
    head = set(head_nodes(model))
    assert {"ReduceL2", "Div", "Concat"} <= {n.op_type for n in model.graph.node if n.name in head}

    features = _run(exports["fp16"], *photo_inputs)["features"]
    assert np.abs(features - torch_features).max() < 5e-3  # seen: 1.6e-3 on unit-norm features


def test_int8_has_symmetric_per_channel_qdq(exports, photo_inputs, torch_features):
    from onnx import numpy_helper

    model = onnx.load(str(exports["int8"]))
    initializers = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    dequantize = [n for n in model.graph.node if n.op_type == "DequantizeLinear"]
    assert dequantize and any(n.op_type == "QuantizeLinear" for n in model.graph.node)
    zero_points = [initializers[n.input[2]] for n in dequantize if len(n.input) > 2 and n.input[2] in initializers]
    assert zero_points and all(zp.dtype == np.int8 and not zp.any() for zp in zero_points)
    assert any(initializers[n.input[1]].size > 1 for n in dequantize if n.input[1] in initializers)  # per channel

    features = _run(exports["int8"], *photo_inputs)["features"]
    cosine = (features * torch_features).reshape(4, 2, -1).sum(-1)  # per image and scale
    # Calibrated on only 8 small frames here (the accuracy report uses a real set): seen 0.88..0.995.
    assert cosine.min() > 0.85
