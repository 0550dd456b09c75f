"""Synthetic degradation throughput: ARNIQA's composed distortions (the paper's sampler,
at most 4 per image) applied by the one-image reference, by the batched engine on the
CPU, and by the batched engine on CUDA when a GPU is present; plus the time of each
distortion type alone (level 3).

Run: ``python -m benchmarks.suites.degradation`` (or ``python -m benchmarks degradation``
once the suite is registered). Every timed call distorts a whole batch, so repeats
are capped at MAX_REPEATS.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from benchmarks.harness import Row, SuiteResult, Timing, time_callable, time_interleaved
from training.degradation import DISTORTIONS, CompositionSampler, DistortionSequence, DistortionStep, apply_sequence
from training.degradation.batched import apply_sequences

BATCH = 16
# Composed rows distort this many images (in batches of BATCH): enough sequences that
# the share of the slow types (JPEG 2000 above all) is near its expectation.
COMPOSED_IMAGES = 64
SIZES = ((224, 224), (384, 512))  # (H, W): the paper's crop, and a 512x384 frame
PER_TYPE_SIZE = (224, 224)
PER_TYPE_LEVEL = 3
PER_TYPE_BATCH = 8
MAX_REPEATS = 5
PER_TYPE_REPEATS = 2  # 24 types x 2 paths; the slowest reference types take ~0.1 s per image


def make_batch(count: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """Smooth colour patterns plus texture, in [0, 1]."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    images = []
    for i in range(count):
        base = np.stack([0.5 + 0.3 * np.sin(cols / (17 + i) + c) * np.cos(rows / 23) for c in range(3)])
        images.append(np.clip(base + rng.normal(0, 0.05, base.shape), 0, 1))
    return torch.from_numpy(np.stack(images).astype(np.float32))


def paper_sequences(count: int, seed: int = 0) -> list[DistortionSequence]:
    sampler = CompositionSampler(max_distortions=4)
    rng = np.random.default_rng(seed)
    return [sampler.generate_parameters(rng) for _ in range(count)]


def reference_path(images: torch.Tensor, sequences: list[DistortionSequence]) -> torch.Tensor:
    return torch.stack([apply_sequence(image, sequence) for image, sequence in zip(images, sequences)])


def batched_path(images: torch.Tensor, sequences: list[DistortionSequence]) -> list[torch.Tensor]:
    return [apply_sequences(images[i : i + BATCH], sequences[i : i + BATCH]) for i in range(0, len(images), BATCH)]


def _throughput_row(label: str, timing: Timing, size: tuple[int, int], path: str) -> Row:
    height, width = size
    return Row(
        label,
        timing,
        {"size": f"{width}x{height}", "path": path, "images/s": COMPOSED_IMAGES / (timing.median_ms / 1e3)},
    )


def _composed_rows(timer: Callable[..., list[Timing]]) -> list[Row]:
    """Reference, batched CPU (and CUDA) timed in turns, so the ratios are of the same moments."""
    rows = []
    sequences = paper_sequences(COMPOSED_IMAGES)
    steps = [(index, step) for index, sequence in enumerate(sequences) for step in sequence if step.name == "jpeg2000"]
    for size in SIZES:
        images = make_batch(COMPOSED_IMAGES, *size)
        tag = f"{size[1]}x{size[0]}"
        # The part no path speeds up: the JPEG 2000 steps alone (OpenJPEG, one core per image).
        singles = [(images[index], DistortionSequence((step,))) for index, step in steps]
        # And everything else: the same sequences without their JPEG 2000 steps.
        others = [
            DistortionSequence(tuple(step for step in sequence if step.name != "jpeg2000")) for sequence in sequences
        ]
        paths = {
            f"reference, one at a time ({tag})": ("reference", lambda: reference_path(images, sequences), None),
            f"batched CPU ({tag})": ("batched-cpu", lambda: batched_path(images, sequences), None),
            f"their {len(steps)} JPEG 2000 steps alone ({tag})": (
                "jpeg2000-only",
                lambda: [apply_sequence(image, single) for image, single in singles],
                None,
            ),
            f"reference, without the JPEG 2000 steps ({tag})": (
                "reference-no-jpeg2000",
                lambda: reference_path(images, others),
                None,
            ),
            f"batched CPU, without the JPEG 2000 steps ({tag})": (
                "batched-cpu-no-jpeg2000",
                lambda: batched_path(images, others),
                None,
            ),
        }
        if torch.cuda.is_available():
            on_gpu = images.cuda()
            paths[f"batched CUDA ({tag})"] = (
                "batched-cuda",
                lambda: batched_path(on_gpu, sequences),
                torch.cuda.synchronize,
            )
        timings = timer([fn for _, fn, _ in paths.values()], syncs=[sync for _, _, sync in paths.values()])
        for (label, (path, _, _)), timing in zip(paths.items(), timings):
            if path == "jpeg2000-only":  # a part of the reference's work, not a throughput
                rows.append(Row(label, timing, {"size": tag, "path": path}))
            else:
                rows.append(_throughput_row(label, timing, size, path))
    return rows


