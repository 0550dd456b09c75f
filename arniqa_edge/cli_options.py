"""Command-line options shared by the scoring tools (image, video, camera)."""

from __future__ import annotations

import argparse

from .backends import BACKEND_NAMES
from .features import PROTOCOLS
from .models import list_models
from .models.registry import DEFAULT_MODEL


def add_model_arguments(parser, protocol: bool = True) -> None:
    """--model, --weights, --regressor, --backend, --device (and --protocol) on a parser or group."""
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=list_models(), help="model (default: %(default)s)")
    parser.add_argument("--weights", metavar="FILE",
                        help="encoder: .safetensors or the official ARNIQA.pth (torch), .onnx (onnxruntime), "
                             ".engine/.plan (TensorRT); other forms beside it under the same name are found by "
                             "--backend auto (default: the weights shipped for --model)")
    parser.add_argument("--regressor", metavar="FILE",
                        help="regressor: .safetensors, or an official regressor_<dataset>.pth "
                             "(default: the one shipped for --model)")
    parser.add_argument("--backend", default="auto", choices=BACKEND_NAMES,
                        help="inference backend; auto picks the fastest that runs here and logs it (default: auto)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    if protocol:
        parser.add_argument("--protocol", default="whole", choices=list(PROTOCOLS),
                            help="whole: full image + half scale; five_crop: the paper's center + corner crops "
                                 "(default: whole)")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value
