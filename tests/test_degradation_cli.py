"""Tests of ``python -m training.degradation``: the distortion and sample galleries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
cv2 = pytest.importorskip("cv2")

from training.degradation.__main__ import main  # noqa: E402


@pytest.fixture
def photo(tmp_path):
    rows, cols = np.mgrid[0:100, 0:120]
    bgr = np.stack([rows * 2, cols * 2, (rows + cols) % 256], axis=-1).astype(np.uint8)
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), bgr)
    return path


def test_gallery_has_a_row_per_type_and_a_column_per_level(photo, tmp_path):
    out = tmp_path / "grid.png"
    assert main(["gallery", str(photo), "-o", str(out), "--tile", "64"]) == 0
    grid = cv2.imread(str(out))
    header, label, gap = 28, 190, 4
    assert grid.shape == (header + 24 * (64 + gap), label + gap + 6 * (64 + gap), 3)


def test_sample_sheet_wraps_tiles_into_columns(photo, tmp_path):
    out = tmp_path / "samples.jpg"
    assert main(["sample", str(photo), "-n", "3", "--columns", "2", "--tile", "64", "-o", str(out)]) == 0
    sheet = cv2.imread(str(out))
    assert sheet.shape[1] == 2 * (64 + 4) and sheet.shape[0] > 2 * 64


def test_unreadable_image_and_small_image_are_reported(tmp_path, photo, capsys):
    assert main(["gallery", str(tmp_path / "missing.png"), "-o", str(tmp_path / "x.png")]) == 2
    assert "cannot read an image" in capsys.readouterr().err
    assert main(["gallery", str(photo), "-o", str(tmp_path / "x.png"), "--tile", "160"]) == 2
    assert "smaller than the 160x160 crop" in capsys.readouterr().err


def test_help_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "training.degradation", "gallery", "--help"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],  # training/ runs from the checkout
    )
    assert result.returncode == 0 and "levels 1..5" in result.stdout
