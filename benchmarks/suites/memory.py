"""Peak memory of scoring a 12 MP photo (4000x3000) on the CPU, by backend, each in a fresh process.

Rows: the Scorer on one photo with onnxruntime as it runs now (calls over
ARENA_MAX_INPUT_PIXELS without the memory arena), with the arena kept for every
call (as before), and with torch eager; then the image CLI on the issue's
command (a small photo and three 12 MP ones, --json, under `ulimit -v 10000000`)
and on a 9000x9000 PNG, which the memory budget refuses before preprocessing.
"peak RSS" is the process's maximum resident set (VmHWM); "model loaded" is
its resident set once the Scorer is built; "estimate" is what the batching
policy assumes for the call (arniqa_edge.memory.estimate_call_bytes). The
lower bound of what any runtime needs is the largest layer's input plus output
at full resolution (lite0: the 16 -> 96 channel expansion at 2000x1500), found
with torch hooks. Weights: a randomly initialised lite0 (memory does not depend
on the values). Times are one run each, on a shared machine: indicative only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import cv2
import numpy as np

from benchmarks.harness import Row, SuiteResult, Timing

ROOT = Path(__file__).resolve().parents[2]
HEIGHT, WIDTH = 3000, 4000
MODEL = "arniqa-lite0"
#: The issue's `ulimit -v 10000000` (KiB).
ADDRESS_SPACE_LIMIT = 10_000_000 * 1024
MIB = 1024**2


def make_photo(path: Path, height: int = HEIGHT, width: int = WIDTH, seed: int = 0) -> Path:
    """A smooth image plus noise, saved as a JPEG (what a camera gives)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 128 + 60 * np.sin(x / 97.0)[..., None] * np.cos(y / 61.0)[..., None] * np.array([1.0, 0.8, 0.6])
    noisy = base + rng.normal(0, 12, (height, width, 3))
    cv2.imwrite(str(path), np.clip(noisy, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def _files(folder: Path) -> dict[str, Path]:
    """Encoder weights and export in separate folders (so that onnxruntime runs without importing torch)."""
    from arniqa_edge.models import get_model_config
    from arniqa_edge.models.encoder import build_encoder, save_encoder
    from arniqa_edge.regressor import LinearRegressor, ScoreScale
    from export.onnx import export_onnx

    config = get_model_config(MODEL)
    (folder / "torch").mkdir()
    (folder / "onnx").mkdir()
    weights = folder / "torch" / "lite0.safetensors"
    save_encoder(build_encoder(config).eval(), weights)
    onnx = folder / "onnx" / "lite0.onnx"
    export_onnx(config, weights, onnx)
    regressor = folder / "lite0.regressor.safetensors"
    rng = np.random.default_rng(0)
    LinearRegressor(rng.normal(0, 0.05, config.regressor_input_dim), 3.0, ScoreScale(1, 5), {"model": MODEL}).save(
        regressor
    )
    photo = make_photo(folder / "a12mp.jpg")
    for name in ("b12mp.jpg", "c12mp.jpg"):
        (folder / name).write_bytes(photo.read_bytes())
    small = folder / "good.jpg"
    cv2.imwrite(str(small), cv2.resize(cv2.imread(str(photo)), (481, 321), interpolation=cv2.INTER_AREA))
    cv2.imwrite(str(folder / "9000x9000.png"), np.full((9000, 9000), 128, np.uint8))
    return {"weights": weights, "onnx": onnx, "regressor": regressor, "photo": photo, "folder": folder}


_PEAK_SCRIPT = """
import json, sys, time
if {block_torch}:
    sys.modules["torch"] = None; sys.modules["timm"] = None

def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(field))

{setup}
loaded, setup_peak = status("VmRSS"), status("VmHWM")
try:  # reset the high-water mark, so that it is the peak of call() alone
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    reset = True
except OSError:
    reset = False
start = time.perf_counter()
out = call()
seconds = time.perf_counter() - start
call_peak = status("VmHWM")
print(json.dumps({{"loaded": loaded, "peak": max(setup_peak, call_peak), "call_peak": call_peak if reset else None,
                  "seconds": seconds, **out}}))
"""


def measure_peak(name: str, setup: str, block_torch: bool = False, timeout: float = 900) -> dict:
    """Runs `setup` in a fresh Python process, then times one `call()` (which `setup` defines; it returns a
    dict of JSON values, merged into the result).

    Returns, in bytes, the resident set once `setup` ran ("loaded"), the process's maximum resident
    set ("peak") and the maximum during call() alone ("call_peak"; None where the kernel cannot reset
    it), and the call's "seconds". Peaks are the process's own high-water mark (VmHWM): ru_maxrss
    would count the parent's too, which Linux carries over through fork and exec. block_torch: torch
    and timm cannot be imported.
    """
    script = _PEAK_SCRIPT.format(block_torch=block_torch, setup=textwrap.dedent(setup))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


_SCORER_SETUP = """
    from arniqa_edge.backends import onnxruntime_backend
    if {keep_arena}:
        onnxruntime_backend.ARENA_MAX_INPUT_PIXELS = 1 << 62
    from arniqa_edge import Scorer
    from arniqa_edge.memory import estimate_call_bytes

    scorer = Scorer("{model}", weights={weights!r}, regressor={regressor!r}, backend="{backend}", device="cpu")

    def call():
        score = scorer.score({photo!r})
        full, half = scorer.extractor.input_shapes({height}, {width})
        pixels = full[0] * full[2] * full[3] + half[0] * half[2] * half[3]
        return {{"score": score, "input_pixels": pixels,
                "estimate": estimate_call_bytes(scorer.backend.name, pixels, "cpu")}}
"""


def _scorer_row(name: str, files: dict, backend: str, keep_arena: bool = False) -> Row:
    weights = files["onnx"] if backend == "onnxruntime" else files["weights"]
    setup = _SCORER_SETUP.format(
        keep_arena=keep_arena,
        model=MODEL,
        weights=str(weights),
        regressor=str(files["regressor"]),
        backend=backend,
        photo=str(files["photo"]),
        height=HEIGHT,
        width=WIDTH,
    )
    out = measure_peak(name, setup, block_torch=backend == "onnxruntime")
    above = out["peak"] - out["loaded"]
    return Row(
        name,
        one_timing(out["seconds"]),
        {
            "image": f"{WIDTH}x{HEIGHT}",
            "peak RSS MiB": round(out["peak"] / MIB),
            "model loaded MiB": round(out["loaded"] / MIB),
            "peak above loaded MiB": round(above / MIB),
            "bytes per input pixel": round(above / out["input_pixels"]),
            "estimate MiB": round(out["estimate"] / MIB),
            "status": "scored",
        },
    )


def _cli_row(name: str, files: dict, images: list[str], address_limit: int | None = None) -> Row:
    """The image CLI in a child process: its exit status and peak RSS (ru_maxrss of the waited-for child)."""
    command = [
        sys.executable,
        "-c",
        "import sys; sys.modules['torch'] = None; sys.modules['timm'] = None\n"
        "from arniqa_edge.cli import main\nsys.exit(main(sys.argv[1:]))",
        *images,
        "--weights",
        str(files["onnx"]),
        "--regressor",
        str(files["regressor"]),
        "--json",
    ]
    wrapper = textwrap.dedent(f"""
        import json, resource, subprocess, sys, time
        def limit():
            if {address_limit!r} is not None:
                resource.setrlimit(resource.RLIMIT_AS, ({address_limit!r}, {address_limit!r}))
        start = time.perf_counter()
        child = subprocess.run({command!r}, preexec_fn=limit, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        rows = json.loads(child.stdout) if child.stdout.strip() else []
        print(json.dumps({{"status": child.returncode, "seconds": seconds, "rows": rows, "stderr": child.stderr,
                          "peak": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}}))
    """)
    result = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, cwd=ROOT, timeout=900)
    if result.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{result.stderr[-3000:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    scored = sum(row["error"] is None for row in out["rows"])
    return Row(
        name,
        one_timing(out["seconds"]),
        {
            "image": ", ".join(Path(image).name for image in images),
            "peak RSS MiB": round(out["peak"] / MIB),
            "status": f"exit {out['status']}: {scored} of {len(images)} scored, {len(out['rows'])} rows",
            "errors": "; ".join(row["error"].split(": ", 1)[1][:90] for row in out["rows"] if row["error"]),
        },
    )


def model_lower_bound(height: int = HEIGHT, width: int = WIDTH) -> tuple[int, str]:
    """Bytes of the largest layer's input + output at full scale (float32), and that layer's name."""
    import torch

    from arniqa_edge.models import get_model_config
    from arniqa_edge.models.encoder import build_encoder

    encoder = build_encoder(get_model_config(MODEL)).eval()
    side = 224
    sizes: list[tuple[int, str]] = []

    def hook(module, inputs, output, name=""):
        if torch.is_tensor(output) and inputs and torch.is_tensor(inputs[0]):
            # in place or identity (dropout, activations): one tensor, counted once
            same = output.data_ptr() == inputs[0].data_ptr()
            sizes.append((output.numel() + (0 if same else inputs[0].numel()), name))

    for name, module in encoder.backbone.named_modules():
        if not list(module.children()):
            module.register_forward_hook(lambda m, i, o, name=name: hook(m, i, o, name))
    with torch.inference_mode():
        encoder(torch.zeros(1, 3, side, side))
    values, name = max(sizes)
    return int(values * 4 * height * width / (side * side)), name


def one_timing(seconds: float) -> Timing:
    """One measured run as a Timing (median = p90 = min)."""
    ms = seconds * 1e3
    return Timing(median_ms=ms, p90_ms=ms, min_ms=ms, repeats=1)


def _memory_total() -> int | None:
    try:
        with open("/proc/meminfo") as meminfo:
            return next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        return None


def run(repeats: int = 1, warmup: int = 0) -> SuiteResult:
    """`repeats` and `warmup` are ignored: a peak is measured once per fresh process."""
    from arniqa_edge.memory import DEFAULT_MEMORY_BUDGET, format_bytes

    with tempfile.TemporaryDirectory() as tmp:
        files = _files(Path(tmp))
        folder = files["folder"]
        rows = [
            _scorer_row("Scorer, onnxruntime fp32 (large calls without the arena)", files, "onnxruntime"),
            _scorer_row(
                "Scorer, onnxruntime fp32 (arena for every call, as before)", files, "onnxruntime", keep_arena=True
            ),
            _scorer_row("Scorer, torch eager", files, "torch"),
            _cli_row(
                "CLI, issue's command under ulimit -v 10000000",
                files,
                [str(folder / name) for name in ("good.jpg", "a12mp.jpg", "b12mp.jpg", "c12mp.jpg")],
                ADDRESS_SPACE_LIMIT,
            ),
            _cli_row(
                "CLI, 9000x9000 PNG (refused by the memory budget)",
                files,
                [str(folder / "good.jpg"), str(folder / "9000x9000.png")],
            ),
        ]
    bound, layer = model_lower_bound()
    total = _memory_total()
    return SuiteResult(
        suite="memory",
        description=" ".join(__doc__.split("\n\n")[0].split()) + " Rows after the first three run the whole CLI "
        "(decode, preprocess, encode), without torch imported.",
        rows=rows,
        summary={
            "lower bound of the activations (largest layer's input + output, fp32, full scale), MiB": round(
                bound / MIB
            ),
            "that layer": layer,
            "default memory budget": format_bytes(DEFAULT_MEMORY_BUDGET),
            "machine memory, GiB": round(total / 1024**3, 1) if total else "unknown",
            "note": "peaks above the loaded model include the decoded photo (36 MiB) and its preprocessed "
            "inputs (172 MiB)",
        },
    )
