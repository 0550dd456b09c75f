import csv
import logging
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, pristine_images

torch = pytest.importorskip("torch")

from arniqa_edge import cli_conventions  # noqa: E402
from arniqa_edge.models.encoder import weights_metadata  # noqa: E402
from training.pretraining import checkpoint  # noqa: E402
from training.pretraining.pretrain import build_parser, main, parse_args  # noqa: E402

SMOKE = ROOT / "configs" / "pretrain_smoke.yaml"


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pristine")
    for path in pristine_images("val", count=3):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(autouse=True)
def logging_restored(monkeypatch):
    """main() sets the root logger's level and the bars' switch (configure_logging): put them back."""
    root = logging.getLogger()
    level = root.level
    monkeypatch.setattr(cli_conventions, "_progress_off", False)
    yield
    root.setLevel(level)


def info_messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]


def logged_steps(out):
    with open(out / "log.csv", newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


def test_smoke_run_checkpoints_and_resumes(images, tmp_path, caplog, capsys):
    out = tmp_path / "run"
    args = ["--config", str(SMOKE), "--data", str(images), "--out", str(out)]
    assert main(args + ["--max-steps", "2"]) == 0
    assert "warning: --out is deprecated; use -o/--output" in capsys.readouterr().err
    assert checkpoint.load_checkpoint(out / checkpoint.LAST)["step"] == 2
    assert weights_metadata(out / "encoder.safetensors")["complete"] == "true"

    # a run started with the former --out resumes under -o: the same configuration
    caplog.clear()
    assert main(["--config", str(SMOKE), "--data", str(images), "-o", str(out), "--max-steps", "3"]) == 0
    assert f"resuming {out / checkpoint.LAST} at step 2" in info_messages(caplog)
    state = checkpoint.load_checkpoint(out / checkpoint.LAST)
    assert state["step"] == 3
    assert logged_steps(out) == [1, 2, 3]
    meta = weights_metadata(out / "encoder.safetensors")
    assert meta["step"] == "3" and "--max-steps 3" in meta["command"]
    assert meta["model"] == "arniqa-lite0"


def test_time_budget_stops_cleanly_and_resume_continues(images, tmp_path, caplog):
    out = tmp_path / "run"
    args = ["--config", str(SMOKE), "--data", str(images), "--out", str(out), "--max-steps", "50"]
    assert main(args + ["--max-minutes", "1e-6"]) == 0  # expires after the first step
    assert checkpoint.load_checkpoint(out / checkpoint.LAST)["step"] == 1
    assert weights_metadata(out / "encoder.safetensors")["complete"] == "false"

    caplog.clear()  # resumed under -q: no info logs ("resuming ..."), no progress bar
    assert main(args + ["--max-minutes", "1e-6", "-q"]) == 0
    assert checkpoint.load_checkpoint(out / checkpoint.LAST)["step"] == 2
    assert info_messages(caplog) == [] and cli_conventions.progress_disable() is True


def test_bad_config_key_is_an_error(capsys):
    assert main(["--set", "optim.nope=1"]) == 2
    assert "optim.nope" in capsys.readouterr().err


def test_output_and_the_deprecated_out_set_the_same_config(capsys):
    new = parse_args(["-o", "runs/x", "--max-steps", "3"])
    assert parse_args(["--output", "runs/x", "--max-steps", "3"]) == new
    assert capsys.readouterr().err == ""
    old = parse_args(["--out", "runs/x", "--max-steps", "3"])
    assert capsys.readouterr().err == "warning: --out is deprecated; use -o/--output\n"
    assert old.to_dict() == new.to_dict() and new.run.out == "runs/x"
    with pytest.raises(SystemExit) as exit_:
        parse_args(["-o", "a", "--out", "b"])
    assert exit_.value.code == 2


def test_help_shows_output_verbosity_and_the_config_defaults(monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    help_text = build_parser().format_help()
    assert "-o DIR, --output DIR" in help_text and "--out " not in help_text
    assert "-q, --quiet" in help_text and "--log-level {debug,info,warning,error}" in help_text
    assert "sets run.out (default: runs/pretrain, or what --config and --set say)" in help_text
    assert "sets optim.lr (default: 0.001, or what --config and --set say)" in help_text


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
        "training.pretraining.pretrain",
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
