"""Optimization profiles of the graphs `export.trt` builds: a shape range per input name, from the graph's metadata.

- ARNIQA encoders (`python -m export.onnx`): inputs `full` and `half`; the batch and,
  unless exported with --image-size, the full-scale size vary (the half scale is half).
- CVRKD graphs (`python -m export.cvrkd`): `crops` (batch * P, 3, S, S) of the
  maps graph, `lq_maps` and `ref_maps` (batch, channels, grid, grid) of the score
  graph; the network fixes P, S, channels and grid, so only the batch varies (images
  for the maps graph, references scored at once for the score graph).
"""

from __future__ import annotations

from dataclasses import dataclass

import onnx

from arniqa_edge.backends.model_metadata import LEGACY_PREFIXES, PREFIX, ExportedModelInfo, read_fields
from arniqa_edge.cvrkd.graphs import GRAPHS, GraphInfo

KEYS = ("min", "opt", "max")
DEFAULT_SIZE = ((64, 64), (1080, 1920), (2160, 3840))


@dataclass(frozen=True)
class ShapeRange:
    """Asked-for min/opt/max batch and full-scale (height, width); size None: DEFAULT_SIZE for encoders."""

    batch: tuple[int, int, int] = (1, 8, 32)
    size: tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None = None

    def shapes(self, fixed_size: int | None) -> dict[str, dict[str, list[int]]]:
        """Per encoder input: {"min", "opt", "max"} NCHW shapes; the half scale is half the full one."""
        out: dict[str, dict[str, list[int]]] = {"full": {}, "half": {}}
        for key, batch, (height, width) in zip(KEYS, self.batch, self.size or DEFAULT_SIZE):
            if fixed_size:
                height = width = half_height = half_width = fixed_size
            else:
                half_height, half_width = height // 2, width // 2
            out["full"][key] = [batch, 3, height, width]
            out["half"][key] = [batch, 3, half_height, half_width]
        return out


@dataclass(frozen=True)
class GraphProfile:
    """What a build needs to know about its ONNX file, and what its sidecar records."""

    model: str
    precision: str
    #: per input name: {"min", "opt", "max"} shapes of the optimization profile
    input_shapes: dict[str, dict[str, list[int]]]
    #: the graph's own metadata_props (the arniqa.* scheme), copied into the sidecar
    metadata: dict[str, str]


def graph_profile(model: onnx.ModelProto, source: str, shapes: ShapeRange) -> GraphProfile:
    """The profile of an encoder or a CVRKD graph, told apart by the kind their metadata gives."""
    props = {p.key: p.value for p in model.metadata_props}
    ours = {key: value for key, value in props.items() if key.startswith((PREFIX, *LEGACY_PREFIXES))}
    if read_fields(props).get("kind") == "cvrkd":
        return _cvrkd_profile(props, source, shapes, ours)
    info = ExportedModelInfo.from_props(props, source)
    return GraphProfile(info.model, info.precision, shapes.shapes(info.inputs.height), ours)


def _cvrkd_profile(props: dict[str, str], source: str, shapes: ShapeRange, ours: dict[str, str]) -> GraphProfile:
    info = GraphInfo.from_props(props, source)
    config = info.config
    if shapes.size is not None:
        raise ValueError(
            f"{source} is a CVRKD {info.graph} graph: its {config.crops} crops of {config.crop_size} px "
            "are fixed by the network, so --size does not apply (--batch does)"
        )
    if info.graph == "maps":

        def shape(batch: int) -> list[int]:
            return [batch * config.crops, 3, config.crop_size, config.crop_size]
    else:

        def shape(batch: int) -> list[int]:
            return [batch, config.mixer_input_dim, config.grid, config.grid]

    inputs, _ = GRAPHS[info.graph]
    input_shapes = {name: {key: shape(batch) for key, batch in zip(KEYS, shapes.batch)} for name in inputs}
    # The exporter writes float32 graphs only.
    return GraphProfile(f"cvrkd-{info.role}", "fp32", input_shapes, ours)
