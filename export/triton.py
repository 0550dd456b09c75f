"""Write a Triton Inference Server model repository for an exported model or a built engine.

    python -m export.triton --weights lite0-score.onnx -o triton_models --name arniqa_lite0
    python -m export.triton --weights lite0-int8.engine -o triton_models --name arniqa_lite0_trt

Layout: <repository>/<name>/config.pbtxt and <repository>/<name>/<version>/model.onnx
(or model.plan). Inputs, outputs and shapes come from the file's arniqa metadata
(an engine's from its sidecar); dynamic batching groups single-frame requests
from many cameras into the batches the model was built for.

Clients send the preprocessed `full` and `half` tensors (arniqa_edge.preprocess),
so the server runs exactly the graph the runtime runs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import onnx

from arniqa_edge.backends.engine_sidecar import EngineSidecar
from arniqa_edge.backends.model_metadata import ExportedModelInfo
from arniqa_edge.cli_conventions import (
    HelpFormatter,
    add_output_argument,
    add_verbosity_arguments,
    add_weights_argument,
    configure_logging,
)
from arniqa_edge.errors import ArniqaEdgeError

from .metadata import read_info

PLATFORMS = {
    ".onnx": ("onnxruntime_onnx", "model.onnx"),
    ".engine": ("tensorrt_plan", "model.plan"),
    ".plan": ("tensorrt_plan", "model.plan"),
}


def model_info(path: Path) -> ExportedModelInfo:
    if path.suffix == ".onnx":
        return read_info(onnx.load(str(path), load_external_data=False), str(path))
    return EngineSidecar.read(path).exported_info(str(path))


def config_pbtxt(
    name: str,
    platform: str,
    info: ExportedModelInfo,
    max_batch_size: int,
    preferred_batch_sizes: list[int],
    max_queue_delay_us: int,
    instances: int,
    kind: str,
) -> str:
    """config.pbtxt text; dims exclude the batch dimension (Triton adds it with max_batch_size > 0)."""
    spatial = [info.inputs.height, info.inputs.width] if not info.inputs.dynamic_size else [-1, -1]
    output_dims = {"features": [2 * info.feature_dim], "score": [1]}

    def tensor(name: str, dims: list[int]) -> str:
        return f'  {{\n    name: "{name}"\n    data_type: TYPE_FP32\n    dims: [ {", ".join(map(str, dims))} ]\n  }}'

    inputs = ",\n".join(tensor(n, [3, *spatial]) for n in ("full", "half"))
    outputs = ",\n".join(tensor(n, output_dims[n]) for n in info.outputs)
    preferred = ", ".join(str(b) for b in preferred_batch_sizes if b <= max_batch_size)
    return (
        f'name: "{name}"\n'
        f'platform: "{platform}"\n'
        f"max_batch_size: {max_batch_size}\n"
        f"input [\n{inputs}\n]\n"
        f"output [\n{outputs}\n]\n"
        "dynamic_batching {\n"
        + (f"  preferred_batch_size: [ {preferred} ]\n" if preferred else "")
        + f"  max_queue_delay_microseconds: {max_queue_delay_us}\n"
        "}\n"
        f"instance_group [\n  {{\n    count: {instances}\n    kind: {kind}\n  }}\n]\n"
        "parameters {\n"
        f'  key: "arniqa_model"\n  value: {{ string_value: "{info.model}" }}\n'
        "}\n"
    )


def write_repository(
    model: str | Path,
    repository: str | Path,
    name: str,
    version: int = 1,
    max_batch_size: int = 32,
    preferred_batch_sizes: tuple[int, ...] = (8, 16, 32),
    max_queue_delay_us: int = 2000,
    instances: int = 1,
    kind: str = "KIND_GPU",
) -> Path:
    """Copy `model` into a versioned folder and write config.pbtxt beside it; returns the config path."""
    model = Path(model)
    if model.suffix not in PLATFORMS:
        raise ValueError(f"{model}: Triton serves .onnx, .engine or .plan files here")
    platform, file_name = PLATFORMS[model.suffix]
    info = model_info(model)
    folder = Path(repository) / name
    (folder / str(version)).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model, folder / str(version) / file_name)
    config = folder / "config.pbtxt"
    config.write_text(
        config_pbtxt(
            name, platform, info, max_batch_size, list(preferred_batch_sizes), max_queue_delay_us, instances, kind
        ),
        encoding="utf-8",
    )
    return config


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m export.triton",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=HelpFormatter,
    )
    add_weights_argument(
        parser, ".onnx from export.onnx/quantize, or an engine from export.trt", positional="MODEL", type=Path
    )
    add_output_argument(
        parser, "model repository folder (created if missing)", required=True, aliases=("--repository",), type=Path
    )
    parser.add_argument("--name", required=True, help="model name in the repository")
    parser.add_argument("--version", type=int, default=1, help="model version: the subfolder the file goes to")
    parser.add_argument("--max-batch-size", type=int, default=32, help="largest batch Triton forms")
    parser.add_argument(
        "--preferred-batch-sizes",
        type=int,
        nargs="+",
        default=[8, 16, 32],
        help="batch sizes dynamic batching aims for",
    )
    parser.add_argument(
        "--max-queue-delay-us",
        type=int,
        default=2000,
        help="how long a request may wait for others to batch with, in microseconds",
    )
    parser.add_argument("--instances", type=int, default=1, help="model instances per device")
    parser.add_argument("--kind", default="KIND_GPU", choices=["KIND_GPU", "KIND_CPU"], help="where instances run")
    add_verbosity_arguments(parser, default="warning")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args)
    try:
        config = write_repository(
            args.weights,
            args.output,
            args.name,
            args.version,
            args.max_batch_size,
            tuple(args.preferred_batch_sizes),
            args.max_queue_delay_us,
            args.instances,
            args.kind,
        )
    except (ArniqaEdgeError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {config} and {config.parent / str(args.version)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
