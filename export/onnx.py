"""Export an ARNIQA encoder to ONNX, with both scales in one graph, checked against torch.

    python -m export.onnx --weights enc.safetensors -o lite0.onnx
    python -m export.onnx --weights enc.safetensors --regressor reg.safetensors \\
        --outputs score,features -o lite0-score.onnx
    python -m export.onnx --weights enc.safetensors --image-size 224 -o lite0-224.onnx

Inputs `full` (N, 3, H, W) and `half` (N, 3, H', W'), normalised RGB float32 as
`arniqa_edge.preprocess` writes them. The batch is dynamic; so are H, W, H', W'
(the whole-image protocol) unless --image-size fixes them (the crop protocols).
Outputs: `features` (N, 2F), the L2-normalised features of both scales
concatenated; `score` (N, 1) in [0, 1] with the regressor folded in.

Exporter: the TorchScript-based exporter (torch.onnx.export(dynamo=False)) by
default. On these CNNs it folds BatchNorm into the convolutions and emits
GlobalAveragePool, the form that onnxruntime's Q/DQ quantizer and TensorRT's
parser handle best, and it exports lite0 in seconds where the dynamo exporter
(--exporter dynamo, needs onnxscript) takes over a minute on 2 cores with four
symbolic spatial dimensions and leaves BatchNorm unfused. Both are supported and
checked the same way, because the TorchScript exporter is deprecated in torch.

Opset 18: the lowest the dynamo exporter emits, so both exporters agree, and
every op in these graphs (Conv, Clip, Add, GlobalAveragePool, ReduceL2, Div,
Concat, Gemm) is supported at 18 by TensorRT 10 (JetPack 6) and 11, TensorRT-RTX,
onnxruntime >= 1.17 and its quantizer.

Every export is validated with onnx.checker (full check, with shape inference)
and run with onnxruntime on real photos against the torch module; the largest
absolute difference of each output is printed and must stay under --tolerance.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

from arniqa_edge.backends.files import file_sha256
from arniqa_edge.backends.model_metadata import ExportedModelInfo, InputSpec
from arniqa_edge.cli_conventions import (
    HelpFormatter,
    add_output_argument,
    add_verbosity_arguments,
    add_weights_argument,
    configure_logging,
)
from arniqa_edge.errors import ArniqaEdgeError
from arniqa_edge.models import get_model_config, list_models
from arniqa_edge.models.encoder import load_encoder
from arniqa_edge.models.registry import ModelConfig
from arniqa_edge.models.shipped import load_regressor
from arniqa_edge.regressor import LinearRegressor

from .graph import export_module
from .images import default_images, list_images, model_inputs, read_frame
from .metadata import stamp

log = logging.getLogger(__name__)

DEFAULT_OPSET = 18
EXPORTERS = ("torchscript", "dynamo")
#: What --outputs takes: the graph's outputs, in order.
OUTPUT_CHOICES = ("features", "score", "score,features")
INPUT_NAMES = ("full", "half")
#: Smallest full-scale side a dynamic graph accepts: the backbones downsample by 32.
MIN_SIDE = 64
MAX_SIDE = 8192


def export_onnx(
    config: ModelConfig,
    weights: str | Path,
    output: str | Path,
    regressor: LinearRegressor | None = None,
    outputs: tuple[str, ...] = ("features",),
    image_size: int | None = None,
    opset: int = DEFAULT_OPSET,
    exporter: str = "torchscript",
) -> ExportedModelInfo:
    """Write the ONNX graph of `config` with `weights` to `output`, with its arniqa metadata."""
    if exporter not in EXPORTERS:
        raise ValueError(f"exporter must be one of {EXPORTERS}, got {exporter!r}")
    module = export_module(load_encoder(config, weights).backbone, outputs, regressor)
    example = example_inputs(image_size)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    if exporter == "torchscript":
        export_torchscript(module, example, output, outputs, image_size, opset)
    else:
        _export_dynamo(module, example, output, outputs, image_size, opset)
    info = ExportedModelInfo(
        model=config.name,
        feature_dim=config.feature_dim,
        outputs=outputs,
        inputs=InputSpec.for_model(config, image_size),
        precision="fp32",
        opset=opset,
        regressor_scale=_scale_of(regressor) if "score" in outputs else None,
        weights_sha256=file_sha256(weights),
    )
    model = onnx.load(str(output))
    model.producer_name, model.doc_string = "arniqa_edge export", f"ARNIQA {config.name}: {', '.join(outputs)}"
    onnx.save(stamp(model, info), str(output))
    onnx.checker.check_model(str(output), full_check=True)
    return info


def example_inputs(image_size: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    # Height != width and batch 2, so no dimension is mistaken for a constant or for another.
    height, width = (image_size, image_size) if image_size else (96, 128)
    half = (image_size, image_size) if image_size else (height // 2, width // 2)
    return torch.randn(2, 3, height, width), torch.randn(2, 3, *half)


def export_torchscript(module, example, output: Path, outputs, image_size, opset) -> None:
    """torch.onnx.export of a (full, half) -> outputs module, batch (and H, W unless image_size) dynamic."""
    spatial = {} if image_size else {2: "height", 3: "width"}
    half_spatial = {} if image_size else {2: "half_height", 3: "half_width"}
    axes = {"full": {0: "batch", **spatial}, "half": {0: "batch", **half_spatial}}
    axes.update({name: {0: "batch"} for name in outputs})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the exporter's own deprecation notice
        torch.onnx.export(
            module,
            example,
            str(output),
            dynamo=False,
            opset_version=opset,
            input_names=list(INPUT_NAMES),
            output_names=list(outputs),
            dynamic_axes=axes,
            do_constant_folding=True,
        )


def _export_dynamo(module, example, output: Path, outputs, image_size, opset) -> None:
    dim = torch.export.Dim
    batch = dim("batch", min=1, max=4096)
    if image_size:
        shapes = {"full": {0: batch}, "half": {0: batch}}
    else:
        shapes = {
            "full": {
                0: batch,
                2: dim("height", min=MIN_SIDE, max=MAX_SIDE),
                3: dim("width", min=MIN_SIDE, max=MAX_SIDE),
            },
            "half": {
                0: batch,
                2: dim("half_height", min=MIN_SIDE // 2, max=MAX_SIDE // 2),
                3: dim("half_width", min=MIN_SIDE // 2, max=MAX_SIDE // 2),
            },
        }
    program = torch.onnx.export(
        module,
        example,
        dynamo=True,
        opset_version=opset,
        optimize=True,
        input_names=list(INPUT_NAMES),
        output_names=list(outputs),
        dynamic_shapes=shapes,
    )
    program.save(str(output))


def _scale_of(regressor: LinearRegressor) -> tuple[float, float, bool]:
    scale = regressor.scale
    return float(scale.low), float(scale.high), bool(scale.higher_is_better)


def compare_with_torch(
    path: str | Path, module: torch.nn.Module, full: np.ndarray, half: np.ndarray
) -> dict[str, float]:
    """Largest absolute difference per output between onnxruntime (CPU) and the torch module."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"full": full, "half": half})
    with torch.inference_mode():
        expected = module(torch.from_numpy(full), torch.from_numpy(half))
    expected = expected if isinstance(expected, tuple) else (expected,)
    names = [o.name for o in session.get_outputs()]
    return {name: float(np.abs(g - e.numpy()).max()) for name, g, e in zip(names, got, expected)}


