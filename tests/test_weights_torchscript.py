"""Official `regressor_<dataset>.pth` files (TorchScript) are read without running anything from them."""

import pickle
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest
from conftest import ROOT, has_torch

from arniqa_edge.errors import WeightsError
from arniqa_edge.models.shipped import load_regressor

needs_torch = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")


@pytest.fixture
def scripted(tmp_path):
    """A released-style regressor: torch.jit.save of a scripted Linear(4096, 1), and that Linear."""
    import torch

    torch.manual_seed(3)
    linear = torch.nn.Linear(4096, 1)
    path = tmp_path / "regressor_kadid10k.pth"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(linear), str(path))
    return path, linear


@needs_torch
def test_read_without_torchscript(scripted, monkeypatch):
    import torch

    path, linear = scripted

    def no_torchscript(*args, **kwargs):
        raise AssertionError("torch.jit.load runs the code stored in the file")

    monkeypatch.setattr(torch.jit, "load", no_torchscript)
    regressor = load_regressor(path)
    np.testing.assert_array_equal(regressor.weight, linear.weight.detach().numpy().reshape(-1))
    assert regressor.bias == pytest.approx(float(linear.bias.detach())) and regressor.metadata["dataset"] == "kadid10k"


@needs_torch
def test_read_on_a_runtime_without_torch(scripted):
    path, linear = scripted
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from arniqa_edge.models.shipped import load_regressor\n"
        f"r = load_regressor({str(path)!r})\n"
        "print(r.input_dim, r.bias)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    dim, bias = result.stdout.split()
    assert int(dim) == 4096 and float(bias) == pytest.approx(float(linear.bias.detach()))


class _Payload:
    """Unpickles to os.system(...): what a hostile data.pkl could hold."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        import os

        return os.system, (self.command,)


def _with_data_pkl(source, target, data: bytes):
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            new.writestr(item, data if item.filename.endswith("/data.pkl") else old.read(item))
    return target


@needs_torch
def test_code_in_the_pickle_is_refused_not_run(scripted, tmp_path):
    path, _ = scripted
    marker = tmp_path / "ran"
    hostile = _with_data_pkl(
        path, tmp_path / "regressor_live.pth", pickle.dumps(_Payload(f"touch {marker}"), protocol=2)
    )
    with pytest.raises(WeightsError, match=r"refused to load (os|posix)\.system"):
        load_regressor(hostile)
    assert not marker.exists()


@needs_torch
def test_tensor_reaching_past_its_storage_is_refused(scripted, tmp_path):
    path, _ = scripted
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
        data = archive.read(name)
    # The Linear's weight is (1, 4096), pickled as MARK BININT1 1 BININT2 4096 TUPLE: claim 8192 columns
    # of its 4096-value storage.
    lying = data.replace(b"(K\x01M\x00\x10t", b"(K\x01M\x00\x20t", 1)
    assert lying != data
    damaged = _with_data_pkl(path, tmp_path / "regressor_live.pth", lying)
    with pytest.raises(WeightsError, match="reaches past its storage"):
        load_regressor(damaged)


def test_not_an_archive(tmp_path):
    junk = tmp_path / "regressor_live.pth"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(WeightsError, match="not a TorchScript regressor"):
        load_regressor(junk)
