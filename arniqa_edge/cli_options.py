"""Command-line options shared by the scoring tools (image, video, camera)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from .backends import BACKEND_NAMES
from .cvrkd.golden import GoldenReferences
from .errors import ArniqaEdgeError
from .features import PROTOCOLS
from .memory import DEFAULT_MEMORY_BUDGET, GIB, parse_bytes
from .models import list_models
from .models.registry import DEFAULT_MODEL


def add_model_arguments(parser, protocol: bool = True) -> None:
    """--model, --weights, --regressor, --backend, --device (and --protocol) on a parser or group."""
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=list_models(), help="model (default: %(default)s)")
    parser.add_argument(
        "--weights",
        metavar="FILE",
        help="encoder: .safetensors or the official ARNIQA.pth (torch), .onnx (onnxruntime), "
        ".engine/.plan (TensorRT); other forms beside it under the same name are found by "
        "--backend auto, which takes the fastest that runs here (on a CPU a <name>.int8.onnx "
        "exported for the CPU, else the FP32 <name>.onnx) and logs it (default: the weights "
        "shipped for --model)",
    )
    parser.add_argument(
        "--regressor",
        metavar="FILE",
        help="regressor: .safetensors, or an official regressor_<dataset>.pth (default: the one shipped for --model)",
    )
    parser.add_argument(
        "--backend",
        default="auto",
        choices=BACKEND_NAMES,
        help="inference backend; auto picks the fastest that runs here and logs it (default: auto)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    if protocol:
        parser.add_argument(
            "--protocol",
            default="whole",
            choices=list(PROTOCOLS),
            help="whole: full image + half scale; five_crop: the paper's center + corner crops (default: whole)",
        )


def scorer_options(args: argparse.Namespace) -> dict:
    """`Scorer` keyword arguments from the options of `add_model_arguments` and `add_batching_arguments`."""
    return {
        "model": args.model,
        "weights": args.weights,
        "regressor": args.regressor,
        "backend": args.backend,
        "device": args.device,
        "max_batch_pixels": args.max_batch_pixels,
        "memory_budget": args.memory_budget,
    }


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def add_batching_arguments(parser) -> None:
    """--max-batch-pixels and --memory-budget: what one backend call may take (`memory.BatchPolicy`)."""
    parser.add_argument(
        "--max-batch-pixels",
        type=pixel_count,
        default=None,
        metavar="N|auto",
        help="most image pixels per backend call, e.g. 2M; auto: 1M on a CPU, where larger "
        "batches run slower, no cap on a GPU (default: auto)",
    )
    parser.add_argument(
        "--memory-budget",
        type=memory_size,
        default=DEFAULT_MEMORY_BUDGET,
        metavar="SIZE",
        help="memory one backend call may take by the model's measured needs, e.g. 1.5G or "
        "512M; batches stay under it and an image needing more alone is refused (its own "
        f"error row). Fits an 8 GB Jetson; use 2G on a 4 GB one (default: "
        f"{DEFAULT_MEMORY_BUDGET / GIB:g}G)",
    )


def pixel_count(text: str) -> int | None:
    """ "auto" -> None, "2M" -> 2000000, "500k" -> 500000, "1500000" -> 1500000 (pixels are counted in powers of 10)."""
    if text.strip().lower() == "auto":
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([km]?)\s*", text, flags=re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"expected a pixel count (e.g. 2M, 500k) or auto, got {text!r}")
    value = int(float(match.group(1)) * {"": 1, "k": 1000, "m": 1000**2}[match.group(2).lower()])
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 pixel, got {text!r}")
    return value


def memory_size(text: str) -> int:
    """ "4G", "1.5G", "512M" or bytes -> bytes, for argparse."""
    try:
        return parse_bytes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


#: What --reference-model takes, in every tool that scores against references.
REFERENCE_MODEL_HELP = (
    "CVRKD student: .safetensors from python -m training.cvrkd.train (torch), its graphs from "
    "python -m export.cvrkd (onnxruntime, no torch): <stem>.maps.onnx with <stem>.score.onnx "
    "beside it, or their engines from python -m export.trt (tensorrt, no torch): "
    "<stem>.maps.engine with <stem>.score.engine; or their folder. Runs on --backend (auto: the "
    "fastest form here, as for --weights) and --device (default: the student shipped with arniqa-edge)"
)


def add_reference_arguments(parser) -> None:
    """--reference-dir and --reference-model: score every frame against golden frames too (CVRKD)."""
    parser.add_argument(
        "--reference-dir",
        type=Path,
        metavar="DIR",
        help="also score every frame against the known-good images in DIR (every image file in "
        "it, sorted), e.g. golden frames of the same camera",
    )
    parser.add_argument("--reference-model", type=Path, metavar="PATH", help=REFERENCE_MODEL_HELP)


def open_golden_references(args: argparse.Namespace):
    """The GoldenReferences that --reference-dir/--reference-model ask for, encoded once; None without them."""
    if args.reference_dir is None:
        if args.reference_model is not None:
            raise ArniqaEdgeError(
                "--reference-model is used with --reference-dir DIR (the golden images to score "
                "against); give both or neither"
            )
        return None
    return GoldenReferences.open(args.reference_model, args.reference_dir, backend=args.backend, device=args.device)
