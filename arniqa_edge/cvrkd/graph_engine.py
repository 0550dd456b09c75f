"""CVRKD on exported graphs: the maps and score graphs run by onnxruntime or by TensorRT, no torch needed.

Both graphs are read and checked before anything runs on a GPU: each is the graph
its name says, and both come from one export (`graphs.GraphInfo`). A runtime only
has to run one graph on named host arrays; `GraphEngine` does the rest, for both:
the crops of all images go flat through the maps graph, the image's maps are
broadcast against every reference's through the score graph, in chunks of what
the graph takes at once (a TensorRT profile's largest batch).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from ..backends.devices import device_index
from ..backends.onnx_props import read_onnx_metadata
from .engine import CVRKDEngine
from .graphs import GRAPHS, GraphInfo, graph_pair


class Graph(Protocol):
    def run_arrays(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """The graph's one output for host float32 inputs."""

    def max_batch(self, name: str) -> int | None:
        """The largest first dimension input `name` takes at once (None: any)."""


class GraphEngine(CVRKDEngine):
    def __init__(self, name: str, graphs: dict[str, Graph], info: GraphInfo, device: str, detail: str = ""):
        self.name, self.graphs, self.device_name, self.detail = name, graphs, device, detail
        self.config, self.role, self.weights_sha256 = info.config, info.role, info.weights_sha256

    @property
    def device(self) -> str:
        return self.device_name

    def describe(self) -> str:
        return f"{self.name} on {self.device}" + (f" ({self.detail})" if self.detail else "")

    def level_maps(self, crops: np.ndarray) -> np.ndarray:
        # The graph takes the crops of all images flat, each image's P crops consecutive.
        (name,), _ = GRAPHS["maps"]
        flat = crops.reshape(-1, *crops.shape[2:])
        return self._chunked("maps", lambda rows: {name: flat[rows]}, crops.shape[0], crops.shape[1])

    def score_maps(self, lq_maps: np.ndarray, ref_maps: np.ndarray) -> np.ndarray:
        (lq_name, ref_name), _ = GRAPHS["score"]
        lq_maps = np.broadcast_to(lq_maps, ref_maps.shape)
        return self._chunked(
            "score", lambda rows: {lq_name: lq_maps[rows], ref_name: ref_maps[rows]}, ref_maps.shape[0], 1
        )

    def _chunked(self, graph: str, inputs: Callable[[slice], dict], count: int, rows_per_item: int) -> np.ndarray:
        """Run `graph` on `count` items (of `rows_per_item` input rows each), as many at once as it takes."""
        (first, *_), _ = GRAPHS[graph]
        limit = self.graphs[graph].max_batch(first)
        step = count if limit is None else max(1, limit // rows_per_item)
        parts = [
            self.graphs[graph].run_arrays(inputs(slice(start * rows_per_item, (start + step) * rows_per_item)))
            for start in range(0, count, step)
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _checked_pair(path: Path, read_props: Callable[[Path], dict]) -> tuple[dict[str, Path], GraphInfo]:
    pair = graph_pair(path)
    infos = {}
    for graph, file in pair.items():
        infos[graph] = GraphInfo.from_props(read_props(file), str(file))
        infos[graph].check_kind(graph, str(file))
    infos["maps"].check_pair(infos["score"], str(pair["maps"]), str(pair["score"]))
    return pair, infos["maps"]


class _OnnxRuntimeGraph:
    def __init__(self, path: Path, graph: str, device: str, num_threads: int):
        from ..backends.onnxruntime_session import OnnxRuntimeGraph

        self.runner = OnnxRuntimeGraph(path, device, num_threads)
        self.output = GRAPHS[graph][1]

    def run_arrays(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return self.runner.run(inputs, [self.output])[0]

    def max_batch(self, name: str) -> None:
        return None


def open_onnxruntime_graphs(path: Path, device: str = "auto", num_threads: int = 0) -> GraphEngine:
    """The onnxruntime engine of the graph pair `path` belongs to."""
    pair, info = _checked_pair(path, read_onnx_metadata)
    graphs = {graph: _OnnxRuntimeGraph(file, graph, device, num_threads) for graph, file in pair.items()}
    runner = graphs["maps"].runner
    return GraphEngine("onnxruntime", graphs, info, runner.device, runner.provider)


class _TensorRTGraph:
    def __init__(self, path: Path, graph: str, index: int, info: GraphInfo):
        from ..backends.tensorrt_graph import TensorRTGraph

        def check(sidecar) -> None:  # the engine's ONNX must be this graph of this export
            built = GraphInfo.from_props(sidecar.onnx_metadata, str(path))
            built.check_kind(graph, str(path))
            built.check_pair(info, str(path), str(path))

        self.runner = TensorRTGraph(path, index, check)
        self.output = GRAPHS[graph][1]

    def run_arrays(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return self.runner.run_host(inputs)[self.output]

    def max_batch(self, name: str) -> int:
        return self.runner.max_batch(name)


def open_tensorrt_graphs(path: Path, device: str = "auto", num_threads: int = 0) -> GraphEngine:
    """The TensorRT engine of the engine pair `path` belongs to (their sidecars hold the graphs' metadata)."""
    from ..backends.engine_sidecar import EngineSidecar
    from ..backends.tensorrt_backend import tensorrt_installed_or_raise

    tensorrt_installed_or_raise(device)
    pair, info = _checked_pair(path, lambda file: EngineSidecar.read(file).onnx_metadata)
    index = device_index(device)
    graphs = {graph: _TensorRTGraph(file, graph, index, info) for graph, file in pair.items()}
    sidecar = graphs["maps"].runner.sidecar
    return GraphEngine("tensorrt", graphs, info, f"cuda:{index}", f"{sidecar.builder} {sidecar.tensorrt_version}")
