import csv
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, pristine_images

torch = pytest.importorskip("torch")

from arniqa_edge.models.encoder import weights_metadata  # noqa: E402
from training import checkpoint  # noqa: E402
from training.pretrain import main  # noqa: E402

SMOKE = ROOT / "configs" / "pretrain_smoke.yaml"


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pristine")
    for path in pristine_images("val", count=3):
        shutil.copy(path, folder / path.name)
    return folder


def logged_steps(out):
    with open(out / "log.csv", newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


def test_smoke_run_checkpoints_and_resumes(images, tmp_path):
    out = tmp_path / "run"
    args = ["--config", str(SMOKE), "--data", str(images), "--out", str(out)]
    assert main(args + ["--max-steps", "2"]) == 0
    assert checkpoint.load_checkpoint(out / checkpoint.LAST)["step"] == 2
    assert weights_metadata(out / "encoder.safetensors")["complete"] == "true"

    assert main(args + ["--max-steps", "3"]) == 0
    state = checkpoint.load_checkpoint(out / checkpoint.LAST)
    assert state["step"] == 3
    assert logged_steps(out) == [1, 2, 3]
    meta = weights_metadata(out / "encoder.safetensors")
    assert meta["step"] == "3" and "--max-steps 3" in meta["command"]
    assert meta["model"] == "arniqa-lite0"


def test_time_budget_stops_cleanly_and_resume_continues(images, tmp_path):
    out = tmp_path / "run"
    args = ["--config", str(SMOKE), "--data", str(images), "--out", str(out), "--max-steps", "50"]
    assert main(args + ["--max-minutes", "1e-6"]) == 0  # expires after the first step
    assert checkpoint.load_checkpoint(out / checkpoint.LAST)["step"] == 1
    assert weights_metadata(out / "encoder.safetensors")["complete"] == "false"


def test_bad_config_key_is_an_error(capsys):
    assert main(["--set", "optim.nope=1"]) == 2
    assert "optim.nope" in capsys.readouterr().err


@pytest.mark.skipif(not torch.distributed.is_available(), reason="needs torch.distributed")
def test_ddp_on_gloo_with_two_processes(images, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "training.pretrain",
        "--config",
        str(SMOKE),
        "--data",
        str(images),
        "--out",
        str(out),
        "--batch-size",
        "1",
        "--max-steps",
        "2",
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=150)
    assert result.returncode == 0, result.stderr[-3000:]
    # the run ends by checking that both ranks hold bit-identical parameters
    assert checkpoint.load_checkpoint(out / checkpoint.LAST)["step"] == 2
    assert logged_steps(out) == [1, 2]
