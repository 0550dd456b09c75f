"""The two ONNX graphs of a CVRKD network and what their metadata says about them.

`python -m training.cvrkd.export` writes a pair beside each other:

- `<stem>.maps.onnx`: `crops` (N * P, 3, S, S) -> `maps` (N, P * level_channels * L, grid, grid);
- `<stem>.score.onnx`: `lq_maps`, `ref_maps` (N, same) -> `score` (N,) in label units.

Each carries, in its metadata_props, which graph it is, the network's
configuration, its role and the sha256 of the weights file it was exported from.
The runtime reads them back (onnxruntime exposes metadata_props; no onnx package
needed) to refuse a graph of another kind and two graphs of different exports:
mixed, they would run and return plausible but wrong scores.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..backends.model_metadata import PREFIX as NR_PREFIX
from ..errors import WeightsError
from .config import CVRKDConfig
from .weights import ROLES

MAPS_SUFFIX = ".maps.onnx"
SCORE_SUFFIX = ".score.onnx"
#: Graph kind -> (file suffix, input names, output name).
GRAPHS = {
    "maps": (MAPS_SUFFIX, ("crops",), "maps"),
    "score": (SCORE_SUFFIX, ("lq_maps", "ref_maps"), "score"),
}
PREFIX = "cvrkd_"
CONFIG_KEY = PREFIX + "config"


@dataclass(frozen=True)
class GraphInfo:
    graph: str                #: "maps" or "score"
    config: CVRKDConfig
    role: str                 #: "student" or "teacher", as in the weights file
    weights_sha256: str       #: of the .safetensors file the graph was exported from

    def to_props(self) -> dict[str, str]:
        return {CONFIG_KEY: self.config.to_json(), PREFIX + "graph": self.graph, PREFIX + "role": self.role,
                PREFIX + "weights_sha256": self.weights_sha256}

    @classmethod
    def from_props(cls, props: dict[str, str], source: str) -> "GraphInfo":
        if CONFIG_KEY not in props:
            hint = (": it is a no-reference encoder from python -m export.onnx; pass it to --weights without "
                    "--reference" if any(key.startswith(NR_PREFIX) for key in props) else "")
            raise WeightsError(f"{source}: not a CVRKD graph (no {CONFIG_KEY} metadata; the graphs of "
                               f"python -m training.cvrkd.export carry it){hint}")
        try:
            info = cls(graph=props[PREFIX + "graph"], config=CVRKDConfig.from_json(props[CONFIG_KEY]),
                       role=props[PREFIX + "role"], weights_sha256=props[PREFIX + "weights_sha256"])
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"{source}: damaged CVRKD metadata ({exc!r}); re-export it with "
                               "python -m training.cvrkd.export") from None
        if info.graph not in GRAPHS or info.role not in ROLES:
            raise WeightsError(f"{source}: unknown CVRKD graph {info.graph!r} or role {info.role!r}; re-export it")
        return info

    def check_kind(self, graph: str, source: str) -> None:
        if self.graph != graph:
            raise WeightsError(f"{source} is the {self.graph} graph of a CVRKD export, not its {graph} graph; "
                               f"keep the names the exporter gives (<stem>{MAPS_SUFFIX}, <stem>{SCORE_SUFFIX})")

    def check_pair(self, score: "GraphInfo", maps_source: str, score_source: str) -> None:
        """Raise WeightsError unless `self` (the maps graph) and `score` come from one export."""
        if (self.config, self.role, self.weights_sha256) != (score.config, score.role, score.weights_sha256):
            raise WeightsError(f"{maps_source} and {score_source} do not belong together (exported from different "
                               "weights or configurations); export both again from one .safetensors with "
                               "python -m training.cvrkd.export")