def check_frames(images: list[Path], image_size: int | None) -> list[np.ndarray]:
    """Frames of one size for the check: 320x240 for a dynamic graph, 2 x crop for a fixed one."""
    width, height = (2 * image_size, 2 * image_size) if image_size else (320, 240)
    return [read_frame(path, width, height) for path in images]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m export.onnx",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--model", default="arniqa-lite0", choices=list_models(), help="model of the weights")
    add_weights_argument(parser, "encoder weights (.safetensors, or ARNIQA.pth for arniqa-r50)")
    parser.add_argument("--regressor", help="regressor file; needed for a score output (default: none)")
    parser.add_argument(
        "--outputs",
        default="features",
        choices=OUTPUT_CHOICES,
        metavar="OUTPUTS",
        help="the graph's outputs: features (both scales' features, concatenated), score (the "
        "regressor folded in; needs --regressor), or both as score,features",
    )
    parser.add_argument(
        "--image-size", type=int, help="fix H = W (crop protocols) (default: dynamic H and W, the whole-image protocol)"
    )
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset")
    parser.add_argument("--exporter", default="torchscript", choices=EXPORTERS, help="torch's ONNX exporter")
    parser.add_argument("--check-images", help="folder or image to check against torch (default: 2 shared photos)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed |onnx - torch| per output")
    add_output_argument(parser, "the .onnx file to write", required=True, type=Path)
    add_verbosity_arguments(parser)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args)
    config = get_model_config(args.model)
    outputs = tuple(args.outputs.split(","))
    try:
        regressor = load_regressor(args.regressor) if args.regressor else None
        info = export_onnx(
            config, args.weights, args.output, regressor, outputs, args.image_size, args.opset, args.exporter
        )
        images = list_images(args.check_images, 2) if args.check_images else default_images()
        full, half = model_inputs(check_frames(images, args.image_size), config, args.image_size)
        module = export_module(load_encoder(config, args.weights).backbone, outputs, regressor)
        diffs = compare_with_torch(args.output, module, full, half)
    except (ArniqaEdgeError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = ", ".join(f"{name} {diff:.2e}" for name, diff in diffs.items())
    print(
        f"wrote {args.output} ({info.model}, outputs {', '.join(outputs)}, opset {info.opset}); "
        f"max |onnx - torch| on {len(images)} photos: {report}"
    )
    if any(diff > args.tolerance for diff in diffs.values()):
        print(f"error: the export differs from torch by more than {args.tolerance}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