def _per_type_rows(timer: Callable[..., Timing]) -> list[Row]:
    rows = []
    images = make_batch(PER_TYPE_BATCH, *PER_TYPE_SIZE)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for name in DISTORTIONS:
        sequences = [
            DistortionSequence((DistortionStep(name, PER_TYPE_LEVEL, seed),)) for seed in range(PER_TYPE_BATCH)
        ]
        reference = timer(lambda: reference_path(images, sequences))
        extra: dict[str, Any] = {"reference ms/image": reference.median_ms / PER_TYPE_BATCH}
        for device in devices:
            on_device = images.to(device)
            sync = torch.cuda.synchronize if device == "cuda" else None
            batched = timer(lambda: apply_sequences(on_device, sequences), sync=sync)
            extra[f"batched {device} ms/image"] = batched.median_ms / PER_TYPE_BATCH
        extra["CPU speed-up"] = extra["reference ms/image"] / extra["batched cpu ms/image"]
        rows.append(Row(f"{name}@{PER_TYPE_LEVEL} alone (224x224)", batched, extra))
    return rows


def run(repeats: int = MAX_REPEATS, warmup: int = 1) -> SuiteResult:
    torch.manual_seed(0)
    composed = _composed_rows(
        functools.partial(time_interleaved, repeats=min(repeats, MAX_REPEATS), warmup=min(warmup, 1))
    )
    per_type = _per_type_rows(functools.partial(time_callable, repeats=PER_TYPE_REPEATS, warmup=1))
    rate = {
        (row.extra["size"], row.extra["path"]): row.extra["images/s"] for row in composed if "images/s" in row.extra
    }
    median = {(row.extra["size"], row.extra["path"]): row.timing.median_ms for row in composed}
    cores = len(os.sched_getaffinity(0))
    summary: dict[str, Any] = {"load average at the end (1 min)": os.getloadavg()[0]}
    for height, width in SIZES:
        tag = f"{width}x{height}"
        summary[f"batched CPU / reference images/s ({tag})"] = rate[tag, "batched-cpu"] / rate[tag, "reference"]
        # OpenJPEG codes one image on one core in every path: even if all else took no
        # time, the batched CPU path could not beat this bound.
        share = median[tag, "jpeg2000-only"] / median[tag, "reference"]
        summary[f"JPEG 2000 share of the reference time ({tag})"] = share
        summary[f"CPU speed-up bound on {cores} cores from JPEG 2000 alone ({tag})"] = 1 / (share / cores)
        summary[f"batched CPU / reference without the JPEG 2000 steps ({tag})"] = (
            rate[tag, "batched-cpu-no-jpeg2000"] / rate[tag, "reference-no-jpeg2000"]
        )
        if (tag, "batched-cuda") in rate:
            summary[f"batched CUDA / reference images/s ({tag})"] = rate[tag, "batched-cuda"] / rate[tag, "reference"]
    return SuiteResult(
        suite="degradation",
        description=(
            f"float32 RGB images; composed rows: {COMPOSED_IMAGES} images, one sequence each from ARNIQA's sampler "
            "(max 4 distortions, 5% pristine, the same sequences for every path), the batched paths taking them "
            f"{BATCH} at a time; timed over all {COMPOSED_IMAGES}, the paths taking turns in each repeat. "
            "Per-type rows: "
            f"one distortion at level {PER_TYPE_LEVEL} on each of {PER_TYPE_BATCH} images; their timing columns are "
            "the last device's batched time per batch. torch intra-op threads and the C++ pool use all cores."
        ),
        rows=composed + per_type,
        summary=summary,
    )


if __name__ == "__main__":
    import argparse

    from benchmarks.harness import describe_machine, render_markdown, write_results

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    result = run()
    machine = describe_machine()
    path = write_results(result, args.out, machine)
    print(render_markdown(result, machine))
    print(f"\nwrote {path} and {path.with_suffix('.md')}")
