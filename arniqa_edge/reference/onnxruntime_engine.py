"""The onnxruntime engine of `ReferenceScorer`: the two exported CVRKD graphs, no torch needed.

Both graphs are opened on the CPU first and their metadata checked (each is the
graph its name says, both come from one export) before any GPU session is made;
providers and session options are those of the no-reference onnxruntime backend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..backends.onnxruntime_backend import load_session, select_providers, session_options
from .engine import ReferenceEngine
from .onnx_graphs import GRAPHS, GraphInfo


def read_graph_info(path: Path, graph: str, session=None) -> GraphInfo:
    """The checked metadata of the `graph` ("maps" or "score") file at `path`."""
    session = session if session is not None else load_session(path, session_options())
    info = GraphInfo.from_props(session.get_modelmeta().custom_metadata_map, str(path))
    info.check_kind(graph, str(path))
    return info


class OnnxRuntimeEngine(ReferenceEngine):
    name = "onnxruntime"

    def __init__(self, maps_path: Path, score_path: Path, device: str = "auto", num_threads: int = 0):
        options = session_options(num_threads)
        paths = {"maps": Path(maps_path), "score": Path(score_path)}
        probes = {graph: load_session(path, options) for graph, path in paths.items()}
        infos = {graph: read_graph_info(paths[graph], graph, probes[graph]) for graph in paths}
        infos["maps"].check_pair(infos["score"], str(paths["maps"]), str(paths["score"]))
        # The exporter writes float32 graphs only.
        providers, self._device = select_providers(device, "fp32", paths["maps"].parent)
        self.sessions = probes if self._device == "cpu" else {
            graph: load_session(path, options, providers) for graph, path in paths.items()}
        self.paths = paths
        self.config = infos["maps"].config
        self.role = infos["maps"].role
        self.weights_sha256 = infos["maps"].weights_sha256

    @property
    def device(self) -> str:
        return self._device

    def describe(self) -> str:
        return f"onnxruntime on {self._device} ({self.sessions['maps'].get_providers()[0]})"

    def level_maps(self, crops: np.ndarray) -> np.ndarray:
        # The graph takes the crops of all images flat, each image's P crops consecutive.
        flat = np.ascontiguousarray(crops.reshape(-1, *crops.shape[2:]), dtype=np.float32)
        (_, input_names, output), session = GRAPHS["maps"], self.sessions["maps"]
        return session.run([output], {input_names[0]: flat})[0]

    def score_maps(self, lq_maps: np.ndarray, ref_maps: np.ndarray) -> np.ndarray:
        lq_maps = np.ascontiguousarray(np.broadcast_to(lq_maps, ref_maps.shape))
        (_, (lq_name, ref_name), output), session = GRAPHS["score"], self.sessions["score"]
        return session.run([output], {lq_name: lq_maps, ref_name: ref_maps})[0]
