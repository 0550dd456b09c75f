"""Encoder inference per backend and precision: latency at batch 1, throughput at larger batches.

Inputs are what the runtime feeds the backend: both scales of 224x224 crops
(five_crop-style, 224 px at both scales) and of one 1920x1080 frame (the whole
protocol: 1920x1080 + 960x540). Backends: torch eager, onnxruntime FP32/FP16/INT8
on the CPU, and torch and onnxruntime on CUDA when present (TensorRT engines are
timed with trtexec or the tensorrt backend on the target; not built here).

Weights: ImageNet lite0 and a randomly initialised ResNet-50 (timing does not
depend on the values). INT8 is calibrated on a few photos: enough for timing,
not for accuracy (export.accuracy measures that). Each row stops after about
ROW_BUDGET_S seconds of timed calls, so the CPU run stays short.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from arniqa_edge.backends import create_backend
from arniqa_edge.models import get_model_config
from benchmarks.harness import Row, SuiteResult, time_callable

ROW_BUDGET_S = 4.0
MODELS = ("arniqa-lite0", "arniqa-r50")
#: name -> (full (H, W), half (H, W))
INPUTS = {"224x224": ((224, 224), (224, 224)), "1080p": ((1080, 1920), (540, 960))}


def _cases(gpu: bool) -> list[tuple[str, int]]:
    """(input, batch): latency at batch 1, throughput at 8 (and 32 on a GPU); 1080p at batch 1 only on a CPU."""
    cases = [("224x224", 1), ("224x224", 8), ("1080p", 1)]
    return cases + ([("224x224", 32), ("1080p", 8)] if gpu else [])


def _weights(model: str, folder: Path) -> Path:
    from arniqa_edge.models.encoder import save_encoder
    from training.pretraining.init_weights import initial_encoder

    path = folder / f"{model}.safetensors"
    encoder, source = initial_encoder(model)
    save_encoder(encoder, path, init=source)
    return path


def _exports(model: str, weights: Path, folder: Path) -> dict[str, Path]:
    from export.calibration import CalibrationReader, degraded_frames
    from export.images import default_images
    from export.onnx import export_onnx
    from export.quantize import to_fp16, to_int8

    config = get_model_config(model)
    files = {p: folder / f"{model}-{p}.onnx" for p in ("fp32", "fp16", "int8")}
    export_onnx(config, weights, files["fp32"])
    to_fp16(files["fp32"], files["fp16"])
    frames = degraded_frames(default_images("train", 4), 1, 320, 240)
    to_int8(files["fp32"], files["int8"], CalibrationReader(frames, config))
    return files


def _time_row(name: str, backend, full: np.ndarray, half: np.ndarray, repeats: int, warmup: int, extra: dict) -> Row:
    backend.encode_pair(full, half)  # first call: allocations, kernel selection
    once = time_callable(lambda: backend.encode_pair(full, half), repeats=1, warmup=0).median_ms / 1e3
    repeats = max(2, min(repeats, int(ROW_BUDGET_S / max(once, 1e-6))))
    timing = time_callable(lambda: backend.encode_pair(full, half), repeats=repeats, warmup=min(warmup, 1))
    batch = full.shape[0]
    return Row(name, timing, {**extra, "batch": batch, "images_per_s": round(batch * 1e3 / timing.median_ms, 2)})


def _inputs(rng, input_name: str, batch: int) -> tuple[np.ndarray, np.ndarray]:
    (height, width), (half_height, half_width) = INPUTS[input_name]
    return (
        rng.standard_normal((batch, 3, height, width), dtype=np.float32),
        rng.standard_normal((batch, 3, half_height, half_width), dtype=np.float32),
    )


def _backend_makers(config, weights: Path, files: dict[str, Path], gpu: bool):
    """(row name, factory) per backend; a factory returns None where the backend cannot run here."""

    def maybe(name, path, device):
        def make():
            try:
                return create_backend(name, config, path, device=device)
            except Exception:  # e.g. the CPU-only onnxruntime wheel has no CUDA provider
                return None

        return make

    yield "torch eager cpu", maybe("torch", weights, "cpu")
    for precision, path in files.items():
        yield f"onnxruntime {precision} cpu", maybe("onnxruntime", path, "cpu")
    if gpu:
        yield "torch eager cuda", maybe("torch", weights, "cuda")
        for precision, path in files.items():
            yield f"onnxruntime {precision} cuda", maybe("onnxruntime", path, "cuda")


def run(repeats: int = 50, warmup: int = 5) -> SuiteResult:
    import torch

    gpu = torch.cuda.is_available()
    rows = []
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for model in MODELS:
            config = get_model_config(model)
            weights = _weights(model, Path(tmp))
            files = _exports(model, weights, Path(tmp))
            # One backend at a time, created just before it is timed: idle onnxruntime and OpenMP thread
            # pools spin for a while after each call and would steal the cores from the next backend.
            for name, make in _backend_makers(config, weights, files, gpu):
                backend = make()
                if backend is None:
                    continue
                for input_name, batch in _cases(gpu):
                    if input_name == "1080p" and batch > 1 and name.endswith("cpu"):
                        continue
                    full, half = _inputs(rng, input_name, batch)
                    rows.append(
                        _time_row(
                            f"{model} {input_name} {name}",
                            backend,
                            full,
                            half,
                            repeats,
                            warmup,
                            {"model": model, "input": input_name, "backend": name},
                        )
                    )
                del backend
    return SuiteResult(
        suite="inference",
        description=__doc__.split("\n\n")[0] + " Both scales per image (encode_pair).",
        rows=rows,
        summary={"row_budget_s": ROW_BUDGET_S, "gpu": gpu},
    )
