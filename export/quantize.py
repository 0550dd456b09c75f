"""Lower an exported FP32 graph to FP16 or to INT8 with explicit Q/DQ nodes.

    python -m export.quantize --weights lite0.onnx --precision fp16 -o lite0.fp16.onnx
    python -m export.quantize --weights lite0.onnx --precision int8 --target cpu -o lite0.int8.onnx \\
        --calibration-images 32 --distortions-per-image 2

Named `<stem>.int8.onnx` / `<stem>.fp16.onnx` beside `<stem>.onnx` and the weights,
an export is found by the runtime's `--backend auto`, which on a CPU takes the
`--target cpu` INT8 file and otherwise the FP32 one (never FP16 or TensorRT's INT8
there). Precision becomes a property of the ONNX file, which is what TensorRT 10/11
strongly typed builds and onnxruntime both consume; no builder flags, no
calibrator at engine build time.

FP16: onnxconverter-common's converter with keep_io_types, so the graph still
takes and returns float32 and the preprocessing does not change.
INT8: onnxruntime.quantization.quantize_static in QDQ format, per-channel
symmetric weights, activation ranges calibrated on pristine photos and on
distorted versions of them (export.calibration). The Q/DQ layout depends on
where the graph will run (`--target`):
- tensorrt (default): symmetric int8 activations (TensorRT takes zero points of
  0 only), Q/DQ on the inputs of each op and none on convolution outputs, float
  biases: TensorRT's own placement, from which it fuses every layer.
- cpu: asymmetric uint8 activations with int8 weights (U8S8, what onnxruntime's
  x86 and ARM kernels are fastest at), Q/DQ on outputs too, so that onnxruntime
  fuses each DQ -> Conv -> Q into one integer convolution. The tensorrt layout
  runs on onnxruntime's CPU provider as float convolutions wrapped in
  dequantize/quantize steps: about 3-4x slower than FP32 (benchmarks/results).

Both keep the head in float32: everything after the global pooling (L2 norm,
concatenation, folded regressor) is a few thousand operations, and in FP16 the
sum of squares of a 2048-wide ResNet feature can overflow (max 65504).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import warnings
from pathlib import Path

import onnx

from arniqa_edge.cli_conventions import (
    HelpFormatter,
    add_output_argument,
    add_verbosity_arguments,
    add_weights_argument,
    configure_logging,
)
from arniqa_edge.errors import ArniqaEdgeError
from arniqa_edge.models import get_model_config
from training.data_root import pristine_dir

from .calibration import CalibrationReader, degraded_frames
from .images import list_images
from .metadata import read_info, stamp

log = logging.getLogger(__name__)

POOLING_OPS = ("GlobalAveragePool", "ReduceMean")
#: Ops whose inputs (and weights) get Q/DQ pairs.
INT8_OPS = ["Conv", "Add", "GlobalAveragePool"]
#: Outputs left unquantized: TensorRT's placement (Q/DQ on the inputs of the next op). Quantizing a
#: convolution's output before its ReLU6 would spend the symmetric range on negatives the clip drops.
NO_OUTPUT_QDQ = ["Conv", "Add"]


def head_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes fed, directly or not, by a global pooling's output: the float32 head."""
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    frontier = [out for node in model.graph.node if node.op_type in POOLING_OPS for out in node.output]
    head: dict[str, None] = {}
    while frontier:
        for node in consumers.get(frontier.pop(), []):
            if node.name not in head:
                head[node.name] = None
                frontier.extend(node.output)
    return list(head)


def _named(model: onnx.ModelProto) -> onnx.ModelProto:
    """Give every node a unique name: the block/exclude lists of both converters match by name."""
    seen: set[str] = set()
    for index, node in enumerate(model.graph.node):
        if not node.name or node.name in seen:
            node.name = f"{node.op_type}_{index}"
        seen.add(node.name)
    return model


def to_fp16(source: str | Path, output: str | Path) -> None:
    from onnxconverter_common import float16

    model = _named(onnx.load(str(source)))
    info = read_info(model, str(source))
    with warnings.catch_warnings():
        # Weights below fp16's smallest normal number are flushed, as expected; one warning each is noise.
        warnings.filterwarnings("ignore", message="the float32 number", category=UserWarning)
        half = float16.convert_float_to_float16(model, keep_io_types=True, node_block_list=head_nodes(model))
    _restore_float32_outputs(half)
    onnx.save(stamp(half, info.with_precision("fp16")), str(output))
    onnx.checker.check_model(str(output), full_check=True)


