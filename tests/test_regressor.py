import numpy as np
import pytest

from arniqa_edge.errors import WeightsError
from arniqa_edge.regressor import DATASET_SCALES, LinearRegressor, ScoreScale


def test_scale_maps_to_unit_interval_and_direction():
    mos = ScoreScale(1, 5)
    np.testing.assert_allclose(mos.to_unit(np.array([1, 3, 5, 9, -1])), [0, 0.5, 1, 1, 0])
    dmos = DATASET_SCALES["live"]
    np.testing.assert_allclose(dmos.to_unit(np.array([0, 100])), [1, 0])
    with pytest.raises(ValueError):
        ScoreScale(5, 1)


def test_predict_and_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    weight = rng.normal(size=8).astype(np.float32)
    reg = LinearRegressor(weight, 3.0, ScoreScale(1, 5), {"model": "arniqa-lite0"})
    x = rng.normal(size=(4, 8)).astype(np.float32)
    np.testing.assert_allclose(reg.predict_raw(x), x @ weight + 3.0, rtol=1e-6)
    path = tmp_path / "r.safetensors"
    reg.save(path)
    back = LinearRegressor.load(path)
    np.testing.assert_array_equal(back.weight, weight)
    assert back.bias == 3.0 and back.scale == reg.scale and back.metadata["model"] == "arniqa-lite0"
    with pytest.raises(ValueError, match=r"\(N, 8\)"):
        reg.predict_raw(x[:, :7])


def test_bad_files(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        LinearRegressor.load(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(WeightsError, match="not a regressor"):
        LinearRegressor.load(junk)
    from safetensors.numpy import save_file

    other = tmp_path / "other.safetensors"
    save_file({"weight": np.zeros(3, np.float32)}, str(other))
    with pytest.raises(WeightsError, match="not an arniqa_edge regressor"):
        LinearRegressor.load(other)
