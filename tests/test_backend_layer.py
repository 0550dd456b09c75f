"""The backend layer of both scorers: the registry, the selection policy, and the input path backends own.

No model is needed: stand-in backends run the real preprocessing and batching.
"""

import dataclasses
import logging

import numpy as np
import pytest

from arniqa_edge.backends import Backend, create_backend, register_backend, registry, unregister_backend
from arniqa_edge.backends.cuda_inputs import CudaInputs
from arniqa_edge.backends.inputs import HostInputs
from arniqa_edge.models import get_model_config
from arniqa_edge.preprocess import PreprocessSpec, output_shapes, preprocess

LITE0 = get_model_config("arniqa-lite0")


class MeanBackend(Backend):
    """A CPU backend whose features are each view's mean input value: real inputs, no model."""

    name = "mean"
    device = "cpu"
    feature_dim = 1280

    def __init__(self, config=LITE0, path=None, device="cpu", num_threads=0):
        self.path = path

    def _run(self, full, half):
        means = np.concatenate(
            [
                full.reshape(full.shape[0], -1).mean(1, keepdims=True),
                half.reshape(half.shape[0], -1).mean(1, keepdims=True),
            ],
            axis=1,
        )
        return np.repeat(means, self.feature_dim, axis=1).astype(np.float32)


def frames(count, height=120, width=160, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count)]


@pytest.fixture
def fake_backend():
    """A backend registered in one call, for encoders and for CVRKD models."""
    entry = register_backend("fake", (".fake",), ("cpu",), lambda device: True, MeanBackend)
    yield entry
    unregister_backend("fake")


# -- the registry and the selection policy ---------------------------------------------------------


def test_registering_a_backend_is_one_call_and_auto_finds_it(fake_backend, tmp_path, caplog):
    from arniqa_edge import Scorer
    from arniqa_edge.regressor import LinearRegressor, ScoreScale

    (tmp_path / "model.fake").write_bytes(b"weights")
    with caplog.at_level(logging.INFO, logger="arniqa_edge.backends"):
        # Named by its weights, which are not here: "auto" finds the form lying beside them under the stem.
        backend = create_backend("auto", LITE0, tmp_path / "model.safetensors", device="cpu")
    assert isinstance(backend, MeanBackend) and backend.path == tmp_path / "model.fake"
    assert "no-reference encoder backend auto: using mean on cpu; file model.fake, fp32" in caplog.text
    assert create_backend("fake", LITE0, tmp_path / "model.fake").path == tmp_path / "model.fake"
    assert registry.backend_names()[-1] == "fake"

    # The whole scorer runs on it: images are prepared by the backend and run in its batches.
    regressor = tmp_path / "r.safetensors"
    LinearRegressor(np.full(2560, 1e-3), 3.0, ScoreScale(0, 6), {"model": "arniqa-lite0"}).save(regressor)
    scorer = Scorer(weights=tmp_path / "model.fake", regressor=regressor, device="cpu")
    assert scorer.backend.name == "mean" and 0 < scorer.score(frames(1)[0]) < 1


def test_both_scorers_share_one_order_and_one_policy(fake_backend, tmp_path):
    from arniqa_edge.cvrkd.engine import open_engine

    order = [(entry.name, device) for entry, device in registry.auto_order("encoder") if entry.name != "fake"]
    assert (
        order
        == [(entry.name, device) for entry, device in registry.auto_order("cvrkd")]
        == [("tensorrt", "cuda"), ("onnxruntime", "cuda"), ("torch", "cuda"), ("onnxruntime", "cpu"), ("torch", "cpu")]
    )

    class FakeEngine:
        name, device, precision = "fake", "cpu", "fp32"

        def __init__(self, path, device, num_threads):
            self.path = path

        def describe(self):
            return "fake engine"

    register_backend("fake", (".maps.fake",), ("cpu",), lambda device: True, FakeEngine, kind="cvrkd")
    try:
        (tmp_path / "student.maps.fake").write_bytes(b"graph")
        assert open_engine(tmp_path / "student.safetensors").path == tmp_path / "student.maps.fake"
    finally:
        unregister_backend("fake", kind="cvrkd")


def test_probes_skip_what_cannot_run_here(tmp_path, monkeypatch):
    """ "auto" asks each backend whether it runs on the device before it opens a file."""
    opened = []
    for name in ("onnxruntime", "torch"):
        entry = registry.get_entry("encoder", name)
        monkeypatch.setitem(
            registry._ENTRIES,
            ("encoder", name),
            dataclasses.replace(
                entry,
                probe=lambda device, name=name: name == "torch",
                factory=lambda *args, name=name, **kwargs: opened.append(name) or MeanBackend(),
            ),
        )
    for suffix in (".onnx", ".safetensors"):
        (tmp_path / f"m{suffix}").write_bytes(b"x")
    create_backend("auto", LITE0, tmp_path / "m.onnx", device="cpu")
    assert opened == ["torch"]  # onnxruntime ranks first on a CPU, but "is not installed"


