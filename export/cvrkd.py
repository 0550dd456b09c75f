"""Export a CVRKD network to ONNX as two graphs, the split that lets references be encoded once.

    python -m export.cvrkd --weights runs/cvrkd/student/model.safetensors -o runs/cvrkd/onnx

- `<stem>.maps.onnx`: `crops` (N * P, 3, S, S) normalised grid crops, the P crops of
  each image consecutive -> `maps` (N, P * level_channels * L, grid, grid): the
  backbone and level projections. (Flat crops: after a reshape inside the graph the
  TorchScript exporter loses S x S, which adaptive pooling needs.)
- `<stem>.score.onnx`: `lq_maps`, `ref_maps` (N, same) -> `score` (N,) in label units.

On a camera, the golden frames go through the first graph once; each new frame
through the first graph, then the second against every stored reference (the
scores are averaged, as `arniqa_edge.cvrkd.ReferenceScorer` does). The batch is
dynamic; P and S are fixed by the network's configuration. Both graphs' metadata
(the one scheme of every export, kind "cvrkd": `arniqa_edge.cvrkd.graphs`) names
the graph, holds the configuration's JSON and role, and the sha256 of the
weights file, so the runtime can tell that two graphs belong together and that
they were exported from the weights beside them. Exported with the
TorchScript-based exporter at opset 18, as `export.onnx` exports the NR encoders.

`ReferenceScorer("<stem>.maps.onnx")` scores with them without torch;
`python -m export.trt --weights <stem>.maps.onnx --precision fp32 -o <stem>.maps.engine` (and the same for
the score graph) builds the TensorRT engines, which `ReferenceScorer` runs as well.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from arniqa_edge.backends.files import file_sha256
from arniqa_edge.cli_conventions import (
    HelpFormatter,
    add_output_argument,
    add_verbosity_arguments,
    add_weights_argument,
    configure_logging,
)
from arniqa_edge.cvrkd.graphs import MAPS_SUFFIX, SCORE_SUFFIX, GraphInfo
from arniqa_edge.cvrkd.weights import load_cvrkd
from arniqa_edge.errors import ArniqaEdgeError

OPSET = 18


class _LevelMaps(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return self.net.stacked_maps(crops)


class _Score(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, lq_maps: torch.Tensor, ref_maps: torch.Tensor) -> torch.Tensor:
        return self.net.score_maps(lq_maps, ref_maps).score


def export_cvrkd_onnx(weights: str | Path, out_dir: str | Path) -> tuple[Path, Path]:
    """Write the maps and score graphs of a CVRKD weights file; returns their paths."""
    import onnx

    net, metadata = load_cvrkd(weights)
    config = net.config
    _check_pooling_exports(net)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(weights).stem
    weights_sha256 = file_sha256(Path(weights))
    crops = torch.randn(2 * config.crops, 3, config.crop_size, config.crop_size)
    with torch.no_grad():
        maps = net.stacked_maps(crops)
    graphs = {
        out_dir / f"{stem}{MAPS_SUFFIX}": ("maps", _LevelMaps(net), (crops,), ["crops"], ["maps"]),
        out_dir / f"{stem}{SCORE_SUFFIX}": (
            "score",
            _Score(net),
            (maps, maps.flip(0)),
            ["lq_maps", "ref_maps"],
            ["score"],
        ),
    }
    for path, (graph, module, example, inputs, outputs) in graphs.items():
        axes = {name: {0: "batch"} for name in inputs + outputs}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the exporter's own deprecation notice
            torch.onnx.export(
                module.eval(),
                example,
                str(path),
                dynamo=False,
                opset_version=OPSET,
                input_names=inputs,
                output_names=outputs,
                dynamic_axes=axes,
                do_constant_folding=True,
            )
        model = onnx.load(str(path))
        onnx.helper.set_model_props(model, GraphInfo(graph, config, metadata["role"], weights_sha256).to_props())
        onnx.checker.check_model(model, full_check=True)
        onnx.save(model, str(path))
    maps_path, score_path = graphs
    return maps_path, score_path


def _check_pooling_exports(net) -> None:
    """The exporter writes adaptive pooling as AveragePool, so each level must be a multiple of the grid."""
    config = net.config
    with torch.no_grad():
        sizes = [level.shape[-1] for level in net.backbone(torch.zeros(1, 3, config.crop_size, config.crop_size))]
    if any(size % config.grid for size in sizes):
        raise ValueError(
            f"cannot export: at crop size {config.crop_size} the backbone levels are {sizes} px, "
            f"not all multiples of the {config.grid} x {config.grid} grid (224 px crops are)"
        )


def onnx_score(
    maps_path: str | Path, score_path: str | Path, lq_crops: np.ndarray, ref_crops: np.ndarray
) -> np.ndarray:
    """Scores of (N, P, 3, S, S) LQ crops against as many reference crops, with the runtime's onnxruntime engine
    (which pairs the graphs by their stem, as the exporter names them)."""
    from arniqa_edge.cvrkd.graph_engine import open_onnxruntime_graphs
    from arniqa_edge.cvrkd.graphs import graph_pair

    if graph_pair(maps_path)["score"] != Path(score_path):
        raise ValueError(f"{score_path} is not the score graph beside {maps_path}")
    engine = open_onnxruntime_graphs(Path(maps_path), device="cpu")
    return engine.score_maps(engine.level_maps(lq_crops), engine.level_maps(ref_crops))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m export.cvrkd",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=HelpFormatter,
    )
    add_weights_argument(parser, "CVRKD .safetensors", positional="WEIGHTS", type=Path)
    add_output_argument(parser, "output folder", required=True, aliases=("--out",), dest="out", type=Path)
    add_verbosity_arguments(parser, default="warning")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args)
    try:
        paths = export_cvrkd_onnx(args.weights, args.out)
    except (ArniqaEdgeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
