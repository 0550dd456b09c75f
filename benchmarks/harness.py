"""Timing, machine description and result files shared by the benchmark suites.

A suite returns a SuiteResult; ``write_results`` stores it as
``<out>/<suite>-<machine tag>.json`` with a markdown table beside it (plus any
further titled tables and markdown notes the suite adds).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True)
class Timing:
    """Wall-clock statistics of repeated calls, in milliseconds."""

    median_ms: float
    p90_ms: float
    min_ms: float
    repeats: int


@dataclasses.dataclass
class Row:
    """One measured implementation; ``extra`` holds suite-specific columns."""

    name: str
    timing: Timing
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class SuiteResult:
    suite: str
    description: str
    rows: list[Row]
    summary: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: further tables, by title (e.g. peak memory beside the timings)
    tables: dict[str, list[Row]] = dataclasses.field(default_factory=dict)
    #: markdown paragraphs after the tables (e.g. profiles)
    notes: list[str] = dataclasses.field(default_factory=list)


def time_callable(
    fn: Callable[[], Any], repeats: int = 50, warmup: int = 5, sync: Callable[[], Any] | None = None
) -> Timing:
    """Times fn() `repeats` times after `warmup` untimed calls.

    sync, when given, is called after each fn() inside the timed region (e.g.
    torch.cuda.synchronize) so that asynchronous work is counted.
    """
    return time_interleaved([fn], repeats, warmup, [sync])[0]


def time_interleaved(
    fns: Sequence[Callable[[], Any]],
    repeats: int = 50,
    warmup: int = 5,
    syncs: Sequence[Callable[[], Any] | None] | None = None,
) -> list[Timing]:
    """Times each of `fns`, taking turns: one call of each per round, `repeats` rounds.

    For ratios between implementations on a machine whose speed drifts (shared or
    throttled hosts): the drift then falls on all of them alike instead of on
    whichever ran last. syncs[i] is fns[i]'s `sync` (see `time_callable`).
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    syncs = list(syncs) if syncs is not None else [None] * len(fns)
    if len(syncs) != len(fns):
        raise ValueError(f"expected one sync per callable: {len(fns)} callables, {len(syncs)} syncs")

    def call(fn: Callable[[], Any], sync: Callable[[], Any] | None) -> float:
        start = time.perf_counter()
        fn()
        if sync is not None:
            sync()
        return (time.perf_counter() - start) * 1e3

    for _ in range(warmup):
        for fn, sync in zip(fns, syncs):
            call(fn, sync)
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, sync, own in zip(fns, syncs, samples):
            own.append(call(fn, sync))
    return [_timing(own) for own in samples]


def _timing(samples: list[float]) -> Timing:
    samples = sorted(samples)
    p90_index = min(len(samples) - 1, int(round(0.9 * (len(samples) - 1))))
    return Timing(
        median_ms=statistics.median(samples),
        p90_ms=samples[p90_index],
        min_ms=samples[0],
        repeats=len(samples),
    )


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_name() -> str | None:
    """Name of CUDA device 0 as torch sees it; None without torch or a GPU."""
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for module, name in [("numpy", "numpy"), ("cv2", "opencv"), ("torch", "torch"), ("onnxruntime", "onnxruntime")]:
        try:
            versions[name] = importlib.import_module(module).__version__
        except ImportError:
            continue
    return versions


def describe_machine() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "gpu": gpu_name(),
        # other processes competing for the cores skew CPU timings: keep the evidence
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "versions": library_versions(),
    }


def machine_tag(machine: dict[str, Any]) -> str:
    """Short file-name-safe name: the GPU when there is one, else CPU model and cores."""
    if machine.get("gpu"):
        name = machine["gpu"]
    else:
        name = f"{machine['cpu']}-{machine['cpu_affinity']}c"
    name = re.sub(r"\((R|TM)\)|CPU|Processor|@.*?GHz", "", name, flags=re.IGNORECASE)
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def markdown_table(rows: Sequence[Row]) -> str:
    extra_columns = list(dict.fromkeys(key for row in rows for key in row.extra))
    header = ["implementation", "median ms", "p90 ms", "min ms", *extra_columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row.name, f"{row.timing.median_ms:.3f}", f"{row.timing.p90_ms:.3f}", f"{row.timing.min_ms:.3f}"]
        cells += [_format_cell(row.extra.get(column, "")) for column in extra_columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_results(
    result: SuiteResult, out_dir: str | Path, machine: dict[str, Any] | None = None, command: str | None = None
) -> Path:
    """Writes the JSON and markdown files; returns the JSON path."""
    machine = describe_machine() if machine is None else machine
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{result.suite}-{machine_tag(machine)}"
    payload = {
        "suite": result.suite,
        "description": result.description,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": command or " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine,
        "rows": _row_dicts(result.rows),
        "summary": result.summary,
    }
    if result.tables:
        payload["tables"] = {title: _row_dicts(rows) for title, rows in result.tables.items()}
    if result.notes:
        payload["notes"] = result.notes
    json_path = stem.with_suffix(".json")
    json_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    stem.with_suffix(".md").write_text(render_markdown(result, machine) + "\n", encoding="utf-8")
    return json_path


def _row_dicts(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [{"name": row.name, **dataclasses.asdict(row.timing), **row.extra} for row in rows]


def render_markdown(result: SuiteResult, machine: dict[str, Any]) -> str:
    versions = ", ".join(f"{name} {version}" for name, version in machine["versions"].items())
    lines = [
        f"# {result.suite}",
        "",
        result.description,
        "",
        f"Machine: {machine['cpu']}, {machine['cpu_affinity']} usable cores"
        + (f", {machine['gpu']}" if machine.get("gpu") else ", no GPU")
        + (f", load average {machine['load_average_1min']:.2f}" if machine.get("load_average_1min") is not None else "")
        + f". {versions}.",
        "",
        markdown_table(result.rows),
    ]
    if result.summary:
        lines += ["", *(f"- {key}: {_format_cell(value)}" for key, value in result.summary.items())]
    for title, rows in result.tables.items():
        lines += ["", f"## {title}", "", markdown_table(rows)]
    for note in result.notes:
        lines += ["", note]
    return "\n".join(lines)


def _format_cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