def test_nothing_that_runs_is_a_clear_error(tmp_path):
    from arniqa_edge.errors import BackendUnavailableError, WeightsError

    with pytest.raises(WeightsError, match="no-reference encoder not found: .*nope.onnx"):
        create_backend("auto", LITE0, tmp_path / "nope.onnx", device="cpu")
    with pytest.raises(BackendUnavailableError, match="unknown backend 'openvino' for a no-reference encoder"):
        create_backend("openvino", LITE0, tmp_path / "nope.onnx")
    with pytest.raises(BackendUnavailableError, match="unknown device 'gpu'"):
        create_backend("auto", LITE0, tmp_path / "nope.onnx", device="gpu")


def _identity_model(**kwargs):
    """A one-node ONNX model (y = x), for tests of what files and their metadata say."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    return helper.make_model(graph, **kwargs)


def _export_stub(path, precision="fp32", target="any"):
    """A tiny ONNX file that says it is a lite0 export of this precision and INT8 target (None: not recorded)."""
    onnx = pytest.importorskip("onnx")
    from onnx import helper

    from arniqa_edge.backends.model_metadata import ExportedModelInfo, InputSpec

    model = _identity_model()
    info = ExportedModelInfo("arniqa-lite0", 1280, ("features",), InputSpec.for_model(LITE0), precision)
    props = info.to_props() | {"arniqa.target": target}
    helper.set_model_props(model, {key: value for key, value in props.items() if value is not None})
    onnx.save(model, str(path))


def test_auto_on_a_cpu_never_picks_a_gpu_precision_whatever_file_is_named(tmp_path):
    """onnxruntime's pick on a CPU: `<stem>.int8.onnx` only when made for the CPU, else `<stem>.onnx`, never FP16
    or TensorRT's INT8 layout (3-5x slower there), even when that is the file named; None when only those lie
    there (the next backend, torch, runs then). On a GPU the file named runs."""
    from arniqa_edge.backends.files import name_model
    from arniqa_edge.backends.selection import best_file

    entry = registry.get_entry("encoder", "onnxruntime")
    names = ("lite0", "lite0.safetensors", "lite0.onnx", "lite0.fp16.onnx", "lite0.int8.onnx")

    def picks(device="cpu"):
        return {best_file(entry, name_model(tmp_path / name, registry.suffixes("encoder")), device) for name in names}

    _export_stub(tmp_path / "lite0.fp16.onnx", "fp16")
    _export_stub(tmp_path / "lite0.int8.onnx", "int8", "tensorrt")
    assert picks() == {None}
    _export_stub(tmp_path / "lite0.onnx")
    assert picks() == {tmp_path / "lite0.onnx"}
    assert (
        best_file(entry, name_model(tmp_path / "lite0.int8.onnx", registry.suffixes("encoder")), "cuda").name
        == "lite0.int8.onnx"
    )
    _export_stub(tmp_path / "lite0.int8.onnx", "int8", None)  # from before targets were recorded: TensorRT's layout
    assert picks() == {tmp_path / "lite0.onnx"}
    _export_stub(tmp_path / "lite0.int8.onnx", "int8", "cpu")
    assert picks() == {tmp_path / "lite0.int8.onnx"}


def test_the_stem_of_a_model_is_shared_by_its_forms(tmp_path):
    from arniqa_edge.backends.files import name_model

    suffixes = registry.suffixes("encoder")
    for name in ("lite0.safetensors", "lite0.onnx", "lite0.int8.onnx", "lite0.fp16.onnx", "lite0.engine"):
        named = name_model(tmp_path / name, suffixes)
        assert named.stem == tmp_path / "lite0" and named.file == tmp_path / name
    assert name_model(tmp_path / "lite0", suffixes).file is None
    assert name_model(tmp_path / "student-v1.2.maps.onnx", registry.suffixes("cvrkd")).stem == tmp_path / "student-v1.2"


# -- the input path: backends prepare their own inputs -----------------------------------------------


@pytest.mark.parametrize("spec", [PreprocessSpec(), PreprocessSpec(crop="five", crop_size=32, channels="rgb")])
def test_cpu_prepare_is_the_preprocessing_written_into_rows_of_one_batch(spec):
    backend = MeanBackend()
    backend.inputs = HostInputs()
    images = frames(3)
    images[1] = np.ascontiguousarray(frames(1, 240, 320, seed=1)[0][:120, :160])  # a crop view's pixels
    batch = backend.new_batch(3, *output_shapes(120, 160, spec))
    for frame in images:
        backend.prepare(frame, spec, batch)
    assert batch.is_full and batch.count == 3
    full, half = batch.filled()
    expected = [preprocess(frame, spec) for frame in images]
    np.testing.assert_array_equal(full, np.concatenate([e[0] for e in expected]))
    np.testing.assert_array_equal(half, np.concatenate([e[1] for e in expected]))
    assert backend.run(batch).shape == (3 * spec.num_crops, 2560)

    # Its buffers are reused by the next batch of the same size.
    again = backend.new_batch(2, *output_shapes(120, 160, spec))
    assert again.full is full.base or again.full is batch.full
    with pytest.raises(ValueError, match="holds its 2 frames"):
        for frame in images:
            backend.prepare(frame, spec, again)


class HostTwinInputs(CudaInputs):
    """The CUDA input path with host memory and the C++ op: staging ring, events and slices, on the CPU."""

    stream = 7

    def __init__(self):
        super().__init__()
        self.staged, self.waits, self.allocations = [], 0, 0

    def kernel(self, frame, full, half, spec, stream):
        assert stream == 7
        self.staged.append(frame)
        preprocess(frame, spec, full, half)

    def empty(self, shape):
        return np.empty(shape, np.float32)

    def upload(self, full, half):
        return full.copy(), half.copy()

    def synchronize(self):
        pass

    def _pinned(self, nbytes):
        self.allocations += 1
        return np.empty(nbytes, np.uint8)

    def _event(self):
        return {"recorded": 0}

    def _record(self, event):
        event["recorded"] += 1

    def _wait(self, event):
        assert event["recorded"], "waited for an event never recorded"
        self.waits += 1


def test_the_cuda_input_path_through_its_cpu_twin():
    backend = MeanBackend()
    backend.inputs = twin = HostTwinInputs()
    spec = PreprocessSpec()
    images = frames(5)
    images[2] = frames(1, 240, 320, seed=2)[0][60:180, 80:240]  # strided: staged packed
    batch = backend.new_batch(5, *output_shapes(120, 160, spec))
    for frame in images:
        backend.prepare(frame, spec, batch)
    full, half = batch.filled()
    expected = [preprocess(np.ascontiguousarray(frame), spec) for frame in images]
    np.testing.assert_array_equal(full, np.concatenate([e[0] for e in expected]))
    np.testing.assert_array_equal(half, np.concatenate([e[1] for e in expected]))
    # Every host frame went through a staging buffer; the three buffers were each waited for before reuse.
    assert all(staged is not frame for staged, frame in zip(twin.staged, images))
    assert twin.allocations == CudaInputs.STAGING_BUFFERS and twin.waits == 5 - CudaInputs.STAGING_BUFFERS


def test_onnx_metadata_is_read_without_onnx(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import helper

    from arniqa_edge.backends.onnx_props import read_onnx_metadata
    from arniqa_edge.errors import WeightsError

    model = _identity_model(doc_string="d" * 1000)
    helper.set_model_props(model, {"arniqa.kind": "encoder", "note": "ünïcode"})
    onnx.save(model, str(tmp_path / "m.onnx"))
    assert read_onnx_metadata(tmp_path / "m.onnx") == {"arniqa.kind": "encoder", "note": "ünïcode"}
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(WeightsError, match="not an ONNX file"):
        read_onnx_metadata(tmp_path / "empty.onnx")


def test_one_metadata_scheme_reads_the_cvrkd_graphs_of_before():
    from arniqa_edge.cvrkd.config import CVRKDConfig
    from arniqa_edge.cvrkd.graphs import GraphInfo

    info = GraphInfo("maps", CVRKDConfig(crops=2), "student", "ab" * 32)
    assert GraphInfo.from_props(info.to_props(), "new.maps.onnx") == info
    legacy = {
        "cvrkd_config": info.config.to_json(),
        "cvrkd_graph": "maps",
        "cvrkd_role": "student",
        "cvrkd_weights_sha256": "ab" * 32,
    }  # exported before the scheme was one
    assert GraphInfo.from_props(legacy, "old.maps.onnx") == info


def test_the_old_package_name_still_imports():
    import importlib
    import sys

    sys.modules.pop("arniqa_edge.reference", None)
    with pytest.warns(DeprecationWarning, match="arniqa_edge.cvrkd"):
        old = importlib.import_module("arniqa_edge.reference")
    from arniqa_edge.cvrkd import ReferenceScorer

    assert old.ReferenceScorer is ReferenceScorer
