"""CPU inference: the encoder per backend and precision, our whole scoring path against a pyiqa-style ARNIQA
pipeline, peak memory per 1080p frame, and where onnxruntime spends its time.

Encoder rows time `encode_pair` (both scales, inputs already preprocessed): 224x224 at batch 1 and 8,
and one 1920x1080 frame (1920x1080 + 960x540) at batch 1. Backends: torch eager and onnxruntime FP32,
FP16, INT8 in TensorRT's Q/DQ layout (`export.quantize --target tensorrt`, the GPU file) and INT8 in
the CPU's (U8S8, `--target cpu`); on CUDA too when present (TensorRT engines are timed on the target).
Lite0 runs the weights shipped in arniqa_edge/weights/ when they are there, and the shipped
`<stem>.int8.onnx` is then the INT8-cpu row (what `--backend auto` runs on a CPU); otherwise the
ImageNet init, laid out as it would ship. ResNet-50 is randomly initialised: timing does not depend
on the values. INT8 files made here are calibrated on a few photos: enough for timing, not accuracy.

Peer comparison, per 1080p BGR frame, preprocessing included: ARNIQA as pyiqa runs it (ResNet-50,
torch eager, float tensor from the uint8 frame, antialiased half scale by torch interpolate,
normalisation, both scales, regressor) against our `Scorer` with backend auto on the CPU. The two
take turns (`time_interleaved`), so drift of a shared machine falls on both; ratio = peer / ours.

Peak memory: one 1080p frame through the Scorer per backend and precision, and through the peer,
each in a fresh process (memory.measure_peak): the peak resident set during the frame, and how far
it rises above the process once the model is loaded. Profiles: onnxruntime's profiler on one 1080p
call of FP32 and both INT8 layouts, kernel time per op type.

Each timing row stops after about ROW_BUDGET_S seconds of timed calls (the peer comparison after
PEER_BUDGET_S), so the CPU run stays short; `--quick` shrinks both for a smoke run.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np

from arniqa_edge.backends import create_backend
from arniqa_edge.backends.model_metadata import ExportedModelInfo
from arniqa_edge.backends.onnx_props import read_onnx_metadata
from arniqa_edge.errors import WeightsError
from arniqa_edge.models import get_model_config
from arniqa_edge.models.shipped import shipped_weights
from benchmarks.harness import Row, SuiteResult, time_callable, time_interleaved
from benchmarks.suites.memory import MIB, measure_peak, one_timing

ROW_BUDGET_S = 4.0
PEER_BUDGET_S = 40.0
QUICK_BUDGET_S = 0.2
MODELS = ("arniqa-lite0", "arniqa-r50")
OURS, PEER = "arniqa-lite0", "arniqa-r50"
#: name -> (full (H, W), half (H, W))
INPUTS = {"224x224": ((224, 224), (224, 224)), "1080p": ((1080, 1920), (540, 960))}
#: ONNX files timed, by key, and how the rows call them
PRECISIONS = {
    "fp32": "fp32",
    "fp16": "fp16",
    "int8-tensorrt": "int8 (tensorrt layout)",
    "int8-cpu": "int8 (cpu layout)",
}
#: file name endings: the forms `auto` looks for beside the weights (`<stem>.onnx`, `<stem>.int8.onnx`),
#: and names it does not see for the GPU files (FP16, TensorRT's INT8), which it never runs on a CPU
SUFFIXES = {"fp32": ".onnx", "fp16": "-fp16.onnx", "int8-tensorrt": "-int8-tensorrt.onnx", "int8-cpu": ".int8.onnx"}
#: shipped files timed as they are, by the target their metadata must record
SHIPPED_TARGETS = {"fp32": "any", "int8-cpu": "cpu"}
PROFILED = ("fp32", "int8-tensorrt", "int8-cpu")
PROFILE_TOP = 8


@dataclasses.dataclass
class ModelFiles:
    """What is timed for one model: ONNX file per precision, torch weights and regressor, and their origin."""

    onnx: dict[str, Path]
    weights: Path | None
    regressor: Path
    #: which weights, for the summary
    source: str
    #: per ONNX key and "torch": where the file came from, for the rows' weights column
    origin: dict[str, str]
    #: Scorer arguments that open these files: {} for the shipped model (what a user gets)
    scorer_files: dict[str, str]


def _cases(gpu: bool) -> list[tuple[str, int]]:
    """(input, batch): latency at batch 1, throughput at 8 (and 32 on a GPU); 1080p at batch 1 only on a CPU."""
    cases = [("224x224", 1), ("224x224", 8), ("1080p", 1)]
    return cases + ([("224x224", 32), ("1080p", 8)] if gpu else [])


def _initial_weights(model: str, path: Path) -> str:
    """Writes the ImageNet init (random where none is available offline); returns which it is."""
    from arniqa_edge.models.encoder import save_encoder
    from training.pretraining.init_weights import initial_encoder

    encoder, source = initial_encoder(model)
    save_encoder(encoder, path, init=source)
    return "ImageNet init" if source.startswith("imagenet") else "random init"


def _random_regressor(model: str, path: Path) -> Path:
    from arniqa_edge.regressor import LinearRegressor, ScoreScale

    dim = get_model_config(model).regressor_input_dim
    weight = np.random.default_rng(0).normal(0, 0.05, dim)
    LinearRegressor(weight, 3.0, ScoreScale(1, 5), {"model": model}).save(path)
    return path


def _onnx_target(path: Path) -> str:
    return ExportedModelInfo.from_props(read_onnx_metadata(path), str(path)).target


def _model_files(model: str, folder: Path, calibration: list[np.ndarray]) -> ModelFiles:
    """The shipped files where present (the forms `auto` runs on a CPU); the rest is made in `folder`.

    Nothing shipped: the initial weights, FP32 and CPU INT8 exports are laid out there as they would ship
    (`<stem>.safetensors`, `<stem>.onnx`, `<stem>.int8.onnx`), so that `auto` finds the same forms.
    """
    from export.calibration import CalibrationReader
    from export.onnx import export_onnx
    from export.quantize import to_fp16, to_int8

    config = get_model_config(model)
    made = folder / model  # the stem of the files made here
    try:
        shipped, missing = shipped_weights(config), "its registry entry names no shipped_weights"
    except WeightsError as exc:  # not written yet, or being written
        shipped, missing = None, str(exc)
    if shipped is not None:
        encoder, regressor = shipped
        stem, init, scorer_files = encoder.parent / config.shipped_weights, "shipped", {}
        source = f"shipped: {Path(*stem.parts[-3:])}.*"
    else:
        stem, weights = made, made.with_name(f"{model}.safetensors")
        init = _initial_weights(model, weights)
        regressor = _random_regressor(model, made.with_name(f"{model}.regressor.safetensors"))
        scorer_files = {"weights": str(weights), "regressor": str(regressor)}
        source = f"{init} and a random regressor, laid out as shipped ({missing})"
    weights = stem.with_name(f"{stem.name}.safetensors")
    weights = weights if weights.is_file() else None

    def reader():
        return CalibrationReader(iter(calibration), config)

    steps = {
        "fp32": ("exported", lambda path: export_onnx(config, weights, path)),
        "fp16": ("converted", lambda path: to_fp16(files["fp32"], path)),
        "int8-tensorrt": ("quantized", lambda path: to_int8(files["fp32"], path, reader())),
        "int8-cpu": ("quantized", lambda path: to_int8(files["fp32"], path, reader(), target="cpu")),
    }
    files, origin = {}, {"torch": init}
    for key, (how, make) in steps.items():
        found = stem.with_name(stem.name + SUFFIXES[key])
        if key in SHIPPED_TARGETS and found.is_file() and _onnx_target(found) == SHIPPED_TARGETS[key]:
            files[key], origin[key] = found, init
        else:
            files[key] = made.with_name(made.name + SUFFIXES[key])
            origin[key] = f"{init}, {how} here" if shipped else init
            make(files[key])
    return ModelFiles(files, weights, regressor, source, origin, scorer_files)


def _time_row(name, backend, full, half, repeats, warmup, budget, extra) -> Row:
    backend.encode_pair(full, half)  # first call: allocations, kernel selection
    once = time_callable(lambda: backend.encode_pair(full, half), repeats=1, warmup=0).median_ms / 1e3
    repeats = max(2, min(repeats, int(budget / max(once, 1e-6))))
    timing = time_callable(lambda: backend.encode_pair(full, half), repeats=repeats, warmup=min(warmup, 1))
    batch = full.shape[0]
    return Row(name, timing, {**extra, "batch": batch, "images_per_s": round(batch * 1e3 / timing.median_ms, 2)})


def _inputs(rng, input_name: str, batch: int) -> tuple[np.ndarray, np.ndarray]:
    (height, width), (half_height, half_width) = INPUTS[input_name]
    return (
        rng.standard_normal((batch, 3, height, width), dtype=np.float32),
        rng.standard_normal((batch, 3, half_height, half_width), dtype=np.float32),
    )


def _backend_makers(config, files: ModelFiles, gpu: bool):
    """(backend, device, weights origin, factory) per backend; a factory returns None where it cannot run here."""

    def maybe(name, path, device):
        def make():
            try:
                return create_backend(name, config, path, device=device)
            except Exception:  # e.g. the CPU-only onnxruntime wheel has no CUDA provider
                return None

        return make

    for device in ("cpu", "cuda") if gpu else ("cpu",):
        if files.weights is not None:
            yield "torch eager", device, files.origin["torch"], maybe("torch", files.weights, device)
        for key, path in files.onnx.items():
            yield f"onnxruntime {PRECISIONS[key]}", device, files.origin[key], maybe("onnxruntime", path, device)


def _encoder_rows(model, files, gpu, rng, repeats, warmup, budget) -> list[Row]:
    rows = []
    config = get_model_config(model)
    # One backend at a time, created just before it is timed: idle onnxruntime and OpenMP thread
    # pools spin for a while after each call and would steal the cores from the next backend.
    for name, device, origin, make in _backend_makers(config, files, gpu):
        backend = make()
        if backend is None:
            continue
        for input_name, batch in _cases(gpu):
            if input_name == "1080p" and batch > 1 and device == "cpu":
                continue
            full, half = _inputs(rng, input_name, batch)
            extra = {"model": model, "input": input_name, "backend": name, "device": device, "weights": origin}
            rows.append(
                _time_row(f"{model} {input_name} {name} {device}", backend, full, half, repeats, warmup, budget, extra)
            )
        del backend
    return rows


# -- the peer comparison ----------------------------------------------------------------------------


def pyiqa_style_arniqa(model: str = PEER):
    """ARNIQA as pyiqa runs it, for one BGR uint8 frame -> score (randomly initialised: timing only).

    pyiqa's arniqa: a float RGB tensor in [0, 1] from the image, the half scale by torchvision's
    Resize (bilinear, antialiased), ImageNet normalisation of both, the encoder on each, L2-normalised
    features concatenated, a linear regressor.
    """
    import torch
    import torch.nn.functional as F

    from arniqa_edge.models.encoder import build_encoder

    config = get_model_config(model)
    encoder = build_encoder(config).eval()
    regressor = torch.nn.Linear(config.regressor_input_dim, 1).eval()
    mean = torch.tensor(config.mean).view(1, 3, 1, 1)
    std = torch.tensor(config.std).view(1, 3, 1, 1)

    @torch.inference_mode()
    def score(frame: np.ndarray) -> float:
        x = torch.from_numpy(np.ascontiguousarray(frame[..., ::-1])).permute(2, 0, 1)[None].float().div(255)
        half = F.interpolate(x, size=(x.shape[2] // 2, x.shape[3] // 2), mode="bilinear", antialias=True)
        features = torch.hstack((encoder((x - mean) / std), encoder((half - mean) / std)))
        return regressor(features).item()

    return score


def _scorer_files(files: ModelFiles, weights: Path | None = None) -> dict[str, str]:
    """Scorer arguments: the model as shipped (or laid out as shipped), or the encoder file `weights`."""
    return {"weights": str(weights), "regressor": str(files.regressor)} if weights else files.scorer_files


def _peer_rows(files: ModelFiles, frame: np.ndarray, repeats: int, budget: float) -> tuple[list[Row], dict]:
    from arniqa_edge import Scorer

    peer, scorer = pyiqa_style_arniqa(), Scorer(OURS, backend="auto", device="cpu", **_scorer_files(files))
    calls = [lambda: peer(frame), lambda: scorer.score(frame)]
    once = sum(time_callable(call, repeats=1, warmup=1).median_ms for call in calls) / 1e3
    rounds = max(2, min(repeats, int(budget / once)))
    peer_timing, ours_timing = time_interleaved(calls, repeats=rounds, warmup=0)
    ran = f"auto: {scorer.backend.describe()}, {Path(scorer.backend.path).name}"
    frame_name = f"{frame.shape[1]}x{frame.shape[0]} BGR frame"
    rows = [
        Row(
            "peer: pyiqa-style ARNIQA (ResNet-50), with preprocessing",
            peer_timing,
            {"model": PEER, "input": frame_name, "backend": "torch eager", "device": "cpu", "weights": "random init"},
        ),
        Row(
            "ours: Scorer, with preprocessing",
            ours_timing,
            {"model": OURS, "input": frame_name, "backend": ran, "device": "cpu", "weights": files.origin["torch"]},
        ),
    ]
    for row in rows:
        row.extra |= {"batch": 1, "images_per_s": round(1e3 / row.timing.median_ms, 2)}
    ratio = peer_timing.median_ms / ours_timing.median_ms
    summary = {
        "peer / ours per 1080p frame (medians, preprocessing included; issue goal >= 25x)": (
            f"{ratio:.1f}x: peer {peer_timing.median_ms:.0f} ms (pyiqa-style ARNIQA, ResNet-50 torch eager), "
            f"ours {ours_timing.median_ms:.0f} ms (Scorer, backend {ran}); {rounds} rounds taking turns"
        )
    }
    return rows, summary


# -- peak memory ------------------------------------------------------------------------------------

_FRAME_SETUP = """
    import numpy as np
    frame = np.random.default_rng(0).integers(0, 256, {shape!r}, dtype=np.uint8)
