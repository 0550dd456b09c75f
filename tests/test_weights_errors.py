"""Damaged or mismatched weights: a one-line `error:` naming the file and exit status 2, never a traceback."""

import json

import cv2
import numpy as np
import pytest
from conftest import has_torch

from arniqa_edge.cli import main
from arniqa_edge.errors import WeightsError
from arniqa_edge.regressor import FORMAT, LinearRegressor, ScoreScale

needs_torch = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8))
    return str(path)


def _regressor_file(path, scale="[1, 5, true]", weight=None, bias=(3.0,), drop_scale=False):
    from safetensors.numpy import save_file

    meta = {"format": FORMAT, "model": "arniqa-lite0"}
    if not drop_scale:
        meta["scale"] = scale
    weight = np.full(2560, 0.01, np.float32) if weight is None else np.asarray(weight, np.float32)
    save_file({"weight": weight, "bias": np.asarray(bias, np.float32)}, str(path), metadata=meta)
    return path


def _run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


DAMAGED_REGRESSORS = {
    "no scale": dict(drop_scale=True),
    "high below low": dict(scale="[5, 1, true]"),
    "scale not JSON": dict(scale="1..5"),
    "scale of two numbers": dict(scale="[1, 5]"),
    "scale not numbers": dict(scale='["low", "high", true]'),
    "empty bias": dict(bias=()),
    "NaN weight": dict(weight=np.r_[np.full(2559, 0.01), np.nan]),
    "infinite bias": dict(bias=(np.inf,)),
}


@pytest.mark.parametrize("damage", list(DAMAGED_REGRESSORS))
def test_damaged_regressor_is_a_weights_error(tmp_path, photo, capsys, damage):
    path = _regressor_file(tmp_path / "r.safetensors", **DAMAGED_REGRESSORS[damage])
    with pytest.raises(WeightsError, match=f"{path}: damaged regressor"):
        LinearRegressor.load(path)
    # The regressor is read before the encoder: no encoder is needed to see the message.
    code, out, err = _run([photo, "--weights", str(tmp_path / "enc.onnx"), "--regressor", str(path)], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {path}: damaged regressor") and len(err.strip().splitlines()) == 1


def test_a_sound_regressor_still_loads(tmp_path):
    path = _regressor_file(tmp_path / "r.safetensors", scale="[0, 100.5, false]")
    regressor = LinearRegressor.load(path)
    assert regressor.scale == ScoreScale(0, 100.5, False) and regressor.bias == 3.0


def _broken_encoder(source, target, change):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(source), framework="pt") as f:
        meta = f.metadata()
        state = {key: f.get_tensor(key) for key in f.keys()}
    change(state)
    save_file(state, str(target), metadata=meta)
    return target


@needs_torch
def test_encoder_with_a_tensor_of_the_wrong_shape(lite0_imagenet_weights, blur_regressor, tmp_path, photo, capsys):
    import torch

    def reshape(state):
        state["backbone.conv_head.weight"] = torch.zeros(1000, 320, 1, 1)

    path = _broken_encoder(lite0_imagenet_weights, tmp_path / "wrong.safetensors", reshape)
    code, out, err = _run(
        [photo, "--weights", str(path), "--regressor", str(blur_regressor), "--backend", "torch"], capsys
    )
    assert code == 2 and out == ""
    assert err.startswith(
        f"error: {path}: does not fit arniqa-lite0: 1 tensor(s) of the wrong shape, e.g. "
        "backbone.conv_head.weight is (1000, 320, 1, 1), arniqa-lite0 needs (1280, 320, 1, 1)"
    )
    assert "Traceback" not in err


@needs_torch
def test_encoder_with_nan_weights_is_refused_at_load(lite0_imagenet_weights, blur_regressor, tmp_path, photo, capsys):
    def poison(state):
        state["backbone.blocks.2.0.conv_pw.weight"][0, 0] = float("nan")

    path = _broken_encoder(lite0_imagenet_weights, tmp_path / "nan.safetensors", poison)
    code, out, err = _run(
        [photo, "--weights", str(path), "--regressor", str(blur_regressor), "--backend", "torch", "--json"], capsys
    )
    assert code == 2 and out == ""
    assert err.strip() == (
        f"error: {path}: damaged weights: 1 tensor(s) hold NaN or infinite values, e.g. "
        "backbone.blocks.2.0.conv_pw.weight"
    )


@needs_torch
def test_official_encoder_with_a_tensor_of_the_wrong_shape(tmp_path):
    import torch

    from arniqa_edge.models import get_model_config
    from arniqa_edge.models.encoder import load_encoder

    path = tmp_path / "ARNIQA.pth"
    torch.save({"model.0.weight": torch.zeros(64, 3, 3, 3)}, path)
    with pytest.raises(
        WeightsError,
        match=r"backbone.conv1.weight is \(64, 3, 3, 3\), arniqa-r50 needs "
        r"\(64, 3, 7, 7\)",
    ):
        load_encoder(get_model_config("arniqa-r50"), path)


@needs_torch
def test_non_finite_features_at_run_time_are_an_error_row(
    lite0_imagenet_weights, blur_regressor, photo, monkeypatch, capsys
):
    """Weights that pass the load checks can still overflow (e.g. an fp16 export): the row says so, exit 1."""
    from arniqa_edge.backends.torch_backend import TorchBackend

    real = TorchBackend._run

    def overflowing(self, full, half):
        features = real(self, full, half)
        features[:, 0] = np.inf
        return features

    monkeypatch.setattr(TorchBackend, "_run", overflowing)
    code, out, err = _run(
        [
            photo,
            "--weights",
            str(lite0_imagenet_weights),
            "--regressor",
            str(blur_regressor),
            "--backend",
            "torch",
            "--json",
        ],
        capsys,
    )
    rows = json.loads(out, parse_constant=lambda constant: pytest.fail(f"{constant} in the JSON output"))
    assert code == 1 and rows[0]["score"] is None
    assert rows[0]["error"].startswith(
        f"{photo}: the encoder {lite0_imagenet_weights} gave NaN or infinite features for this input"
    )
    assert "Traceback" not in err
