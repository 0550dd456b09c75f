import csv
import io
import json
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT, has_torch, pristine_images

from arniqa_edge.cli import main

needs_torch = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    image = cv2.resize(cv2.imread(str(pristine_images("val", count=1)[0])), (160, 120))
    good = folder / "good.png"
    cv2.imwrite(str(good), image)
    blurred = folder / "blurred.jpg"
    cv2.imwrite(str(blurred), cv2.GaussianBlur(image, (0, 0), 3))
    truncated = folder / "truncated.jpg"
    truncated.write_bytes(blurred.read_bytes()[:300])
    empty = folder / "empty.png"
    empty.write_bytes(b"")
    tiny = folder / "tiny.png"
    cv2.imwrite(str(tiny), image[:20, :20])
    return {
        "good": good,
        "blurred": blurred,
        "truncated": truncated,
        "empty": empty,
        "tiny": tiny,
        "missing": folder / "missing.png",
    }


@needs_torch
def test_json_with_per_file_errors(files, lite0_imagenet_weights, blur_regressor, capsys):
    order = ["good", "truncated", "blurred", "empty", "missing", "tiny"]
    code = main(
        [str(files[k]) for k in order]
        + ["--weights", str(lite0_imagenet_weights), "--regressor", str(blur_regressor), "--json", "--batch-size", "2"]
    )
    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert code == 1
    assert [r["path"] for r in rows] == [str(files[k]) for k in order]
    by = dict(zip(order, rows))
    assert by["good"]["error"] is None and by["blurred"]["error"] is None
    assert by["good"]["score"] > by["blurred"]["score"]
    assert "truncated JPEG" in by["truncated"]["error"]
    assert "empty file" in by["empty"]["error"]
    assert "no such file" in by["missing"]["error"]
    assert "too small" in by["tiny"]["error"]
    assert err.count("error:") == 4 and "Traceback" not in err


@needs_torch
def test_csv_and_text(files, lite0_imagenet_weights, blur_regressor, capsys):
    args = [str(files["good"]), "--weights", str(lite0_imagenet_weights), "--regressor", str(blur_regressor)]
    assert main(args + ["--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["path"] == str(files["good"]) and 0 <= float(rows[0]["score"]) <= 1 and rows[0]["error"] == ""
    assert main(args) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(str(files["good"])) and 0 <= float(line.split()[-1]) <= 1


def test_no_weights_scores_with_the_shipped_model_or_says_none_ships(files, capsys):
    assert main([str(files["good"]), "--csv"]) == 0  # arniqa-lite0 ships
    assert 0 <= float(capsys.readouterr().out.splitlines()[1].split(",")[1]) <= 1
    assert main([str(files["good"]), "--model", "arniqa-r50"]) == 2  # the paper's model: bring its files
    err = capsys.readouterr().err
    assert "no trained weights ship" in err and "--weights" in err and "Traceback" not in err


def test_help_and_module_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "arniqa_edge", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0
    for option in (
        "--json",
        "--csv",
        "--model",
        "--weights",
        "--regressor",
        "--backend",
        "--device",
        "--protocol",
        "--jsonl",
        "--max-batch-pixels",
        "--memory-budget",
    ):
        assert option in result.stdout
    help_text = " ".join(result.stdout.split())
    assert re.search(r"--max-batch-pixels N\|auto most image pixels [^-]*\(default: auto\)", help_text)
    assert re.search(r"--memory-budget SIZE memory one backend call .*?\(default: 4G\)", help_text)


@needs_torch
def test_damaged_jpeg_is_scored_with_a_warning(files, lite0_imagenet_weights, blur_regressor, tmp_path, capsys):
    data = bytearray(files["blurred"].read_bytes())
    scan = data.find(b"\xff\xda")
    start, end = scan + 20 + (len(data) - scan) * 2 // 5, scan + (len(data) - scan) * 7 // 10
    data[start:end] = np.random.default_rng(1).integers(0, 255, end - start, dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.jpg"
    damaged.write_bytes(bytes(data))
    args = [
        str(files["good"]),
        str(damaged),
        "--weights",
        str(lite0_imagenet_weights),
        "--regressor",
        str(blur_regressor),
    ]
    assert main(args + ["--json"]) == 0
    out, err = capsys.readouterr()
    good, flagged = json.loads(out)
    assert good["warning"] is None and flagged["error"] is None and 0 <= flagged["score"] <= 1
    assert flagged["warning"].startswith(f"{damaged}: damaged JPEG data (libjpeg: Corrupt JPEG data")
    assert err.strip() == f"warning: {flagged['warning']}"
    assert main(args + ["--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["warning"] == "" and rows[1]["warning"] == flagged["warning"]