"""
_SCORER_SETUP = """
    from arniqa_edge import Scorer
    scorer = Scorer({model!r}, backend={backend!r}, device="cpu", **{files!r})

    def call():
        score = scorer.score(frame)
        return {{"ran": scorer.backend.describe(), "score": score}}
"""
_PEER_SETUP = """
    from benchmarks.suites.inference import pyiqa_style_arniqa
    score = pyiqa_style_arniqa()

    def call():
        return {"ran": "pyiqa-style ARNIQA, ResNet-50 torch eager", "score": score(frame)}
"""


def _memory_rows(files: ModelFiles, shape: tuple[int, int, int]) -> list[Row]:
    """One fresh process per backend and precision: the peak of one frame through the Scorer (or the peer)."""
    frame = _FRAME_SETUP.format(shape=shape)
    cases = [(f"Scorer, onnxruntime {PRECISIONS[key]}", "onnxruntime", path) for key, path in files.onnx.items()]
    if files.weights is not None:
        cases.append(("Scorer, torch eager", "torch", files.weights))
    cases.append(("ours: Scorer, backend auto", "auto", None))
    rows = []
    for name, backend, weights in [*cases, ("peer: pyiqa-style ARNIQA (ResNet-50)", "peer", None)]:
        if backend == "peer":
            setup = frame + _PEER_SETUP
        else:
            setup = frame + _SCORER_SETUP.format(model=OURS, backend=backend, files=_scorer_files(files, weights))
        out = measure_peak(name, setup, block_torch=backend == "onnxruntime")
        peak = out["call_peak"] or out["peak"]
        rows.append(
            Row(
                name,
                one_timing(out["seconds"]),
                {
                    "frame": f"{shape[1]}x{shape[0]}",
                    "peak RSS MiB": round(peak / MIB),
                    "model loaded MiB": round(out["loaded"] / MIB),
                    "peak above loaded MiB": round((peak - out["loaded"]) / MIB),
                    "ran": out["ran"],
                },
            )
        )
    return rows


# -- onnxruntime profiles ---------------------------------------------------------------------------


def op_profile(path: Path, full: np.ndarray, half: np.ndarray, folder: Path) -> list[tuple[str, int, float]]:
    """onnxruntime's profile of one CPU run of `path` (after an unprofiled first one): `aggregate_profile`."""
    from arniqa_edge.backends.onnxruntime_session import load_session, session_options

    options = session_options()
    options.enable_profiling = True
    options.profile_file_prefix = str(folder / path.stem)
    session = load_session(path, options)
    for _ in range(2):
        session.run(["features"], {"full": full, "half": half})
    return aggregate_profile(json.loads(Path(session.end_profiling()).read_text()))


