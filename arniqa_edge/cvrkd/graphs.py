"""The two exported graphs of a CVRKD network and what their metadata says about them.

`python -m export.cvrkd` writes a pair beside each other:

- `<stem>.maps.onnx`: `crops` (N * P, 3, S, S) -> `maps` (N, P * level_channels * L, grid, grid);
- `<stem>.score.onnx`: `lq_maps`, `ref_maps` (N, same) -> `score` (N,) in label units.

`python -m export.trt` builds each into an engine of the same stem
(`<stem>.maps.engine`, `<stem>.score.engine`). Each graph carries, in the one
metadata scheme of every export (`backends.model_metadata`, kind "cvrkd"), which
graph it is, the network's configuration, its role and the sha256 of the weights
file it was exported from. The runtime reads them back to refuse a graph of
another kind and two graphs of different exports: mixed, they would run and
return plausible but wrong scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..backends.model_metadata import export_fields, export_props
from ..errors import WeightsError
from .config import CVRKDConfig
from .weights import ROLES

#: Graph kind -> (input names, output name).
GRAPHS = {
    "maps": (("crops",), "maps"),
    "score": (("lq_maps", "ref_maps"), "score"),
}
#: File suffixes of the two graphs, by the form they take: ONNX (onnxruntime) or engine (TensorRT).
SUFFIXES = {
    "onnx": {"maps": ".maps.onnx", "score": ".score.onnx"},
    "engine": {"maps": ".maps.engine", "score": ".score.engine"},
}
MAPS_SUFFIX, SCORE_SUFFIX = SUFFIXES["onnx"]["maps"], SUFFIXES["onnx"]["score"]


@dataclass(frozen=True)
class GraphInfo:
    graph: str  #: "maps" or "score"
    config: CVRKDConfig
    role: str  #: "student" or "teacher", as in the weights file
    weights_sha256: str  #: of the .safetensors file the graph was exported from

    def to_props(self) -> dict[str, str]:
        # The exporter writes float32 graphs only.
        return export_props(
            "cvrkd",
            {
                "graph": self.graph,
                "config": self.config.to_json(),
                "role": self.role,
                "weights_sha256": self.weights_sha256,
                "precision": "fp32",
            },
        )

    @classmethod
    def from_props(cls, props: dict[str, str], source: str) -> GraphInfo:
        fields = export_fields(props, source, "cvrkd")
        try:
            info = cls(
                graph=fields["graph"],
                config=CVRKDConfig.from_json(fields["config"]),
                role=fields["role"],
                weights_sha256=fields["weights_sha256"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(
                f"{source}: damaged CVRKD metadata ({exc!r}); re-export it with python -m export.cvrkd"
            ) from None
        if info.graph not in GRAPHS or info.role not in ROLES:
            raise WeightsError(f"{source}: unknown CVRKD graph {info.graph!r} or role {info.role!r}; re-export it")
        return info

    def check_kind(self, graph: str, source: str) -> None:
        if self.graph != graph:
            raise WeightsError(
                f"{source} is the {self.graph} graph of a CVRKD export, not its {graph} graph; "
                f"keep the names the exporter gives (<stem>{MAPS_SUFFIX}, <stem>{SCORE_SUFFIX})"
            )

    def check_pair(self, score: GraphInfo, maps_source: str, score_source: str) -> None:
        """Raise WeightsError unless `self` (the maps graph) and `score` come from one export."""
        if (self.config, self.role, self.weights_sha256) != (score.config, score.role, score.weights_sha256):
            raise WeightsError(
                f"{maps_source} and {score_source} do not belong together (exported from different "
                "weights or configurations); export both again from one .safetensors with "
                "python -m export.cvrkd"
            )


def graph_pair(path: str | Path) -> dict[str, Path]:
    """{"maps": path, "score": path} of the pair `path` (either graph, ONNX or engine) belongs to.

    WeightsError when its partner is missing: the exporter writes both, and both are needed.
    """
    path = Path(path)
    for suffixes in SUFFIXES.values():
        for suffix in suffixes.values():
            if path.name.endswith(suffix):
                stem = path.name[: -len(suffix)]
                pair = {graph: path.with_name(stem + other) for graph, other in suffixes.items()}
                for partner in pair.values():
                    if not partner.is_file():
                        raise WeightsError(
                            f"{partner} is missing: the graphs of a CVRKD export come in pairs, "
                            f"<stem>{suffixes['maps']} and <stem>{suffixes['score']} (python -m "
                            "export.cvrkd writes both; python -m export.trt builds each), and both "
                            "are needed"
                        )
                return pair
    raise WeightsError(
        f"{path} is not a CVRKD graph: expected <stem>.maps.onnx/.score.onnx (onnxruntime) or "
        "<stem>.maps.engine/.score.engine (TensorRT)"
    )
