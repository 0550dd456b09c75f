"""Build a TensorRT (10.x, 11.x) or TensorRT-RTX engine from an exported ONNX file.

    python -m export.trt --weights lite0-fp16.onnx --precision fp16 -o lite0-fp16.engine
    python -m export.trt --weights lite0-int8.onnx --precision int8 -o lite0-int8.engine \\
        --batch 1 8 32 --size 64 1080x1920 2160x3840 --timing-cache trt.cache
    python -m export.trt --weights lite0-int8.onnx --precision int8 --dla-core 0 -o lite0-dla.engine   # Jetson
    python -m export.trt --weights student.maps.onnx --precision fp32 --batch 1 1 8 -o student.maps.engine    # CVRKD
    python -m export.trt --weights student.score.onnx --precision fp32 --batch 1 4 16 -o student.score.engine

Encoders from export.onnx and the two CVRKD graphs from export.cvrkd are
told apart by their metadata; each input gets its own shape range (trt_profiles):
an encoder's batch and image size vary, a CVRKD graph's batch only (images for
the maps graph, references for the score graph; crops are fixed by the network).

The network is built strongly typed: every tensor keeps the type the ONNX gives
it (FP16 from export.quantize --precision fp16, INT8 from its Q/DQ nodes), which
is the one way that works unchanged on TensorRT 10 (JetPack 6), TensorRT 11
(no calibrators, no FP16/INT8 builder flags) and TensorRT-RTX. --precision only
states what the file is expected to be, and is checked against its metadata.

Next to the engine goes `<engine>.json` (engine_sidecar): model, input shapes,
precision, TensorRT version, GPU, sha256 and metadata of the ONNX; the tensorrt
backend checks it before use (and so refuses a CVRKD engine as an encoder, and
an encoder's as a CVRKD graph). Engines of the two CVRKD graphs go beside each
other under their stem (`<stem>.maps.engine`, `<stem>.score.engine`), where the
reference scorer finds them.

`tensorrt_rtx` builds without a GPU (the engine is compiled for the RTX GPU at
first run); `tensorrt` needs one.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import logging
import sys
from pathlib import Path

import onnx

from arniqa_edge.backends.engine_sidecar import EngineSidecar
from arniqa_edge.cli_conventions import (
    HelpFormatter,
    add_output_argument,
    add_verbosity_arguments,
    add_weights_argument,
    configure_logging,
)
from arniqa_edge.errors import ArniqaEdgeError

from .trt_profiles import DEFAULT_SIZE, ShapeRange, graph_profile

log = logging.getLogger(__name__)

MODULES = ("tensorrt", "tensorrt_rtx")


def tensorrt_module(name: str = "auto"):
    """The TensorRT Python module: `name`, or for "auto" tensorrt when installed, else tensorrt_rtx."""
    candidates = MODULES if name == "auto" else (name,)
    for candidate in candidates:
        if importlib.util.find_spec(candidate) is not None:
            return importlib.import_module(candidate)
    raise ImportError(
        f"no TensorRT Python module found (tried {', '.join(candidates)}): pip install tensorrt-rtx, "
        "or TensorRT (JetPack on a Jetson)"
    )


def parse_network(trt, builder, onnx_path: Path):
    """Strongly typed network from the ONNX file; raises ValueError with the parser's errors."""
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, builder.logger if hasattr(builder, "logger") else trt.Logger())
    if not parser.parse_from_file(str(onnx_path)):
        errors = "\n  ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ValueError(f"TensorRT cannot parse {onnx_path}:\n  {errors}")
    return network, parser


def layer_precisions(trt, network) -> dict[str, int]:
    """How many network layers produce each data type (INT8 = Q/DQ, HALF = FP16), e.g. {"INT8": 169, ...}."""
    counts: dict[str, int] = {}
    for index in range(network.num_layers):
        layer = network.get_layer(index)
        for output in range(layer.num_outputs):
            name = str(layer.get_output_type(output)).split(".")[-1]
            counts[name] = counts.get(name, 0) + 1
    return counts


