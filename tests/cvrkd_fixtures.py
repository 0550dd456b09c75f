"""Tiny CVRKD networks for the tests, made once per test session.

- `smoke_runs`: a teacher, a distilled and an undistilled student, trained for a
  few steps on 64 px crops;
- `exported_student`: an untrained student on 224 px crops (the smallest the ONNX
  exporter can pool) with its two exported graphs.

Session fixtures of conftest.py cannot be reached from a helper module, so both
are cached here: the first test module that asks makes them.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from conftest import SHARED_DATA, pristine_images

LABELS = SHARED_DATA / "labels" / "KADID-10k.csv"
#: A network small enough to train in seconds on two cores: 2 crops of 64 px.
TINY_ARCHITECTURE = [
    "--crops",
    "2",
    "--crop-size",
    "64",
    "--level-channels",
    "8",
    "--mixer-dim",
    "32",
    "--lq-depth",
    "2",
    "--diff-depth",
    "3",
]
TINY_RUN = [
    "--short-side",
    "96",
    "--types",
    "gaublur,jpeg",
    "--steps",
    "3",
    "--batch-size",
    "2",
    "--log-every",
    "1",
    "--device",
    "cpu",
    "--init",
    "random",
    "--labels",
    str(LABELS),
]

_RUNS: dict[str, Path] = {}
_EXPORTED: dict[str, Path] = {}


def small_content(folder: Path, split: str, count: int) -> Path:
    """`count` pristine images, downscaled to 128 px on the short side, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in pristine_images(split, count=count):
        image = cv2.imread(str(path))
        scale = 128 / min(image.shape[:2])
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"{path.stem}.png"), small)
    return folder


def smoke_runs(tmp_path_factory) -> dict[str, Path]:
    """{"data", "val", "teacher", "student", "student-nodistill"}: folders and model files."""
    if not _RUNS:
        _RUNS.update(_train_all(tmp_path_factory.mktemp("cvrkd")))
    return _RUNS


def _train_all(folder: Path) -> dict[str, Path]:
    from training.cvrkd import train

    if not LABELS.is_file():
        pytest.skip(f"needs {LABELS}")
    paths = {"data": small_content(folder / "train", "train", 3), "val": small_content(folder / "val", "val", 2)}
    common = ["--data", str(paths["data"]), *TINY_RUN]
    runs = {
        "teacher": ["teacher", *TINY_ARCHITECTURE],
        "student": [
            "student",
            "--teacher",
            str(folder / "teacher" / train.MODEL_FILE),
            "--val",
            str(paths["val"]),
            "--val-images",
            "2",
        ],
        "student-nodistill": ["student", "--no-distill", "--teacher", str(folder / "teacher" / train.MODEL_FILE)],
    }
    for name, argv in runs.items():
        assert train.main([*argv, *common, "-o", str(folder / name)]) == 0, name
        paths[name] = folder / name / train.MODEL_FILE
    return paths


def tiny_student(path, crop_size: int) -> Path:
    """An untrained student with small heads (backend parity needs no training), saved as training saves it."""
    import torch

    from arniqa_edge.cvrkd.config import CVRKDConfig
    from arniqa_edge.cvrkd.network import CVRKDNet
    from arniqa_edge.cvrkd.weights import save_cvrkd

    torch.manual_seed(0)
    config = CVRKDConfig(crops=2, crop_size=crop_size, level_channels=8, mixer_dim=32, lq_depth=2, diff_depth=3)
    return save_cvrkd(CVRKDNet(config), path, "student")


def exported_student(tmp_path_factory) -> dict[str, Path]:
    """{"dir", "weights", "maps", "score"}: a tiny 224 px student and its graphs, side by side in one folder."""
    if not _EXPORTED:
        pytest.importorskip("onnxruntime")
        from export.cvrkd import export_cvrkd_onnx

        folder = tmp_path_factory.mktemp("cvrkd-onnx")
        # 224 px: every backbone level (56, 28, 14, 7) is a multiple of the 7 x 7 grid, as the exporter needs.
        weights = tiny_student(folder / "student.safetensors", crop_size=224)
        maps, score = export_cvrkd_onnx(weights, folder)
        _EXPORTED.update(dir=folder, weights=weights, maps=maps, score=score)
    return _EXPORTED