def _restore_float32_outputs(model: onnx.ModelProto) -> None:
    """Undo the converter's float16 Cast on outputs that a blocked (float32) node already produces.

    onnxconverter-common 1.16 appends such a Cast even with keep_io_types; turning it into a
    float32 -> float32 Cast keeps the graph valid and the outputs float32 as promised.
    """
    producers = {out: node for node in model.graph.node for out in node.output}
    for output in model.graph.output:
        tensor_type = output.type.tensor_type
        cast = producers.get(output.name)
        if tensor_type.elem_type == onnx.TensorProto.FLOAT16 and cast is not None and cast.op_type == "Cast":
            for attribute in cast.attribute:
                if attribute.name == "to":
                    attribute.i = onnx.TensorProto.FLOAT
            tensor_type.elem_type = onnx.TensorProto.FLOAT


#: --target choices of INT8 exports.
INT8_TARGETS = ("tensorrt", "cpu")


def _int8_options(target: str, head: list[str]) -> dict:
    """quantize_static arguments of an INT8 layout (see the module docstring)."""
    from onnxruntime.quantization import QuantFormat, QuantType

    if target == "tensorrt":
        return dict(
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=INT8_OPS,
            nodes_to_exclude=head,
            extra_options={
                "ActivationSymmetric": True,
                "WeightSymmetric": True,
                "OpTypesToExcludeOutputQuantization": NO_OUTPUT_QDQ,
                # TensorRT dequantizes only 8-bit (and FP8/FP4) tensors: int32 biases stay float.
                "QuantizeBias": False,
            },
        )
    if target == "cpu":
        return dict(
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=head,
            extra_options={"WeightSymmetric": True},
        )
    raise ValueError(f"INT8 target must be one of {INT8_TARGETS}, got {target!r}")


def to_int8(
    source: str | Path,
    output: str | Path,
    calibration: CalibrationReader,
    calibrate_method: str = "MinMax",
    target: str = "tensorrt",
) -> None:
    from onnxruntime.quantization import CalibrationMethod, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    info = read_info(onnx.load(str(source), load_external_data=False), str(source))
    with tempfile.TemporaryDirectory() as tmp:
        # Shape inference and graph cleanup first, as onnxruntime recommends before quantizing.
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        model = _named(onnx.load(str(prepared)))
        onnx.save(model, str(prepared))
        quantize_static(
            str(prepared),
            str(output),
            calibration,
            calibrate_method=CalibrationMethod[calibrate_method],
            **_int8_options(target, head_nodes(model)),
        )
    quantized = onnx.load(str(output))
    onnx.save(stamp(quantized, info.with_precision("int8", target)), str(output))
    onnx.checker.check_model(str(output), full_check=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m export.quantize",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=HelpFormatter,
    )
    add_weights_argument(parser, "FP32 ONNX file from python -m export.onnx", positional="ONNX", type=Path)
    parser.add_argument("--precision", required=True, choices=["fp16", "int8"], help="precision to lower to")
    parser.add_argument(
        "--target",
        choices=INT8_TARGETS,
        default="tensorrt",
        help="int8: where the graph will run; tensorrt (GPUs, Jetson) or cpu (onnxruntime on x86 "
        "or ARM); each is slow on the other",
    )
    add_output_argument(parser, "the .onnx file to write", required=True, type=Path)
    calib = parser.add_argument_group("INT8 calibration")
    calib.add_argument(
        "--calibration-dir",
        type=Path,
        default=pristine_dir("train"),
        help="pristine photos (default: the shared training split)",
    )
    calib.add_argument("--calibration-images", type=int, default=32, help="photos taken from it")
    calib.add_argument(
        "--distortions-per-image", type=int, default=2, help="distorted versions of each photo added to the set"
    )
    calib.add_argument(
        "--calibration-size",
        type=int,
        nargs=2,
        default=(320, 240),
        metavar=("WIDTH", "HEIGHT"),
        help="frame size for a dynamic-size graph",
    )
    calib.add_argument(
        "--calibrate-method",
        default="MinMax",
        choices=["MinMax", "Percentile", "Entropy"],
        help="how onnxruntime turns the calibration activations into ranges",
    )
    calib.add_argument("--seed", type=int, default=0, help="seed of the calibration distortions")
    add_verbosity_arguments(parser)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args)
    try:
        if args.precision == "fp16":
            to_fp16(args.weights, args.output)
            print(f"wrote {args.output} (fp16, float32 inputs and outputs)")
            return 0
        info = read_info(onnx.load(str(args.weights), load_external_data=False), str(args.weights))
        size = info.inputs.height
        width, height = (2 * size, 2 * size) if size else args.calibration_size
        photos = list_images(args.calibration_dir, args.calibration_images)
        frames = degraded_frames(photos, args.distortions_per_image, width, height, args.seed)
        reader = CalibrationReader(frames, get_model_config(info.model), size)
        to_int8(args.weights, args.output, reader, args.calibrate_method, args.target)
    except (ArniqaEdgeError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {args.output} (int8 Q/DQ, calibrated on {reader.count} frames: {len(photos)} photos "
        f"x (1 + {args.distortions_per_image} distorted))"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