def build_engine(
    onnx_path: str | Path,
    engine_path: str | Path,
    precision: str,
    shapes: ShapeRange = ShapeRange(),
    workspace_gib: float = 1.0,
    timing_cache: str | Path | None = None,
    dla_core: int | None = None,
    module: str = "auto",
) -> EngineSidecar:
    """Build `onnx_path` (an encoder or a CVRKD graph) into `engine_path` and write its sidecar beside it.

    `shapes` gives the batch range, and an encoder's image size range; the graph's metadata fixes the rest.
    """
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    trt = tensorrt_module(module)
    model = onnx.load(str(onnx_path), load_external_data=False)
    graph = graph_profile(model, str(onnx_path), shapes)
    if graph.precision != precision:
        raise ValueError(
            f"{onnx_path} is a {graph.precision} graph, --precision {precision} was asked for: "
            f"convert an encoder with python -m export.quantize --precision {precision} first "
            "(CVRKD graphs are float32)"
        )
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network, _parser = parse_network(trt, builder, onnx_path)
    log.info(
        "parsed %s: %d layers, output types %s", onnx_path.name, network.num_layers, layer_precisions(trt, network)
    )

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED  # layer names and types for the inspector
    profile = builder.create_optimization_profile()
    for name, by_key in graph.input_shapes.items():
        profile.set_shape(name, by_key["min"], by_key["opt"], by_key["max"])
    config.add_optimization_profile(profile)
    if dla_core is not None:
        if not hasattr(trt, "DeviceType") or not hasattr(trt.DeviceType, "DLA"):
            raise ValueError(f"{trt.__name__} has no DLA support (DLA cores exist on Jetson AGX/NX with TensorRT)")
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = dla_core
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)  # layers DLA cannot run stay on the GPU
    # TensorRT-RTX picks kernels at run time (its timing cache calls are deprecated no-ops).
    cache = _load_timing_cache(config, timing_cache) if timing_cache and trt.__name__ == "tensorrt" else None

    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"{trt.__name__} could not build an engine from {onnx_path} (see its log above)")
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    engine_path.write_bytes(bytes(serialized))
    if cache is not None:
        Path(timing_cache).write_bytes(bytes(cache.serialize()))
    sidecar = EngineSidecar(
        model=graph.model,
        precision=precision,
        builder=trt.__name__,
        tensorrt_version=trt.__version__,
        gpu=_gpu_name(),
        onnx_sha256=hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        input_shapes=graph.input_shapes,
        onnx_metadata=graph.metadata,
        dla_core=dla_core,
    )
    sidecar.write(engine_path)
    return sidecar


def _load_timing_cache(config, path: str | Path):
    """Reuse measured tactic timings across builds (minutes saved on big models and on Jetson)."""
    data = Path(path).read_bytes() if Path(path).is_file() else b""
    cache = config.create_timing_cache(data)
    config.set_timing_cache(cache, ignore_mismatch=False)
    return cache


def _gpu_name() -> str | None:
    """Name of CUDA device 0 via cuda-python, without touching TensorRT; None without a usable GPU."""
    from arniqa_edge.backends import cuda_runtime

    return cuda_runtime.device_name(0)


def _size(text: str) -> tuple[int, int]:
    height, _, width = text.partition("x")
    return (int(height), int(width or height))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m export.trt",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=HelpFormatter,
    )
    add_weights_argument(
        parser,
        "ONNX file from export.onnx / export.quantize, or a CVRKD graph from export.cvrkd",
        positional="ONNX",
        type=Path,
    )
    parser.add_argument(
        "--precision",
        required=True,
        choices=["fp32", "fp16", "int8"],
        help="precision of the ONNX file (checked against its metadata)",
    )
    add_output_argument(parser, "engine file (.engine or .plan)", required=True, type=Path)
    parser.add_argument(
        "--batch",
        type=int,
        nargs=3,
        default=ShapeRange().batch,
        metavar=("MIN", "OPT", "MAX"),
        help="images per call (for a CVRKD score graph: references scored at once)",
    )
    parser.add_argument(
        "--size",
        type=_size,
        nargs=3,
        metavar=("MIN", "OPT", "MAX"),
        help="full-scale HEIGHTxWIDTH range of a dynamic-size encoder (default: "
        f"{' '.join('x'.join(map(str, s)) for s in DEFAULT_SIZE)}); not for CVRKD graphs, "
        "whose crops the network fixes",
    )
    parser.add_argument("--workspace", type=float, default=1.0, help="workspace limit in GiB")
    parser.add_argument(
        "--timing-cache", type=Path, help="timing cache file, read if present and updated (default: none)"
    )
    parser.add_argument(
        "--dla-core", type=int, help="build for this DLA core, with GPU fallback (Jetson) (default: GPU only)"
    )
    parser.add_argument(
        "--module",
        default="auto",
        choices=["auto", *MODULES],
        help="TensorRT Python module; auto: tensorrt if installed, else tensorrt_rtx",
    )
    add_verbosity_arguments(parser)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args)
    try:
        shapes = ShapeRange(tuple(args.batch), tuple(args.size) if args.size else None)
        sidecar = build_engine(
            args.weights,
            args.output,
            args.precision,
            shapes,
            args.workspace,
            args.timing_cache,
            args.dla_core,
            args.module,
        )
    except (ImportError, ValueError, RuntimeError, OSError, ArniqaEdgeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {args.output} and its sidecar ({sidecar.builder} {sidecar.tensorrt_version}, {sidecar.precision}, "
        f"GPU {sidecar.gpu or 'none: built for any RTX GPU'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
