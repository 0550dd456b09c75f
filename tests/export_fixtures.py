"""Exports shared by the export, onnxruntime and TensorRT tests: made once per test session.

Session fixtures of conftest.py cannot be reached from a helper module, so the
files are cached here, keyed by the weights they were made from.
"""

from __future__ import annotations

from pathlib import Path

from conftest import pristine_images

_CACHE: dict[tuple[Path, Path], dict[str, Path]] = {}


def lite0_exports(folder: Path, weights: Path, regressor: Path) -> dict[str, Path]:
    """fp32 (features), score (score + features), fp16, int8 (TensorRT layout) and int8-cpu exports of the
    ImageNet lite0 encoder."""
    key = (weights, regressor)
    if key not in _CACHE:
        _CACHE[key] = _export_all(folder, weights, regressor)
    return _CACHE[key]


def _export_all(folder: Path, weights: Path, regressor: Path) -> dict[str, Path]:
    from arniqa_edge.models import get_model_config
    from arniqa_edge.models.shipped import load_regressor
    from export.calibration import CalibrationReader, degraded_frames
    from export.onnx import export_onnx
    from export.quantize import to_fp16, to_int8

    config = get_model_config("arniqa-lite0")
    files = {name: folder / f"lite0-{name}.onnx" for name in ("fp32", "score", "fp16", "int8", "int8-cpu")}
    export_onnx(config, weights, files["fp32"])
    export_onnx(config, weights, files["score"], load_regressor(regressor), outputs=("score", "features"))
    to_fp16(files["fp32"], files["fp16"])
    frames = degraded_frames(pristine_images("train", count=4), distortions_per_image=1, width=128, height=96)
    frames = list(frames)
    to_int8(files["fp32"], files["int8"], CalibrationReader(iter(frames), config))
    to_int8(files["fp32"], files["int8-cpu"], CalibrationReader(iter(frames), config), target="cpu")
    return files
