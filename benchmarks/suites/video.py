"""End-to-end video scoring throughput: decode -> preprocess -> inference -> score, per frame.

Four ways through the same short clip (generated here, mp4v at 720p and 1080p):
decode only (OpenCV, the floor); a naive loop (read a frame, `Scorer.predict` it
with the torch backend, one at a time); the pipeline of `python -m
arniqa_edge.video` (decode, preprocess and batched inference overlapped) with
the same torch backend, which isolates what the overlap and batching are worth;
and the pipeline with the default backend (onnxruntime on a CPU, since an ONNX
export lies beside the weights as in an install). Each repeat is one pass over
the clip; ms is per frame. Weights: ImageNet-initialised encoder, zero
regressor (throughput does not depend on the weights' values)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from arniqa_edge.models import get_model_config
from arniqa_edge.pipeline import score_frames
from arniqa_edge.regressor import LinearRegressor, ScoreScale
from arniqa_edge.scorer import Scorer
from arniqa_edge.video.demo import synthetic_scene
from arniqa_edge.video.reader import VideoReader
from benchmarks.harness import Row, SuiteResult, Timing

MODEL = "arniqa-lite0"
#: (name, width, height, frames): ~4 and ~2 seconds of 24 fps video, enough for a steady rate on 2 cores.
#: (name, width, height, frames). Short: the torch rows take seconds per frame on 2 CPU cores. On a GPU
#: machine raise the counts (ARNIQA_BENCH_FRAMES_720, ARNIQA_BENCH_FRAMES_1080) for steadier rates.
CLIPS = [
    ("720p", 1280, 720, int(os.environ.get("ARNIQA_BENCH_FRAMES_720", 16))),
    ("1080p", 1920, 1080, int(os.environ.get("ARNIQA_BENCH_FRAMES_1080", 8))),
]
BATCH_SIZE = 8


def make_clip(path: Path, width: int, height: int, frames: int, fps: float = 24.0) -> Path:
    scene = cv2.resize(synthetic_scene(), (width + frames * 4, height))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for index in range(frames):
        writer.write(np.ascontiguousarray(scene[:, index * 4 : index * 4 + width]))
    writer.release()
    return path


def make_weights(folder: Path) -> tuple[Path, Path]:
    from arniqa_edge.models.encoder import save_encoder
    from training.pretraining.init_weights import initial_encoder

    config = get_model_config(MODEL)
    encoder_path, regressor_path = folder / "encoder.safetensors", folder / "regressor.safetensors"
    encoder, source = initial_encoder(MODEL)
    save_encoder(encoder, encoder_path, init=source)
    LinearRegressor(np.zeros(config.regressor_input_dim), 3.0, ScoreScale(1, 5), {"model": MODEL}).save(regressor_path)
    try:  # an ONNX export beside the weights lets backend "auto" choose onnxruntime, as an install would
        from export.onnx import export_onnx

        export_onnx(config, encoder_path, encoder_path.with_suffix(".onnx"))
    except ImportError:
        pass
    return encoder_path, regressor_path


def decode_only(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def naive_loop(scorer: Scorer, path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        scorer.predict(frame)
        count += 1
    capture.release()
    return count


def pipelined(scorer: Scorer, path: Path) -> int:
    return sum(1 for _ in score_frames(scorer, VideoReader(str(path))))


def time_passes(run, repeats: int) -> tuple[Timing, float]:
    """Per-frame ms of each full pass over the clip; also frames per second of the median pass."""
    per_frame = []
    for _ in range(repeats):
        start = time.perf_counter()
        frames = run()
        per_frame.append((time.perf_counter() - start) * 1e3 / frames)
    per_frame.sort()
    median = float(np.median(per_frame))
    return Timing(median_ms=median, p90_ms=per_frame[-1], min_ms=per_frame[0], repeats=repeats), 1e3 / median


def _devices() -> list[str]:
    try:
        import torch
    except ImportError:
        return []
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def run(repeats: int = 2, warmup: int = 1) -> SuiteResult:
    repeats = max(1, min(repeats, 2))  # a pass is seconds to minutes on a CPU
    rows, summary = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        weights = make_weights(folder)
        for device in _devices():
            naive_scorer = Scorer(MODEL, *weights, backend="torch", device=device, batch_size=1)
            torch_pipeline_scorer = Scorer(MODEL, *weights, backend="torch", device=device, batch_size=BATCH_SIZE)
            pipeline_scorer = Scorer(MODEL, *weights, backend="auto", device=device, batch_size=BATCH_SIZE)
            for clip, width, height, frames in CLIPS:
                path = make_clip(folder / f"{clip}.mp4", width, height, frames)
                pipeline_scorer.predict(np.zeros((height, width, 3), np.uint8))
                naive_scorer.predict(np.zeros((height, width, 3), np.uint8))
                measured = {
                    "decode only (OpenCV)": (lambda: decode_only(path), "-"),
                    f"naive loop (torch {device}, 1 frame at a time)": (
                        lambda: naive_loop(naive_scorer, path),
                        naive_scorer.backend.describe(),
                    ),
                    # The same backend as the naive loop: what overlapping and batching alone are worth.
                    f"pipelined (torch {device}, auto batch)": (
                        lambda: pipelined(torch_pipeline_scorer, path),
                        torch_pipeline_scorer.backend.describe(),
                    ),
                    "pipelined (backend auto, auto batch)": (
                        lambda: pipelined(pipeline_scorer, path),
                        pipeline_scorer.backend.describe(),
                    ),
                }
                fps = {}
                for name, (call, backend) in measured.items():
                    if name.startswith("decode") and device != "cpu":
                        continue
                    timing, fps[name] = time_passes(call, repeats)
                    rows.append(
                        Row(f"{clip} {name}", timing, {"frames/s": fps[name], "frames": frames, "backend": backend})
                    )
                naive, piped_torch, piped = (fps[name] for name in list(measured)[1:])
                summary[f"{clip} {device}: pipelined (auto) / naive frames/s"] = piped / naive
                summary[f"{clip} {device}: pipelined (torch) / naive frames/s"] = piped_torch / naive
    return SuiteResult(
        suite="video",
        description=__doc__.split("\n\n")[0].replace("\n", " ") + " " + " ".join(__doc__.split("\n\n")[1].split()),
        rows=rows,
        summary=summary,
    )
