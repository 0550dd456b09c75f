"""Preprocessing of one 1920x1080 BGR frame into both encoder inputs (whole frame,
float32, ImageNet normalisation), by this package's fused op and by the usual
library calls that produce the same tensors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from arniqa_edge.preprocess import PreprocessSpec, output_shapes, preprocess
from benchmarks.harness import Row, SuiteResult, time_callable

HEIGHT, WIDTH = 1080, 1920
SPEC = PreprocessSpec(crop="whole", dtype="float32", channels="bgr")
# The antialias filter of an exact 2x bilinear reduction.
TWO_X_FILTER = np.array([1, 3, 3, 1], dtype=np.float32) / 8


def make_frame(seed: int = 0) -> np.ndarray:
    """A smooth image plus noise, so that the filters see realistic content."""
    rng = np.random.default_rng(seed)
    y, x, channel = np.mgrid[0:HEIGHT, 0:WIDTH, 0:3].astype(np.float32)
    base = 128 + 60 * np.sin(x / 37.0 + channel) * np.cos(y / 23.0)
    noisy = base + rng.normal(0, 20, (HEIGHT, WIDTH, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _scale_bias(spec: PreprocessSpec) -> tuple[np.ndarray, np.ndarray]:
    """out = x * scale + bias per RGB channel, for x in 0..255."""
    std = np.asarray(spec.std, dtype=np.float64)
    return 1.0 / (255.0 * std), -np.asarray(spec.mean) / std


def opencv_numpy(frame: np.ndarray, out_full: np.ndarray, out_half: np.ndarray, spec: PreprocessSpec = SPEC) -> None:
    """The same tensors from OpenCV calls, written into the same buffers.

    Full scale: split into planes, then one fused multiply-add per plane
    (cv2.addWeighted) into the output plane. Half scale: the (1, 3, 3, 1) / 8 filter
    along both axes (cv2.sepFilter2D, anchored so that output pixel 2j covers
    inputs 2j-1..2j+2), every other pixel kept, then normalised. Exact for even
    sizes except on the border rows and columns, where OpenCV replicates the edge
    pixel instead of renormalising the weights.
    """
    scale, bias = _scale_bias(spec)
    rgb_source = [2, 1, 0]  # BGR bytes
    planes = cv2.split(frame)
    for c, source in enumerate(rgb_source):
        cv2.addWeighted(planes[source], scale[c], planes[source], 0.0, bias[c], dst=out_full[0, c], dtype=cv2.CV_32F)
    blurred = cv2.sepFilter2D(
        frame, cv2.CV_32F, TWO_X_FILTER, TWO_X_FILTER, anchor=(1, 1), borderType=cv2.BORDER_REPLICATE
    )
    half_planes = cv2.split(np.ascontiguousarray(blurred[::2, ::2]))
    for c, source in enumerate(rgb_source):
        cv2.addWeighted(
            half_planes[source], scale[c], half_planes[source], 0.0, bias[c], dst=out_half[0, c], dtype=cv2.CV_32F
        )


def torch_path(torch: Any, frame: Any, spec: PreprocessSpec = SPEC) -> tuple[Any, Any]:
    """torch's antialiased interpolate, as a torch preprocessing pipeline would do it."""
    mean = torch.tensor(spec.mean, device=frame.device).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, device=frame.device).view(1, 3, 1, 1)
    image = frame.permute(2, 0, 1).flip(0).unsqueeze(0).float().div_(255.0).contiguous()
    half = torch.nn.functional.interpolate(
        image, size=(HEIGHT // 2, WIDTH // 2), mode="bilinear", antialias=True, align_corners=False
    )
    return (image - mean) / std, (half - mean) / std


def _max_diff(ours: tuple[np.ndarray, np.ndarray], other: tuple[Any, Any]) -> float:
    return float(max(np.abs(np.asarray(o, dtype=np.float32) - a).max() for a, o in zip(ours, other)))


def _interior_max_diff(ours_half: np.ndarray, other_half: np.ndarray) -> float:
    return float(np.abs(other_half[..., 1:-1, 1:-1] - ours_half[..., 1:-1, 1:-1]).max())


def _cpu_rows(frame: np.ndarray, reference: tuple[np.ndarray, np.ndarray], timer: Callable) -> list[Row]:
    full_shape, half_shape = output_shapes(HEIGHT, WIDTH, SPEC)
    rows = []
    for threads, label in [(0, "arniqa_edge C++ (all cores)"), (1, "arniqa_edge C++ (1 thread)")]:
        out = np.empty(full_shape, np.float32), np.empty(half_shape, np.float32)
        call = functools.partial(preprocess, frame, SPEC, *out, num_threads=threads)
        call()
        rows.append(Row(label, timer(call), {"max abs diff vs ours": _max_diff(reference, out)}))

    out = np.empty(full_shape, np.float32), np.empty(half_shape, np.float32)
    call = functools.partial(opencv_numpy, frame, *out)
    call()
    rows.append(
        Row(
            "OpenCV + numpy",
            timer(call),
            {
                "max abs diff vs ours": _max_diff(reference, out),
                "max abs diff vs ours, half interior": _interior_max_diff(reference[1], out[1]),
            },
        )
    )
    return rows


def _torch_rows(frame: np.ndarray, reference: tuple[np.ndarray, np.ndarray], timer: Callable) -> list[Row]:
    try:
        import torch
    except ImportError:
        return []
    host = torch.from_numpy(frame)
    call = functools.partial(torch_path, torch, host)
    rows = [
        Row(
            f"torch CPU ({torch.get_num_threads()} threads)",
            timer(call),
            {"max abs diff vs ours": _max_diff(reference, call())},
        )
    ]
    if not torch.cuda.is_available():
        return rows

    from arniqa_edge import _C
    from arniqa_edge.preprocess import preprocess_cuda

    sync = torch.cuda.synchronize
    device_frame = host.cuda()
    call = functools.partial(torch_path, torch, device_frame)
    rows.append(
        Row(
            "torch CUDA",
            timer(call, sync=sync),
            {"max abs diff vs ours": _max_diff(reference, [t.cpu() for t in call()])},
        )
    )
    if _C.cuda_device_count() > 0:
        full_shape, half_shape = output_shapes(HEIGHT, WIDTH, SPEC)
        out = torch.empty(full_shape, device="cuda"), torch.empty(half_shape, device="cuda")
        for label, source in [
            ("arniqa_edge CUDA (frame on device)", device_frame),
            ("arniqa_edge CUDA (frame uploaded from host)", frame),
        ]:
            call = functools.partial(preprocess_cuda, source, *out, SPEC)
            call()
            sync()
            rows.append(
                Row(
                    label,
                    timer(call, sync=sync),
                    {"max abs diff vs ours": _max_diff(reference, [t.cpu() for t in out])},
                )
            )
    return rows


def run(repeats: int = 50, warmup: int = 5) -> SuiteResult:
    frame = make_frame()
    reference = preprocess(frame, SPEC)
    timer = functools.partial(time_callable, repeats=repeats, warmup=warmup)
    rows = _cpu_rows(frame, reference, timer) + _torch_rows(frame, reference, timer)
    by_name = {row.name: row.timing.median_ms for row in rows}
    ours = by_name["arniqa_edge C++ (all cores)"]
    summary = {
        "speed-up of arniqa_edge C++ over OpenCV + numpy (median, same run)": by_name["OpenCV + numpy"] / ours,
    }
    return SuiteResult(
        suite="preprocess",
        description=(
            f"One {WIDTH}x{HEIGHT} uint8 BGR frame -> full (1, 3, {HEIGHT}, {WIDTH}) and antialiased half "
            f"(1, 3, {HEIGHT // 2}, {WIDTH // 2}) float32 NCHW RGB tensors, ImageNet-normalised, into "
            "preallocated buffers where the implementation allows. Diffs are in normalised units; the "
            "OpenCV path differs only on the half scale's border rows and columns (edge replication "
            "instead of renormalised weights)."
        ),
        rows=rows,
        summary=summary,
    )