def aggregate_profile(events: list[dict]) -> list[tuple[str, int, float]]:
    """Kernel time per op type in the last run of an onnxruntime profile: (op type, nodes, ms), most time first."""
    runs = [e["ts"] for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    start = max(runs, default=0)
    totals: dict[str, tuple[int, float]] = {}
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time") and event["ts"] >= start:
            op = event["args"]["op_name"]
            nodes, ms = totals.get(op, (0, 0.0))
            totals[op] = (nodes + 1, ms + event["dur"] / 1e3)
    return sorted(((op, nodes, ms) for op, (nodes, ms) in totals.items()), key=lambda item: -item[2])


def profile_table(title: str, ops: list[tuple[str, int, float]], top: int = PROFILE_TOP) -> str:
    total = sum(ms for _, _, ms in ops) or 1.0
    rest = ops[top:]
    if rest:
        ops = [*ops[:top], (f"other ({len(rest)} op types)", sum(n for _, n, _ in rest), sum(ms for *_, ms in rest))]
    lines = [f"{title}: {total:.0f} ms in kernels", "", "| op type | nodes | ms | share |", "|---|---|---|---|"]
    lines += [f"| {op} | {nodes} | {ms:.1f} | {100 * ms / total:.0f}% |" for op, nodes, ms in ops]
    return "\n".join(lines)


def _profile_notes(files: ModelFiles, rng, folder: Path) -> list[str]:
    full, half = _inputs(rng, "1080p", 1)
    notes = [
        "## Where onnxruntime's CPU time goes (one 1080p call, kernel time per op type)\n\n"
        "After graph optimisation: a fused integer kernel (QLinearConv, ...) runs int8; a float op between "
        "DequantizeLinear and QuantizeLinear runs in fp32 and pays for both conversions."
    ]
    for key in PROFILED:
        ops = op_profile(files.onnx[key], full, half, folder)
        notes.append(profile_table(f"**{OURS} onnxruntime {PRECISIONS[key]}** ({files.origin[key]})", ops))
    return notes


def run(repeats: int = 50, warmup: int = 5, quick: bool = False) -> SuiteResult:
    """quick: a smoke run of every part (tiny time budgets, lite0's encoder rows only)."""
    import torch

    from export.calibration import degraded_frames
    from export.images import default_images

    gpu = torch.cuda.is_available()
    budget, peer_budget = (QUICK_BUDGET_S, 0.0) if quick else (ROW_BUDGET_S, PEER_BUDGET_S)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (*INPUTS["1080p"][0], 3), dtype=np.uint8)
    calibration = list(degraded_frames(default_images("train", 4), 1, 320, 240))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        all_files = {}
        for model in (OURS,) if quick else MODELS:
            (Path(tmp) / model).mkdir()
            all_files[model] = files = _model_files(model, Path(tmp) / model, calibration)
            rows += _encoder_rows(model, files, gpu, rng, repeats, warmup, budget)
        ours = all_files[OURS]
        peer_rows, peer_summary = _peer_rows(ours, frame, repeats, peer_budget)
        rows += peer_rows
        memory = _memory_rows(ours, frame.shape)
        notes = _profile_notes(ours, rng, Path(tmp))
    return SuiteResult(
        suite="inference",
        description=" ".join(__doc__.split("\n\n")[0].split()) + " Encoder rows: both scales per image "
        "(encode_pair), inputs preprocessed; the peer and ours: one frame from uint8 pixels to its score.",
        rows=rows,
        summary={
            f"{OURS} weights": ours.source,
            **peer_summary,
            "row_budget_s": budget,
            "gpu": gpu,
            **({"quick": "a smoke run (--quick): tiny budgets, timings not meaningful"} if quick else {}),
        },
        tables={
            "Peak memory per 1080p frame (the Scorer on one frame, a fresh process each; first frame's time)": memory
        },
        notes=notes,
    )
