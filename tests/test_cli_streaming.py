"""Rows are written as they are scored; Ctrl-C keeps them (valid CSV, JSON, JSON Lines) and exits 130.

A real SIGINT to a running CLI: tests/test_cli_onnx_graphs.py.
"""

import csv
import io
import json

import cv2
import numpy as np
import pytest

from arniqa_edge.backends import Backend
from arniqa_edge.cli import main
from arniqa_edge.regressor import LinearRegressor, ScoreScale


class InterruptingBackend(Backend):
    """A CPU backend stand-in that is interrupted (Ctrl-C) on call number `interrupt_on`."""

    name = "onnxruntime"
    device = "cpu"
    feature_dim = 1280

    def __init__(self, interrupt_on=None):
        self.calls = 0
        self.interrupt_on = interrupt_on

    def _run(self, full, half):
        self.calls += 1
        if self.calls == self.interrupt_on:
            raise KeyboardInterrupt
        features = np.ones((full.shape[0], 2560), np.float32)
        return features / np.sqrt(2560)

    def describe(self):
        return "interrupting backend"


@pytest.fixture
def regressor(tmp_path):
    path = tmp_path / "r.safetensors"
    LinearRegressor(np.full(2560, 0.01), 3.0, ScoreScale(1, 5), {"model": "arniqa-lite0"}).save(path)
    return path


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for index in range(6):
        path = tmp_path / f"img{index}.png"
        cv2.imwrite(str(path), rng.integers(0, 256, (64, 96, 3), dtype=np.uint8))
        paths.append(str(path))
    return paths


def _interrupted_run(monkeypatch, capsys, images, regressor, fmt, interrupt_on=3):
    backend = InterruptingBackend(interrupt_on)
    monkeypatch.setattr("arniqa_edge.features.create_backend", lambda *args, **kwargs: backend)
    code = main([*images, "--weights", "enc.onnx", "--regressor", str(regressor), fmt, "--batch-size", "1"])
    out, err = capsys.readouterr()
    return code, out, err


def test_interrupted_csv_keeps_the_rows_scored(monkeypatch, capsys, images, regressor):
    code, out, err = _interrupted_run(monkeypatch, capsys, images, regressor, "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 130
    assert [row["path"] for row in rows] == images[:2] and all(row["score"] for row in rows)
    assert list(rows[0]) == ["path", "score", "raw_score", "error", "warning"]
    assert err.strip() == "error: interrupted after 2 of 6 images (their rows are written)"


def test_interrupted_json_is_a_complete_array(monkeypatch, capsys, images, regressor):
    code, out, err = _interrupted_run(monkeypatch, capsys, images, regressor, "--json")
    assert code == 130 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    rows = json.loads(out)
    assert [row["path"] for row in rows] == images[:2]
    code, out, _ = _interrupted_run(monkeypatch, capsys, images, regressor, "--json", interrupt_on=1)
    assert code == 130 and json.loads(out) == []


def test_interrupted_jsonl(monkeypatch, capsys, images, regressor):
    code, out, _ = _interrupted_run(monkeypatch, capsys, images, regressor, "--jsonl", interrupt_on=4)
    assert code == 130
    assert [json.loads(line)["path"] for line in out.splitlines()] == images[:3]


def test_uninterrupted_json_matches_the_one_shot_format(monkeypatch, capsys, images, regressor):
    code, out, _ = _interrupted_run(
        monkeypatch, capsys, images + ["missing.png"], regressor, "--json", interrupt_on=None
    )
    rows = json.loads(out)
    assert code == 1 and len(rows) == 7 and rows[-1]["error"] == "missing.png: no such file"
    assert out == json.dumps(rows, indent=2) + "\n"


def test_ctrl_c_while_the_model_loads(monkeypatch, capsys, images, regressor):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("arniqa_edge.features.create_backend", interrupted)
    code = main([images[0], "--weights", "enc.onnx", "--regressor", str(regressor), "--csv"])
    out, err = capsys.readouterr()
    assert code == 130 and out == ""
    assert err == "error: interrupted while loading the model; nothing was scored\n"
