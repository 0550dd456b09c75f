"""Batches capped by pixels and by a memory budget; allocation failures become the file's own error row.

The backend is a stand-in that records what it is fed (no model needed): these
tests check the batching policy and the CLI's handling, not the encoder.
"""

import json

import cv2
import numpy as np
import pytest

from arniqa_edge.backends import Backend
from arniqa_edge.cli import main
from arniqa_edge.errors import InsufficientMemoryError
from arniqa_edge.memory import (
    CPU_BATCH_PIXELS,
    DEFAULT_MEMORY_BUDGET,
    BatchPolicy,
    allocation_failures_as,
    estimate_call_bytes,
    format_bytes,
    parse_bytes,
)
from arniqa_edge.regressor import LinearRegressor, ScoreScale


def _input_pixels(height, width):
    return height * width + (height // 2) * (width // 2)


def test_cpu_batches_are_capped_by_the_pipelines_pixel_cap():
    policy = BatchPolicy(batch_size=8)
    assert policy.images_per_call(1280 * 720, _input_pixels(720, 1280), "onnxruntime", "cpu") == 1
    assert policy.images_per_call(224 * 224, _input_pixels(224, 224), "onnxruntime", "cpu") == 8
    assert policy.images_per_call(400 * 300, _input_pixels(300, 400), "onnxruntime", "cpu") == CPU_BATCH_PIXELS // (
        400 * 300
    )
    wider = BatchPolicy(batch_size=8, max_batch_pixels=3_000_000)
    assert wider.images_per_call(1280 * 720, _input_pixels(720, 1280), "onnxruntime", "cpu") == 3


def test_gpu_batches_are_capped_by_the_memory_budget():
    policy = BatchPolicy(batch_size=8)
    pixels = _input_pixels(1080, 1920)
    assert policy.pixel_cap("cuda:0") is None
    expected = DEFAULT_MEMORY_BUDGET // estimate_call_bytes("torch", pixels)
    assert 1 <= expected < 8
    assert policy.images_per_call(1920 * 1080, pixels, "torch", "cuda:0") == expected
    small = BatchPolicy(batch_size=8, memory_budget=1)
    assert small.images_per_call(224 * 224, _input_pixels(224, 224), "torch", "cuda:0") == 1


def test_budget_admits_a_12mp_photo_and_refuses_a_9000px_square():
    policy = BatchPolicy()
    for backend in ("onnxruntime", "torch"):
        policy.check_fits("photo.jpg", 4000, 3000, _input_pixels(3000, 4000), backend)
    # onnxruntime runs such a call on a CPU without its arena, which needs less (see onnxruntime_backend)
    assert (
        estimate_call_bytes("onnxruntime", _input_pixels(3000, 4000), "cpu")
        < 2.2 * 1024**3
        < estimate_call_bytes("onnxruntime", _input_pixels(3000, 4000), "cuda:0")
    )
    BatchPolicy(memory_budget=parse_bytes("2.2G")).check_fits(
        "photo.jpg", 4000, 3000, _input_pixels(3000, 4000), "onnxruntime", "cpu"
    )
    with pytest.raises(
        InsufficientMemoryError,
        match=r"9000x9000 \(81.0 MP\) needs about .* over the memory "
        r"budget of 4.0 GiB.*--memory-budget",
    ):
        policy.check_fits("big.png", 9000, 9000, _input_pixels(9000, 9000), "onnxruntime")


def test_sizes():
    assert parse_bytes("4G") == 4 * 1024**3 and parse_bytes("1.5GiB") == 3 * 1024**3 // 2
    assert parse_bytes("512MB") == 512 * 1024**2 and parse_bytes("1000") == 1000
    for bad in ("", "4X", "-1G", "G", "0"):
        with pytest.raises(ValueError):
            parse_bytes(bad)
    assert format_bytes(DEFAULT_MEMORY_BUDGET) == "4.0 GiB" and format_bytes(300 * 1024**2) == "300 MiB"


def test_allocation_failures_are_translated_and_other_errors_are_not():
    from onnxruntime.capi.onnxruntime_pybind11_state import Fail

    failures = [
        MemoryError(),
        RuntimeError(
            "[enforce fail at alloc_cpu.cpp:121] data. DefaultCPUAllocator: can't allocate memory: you "
            "tried to allocate 1152000000 bytes. Error code 12 (Cannot allocate memory)"
        ),
        Fail(
            "[ONNXRuntimeError] : 1 : FAIL : Non-zero status code returned while running Conv node. Name:'x' "
            "Status Message: bfc_arena.cc:360 Failed to allocate memory for requested buffer of size 288000000"
        ),
        cv2.error("OpenCV(5.0.0) alloc.cpp:73: error: (-4:Insufficient memory) Failed to allocate 9 bytes"),
    ]
    for failure in failures:
        with pytest.raises(InsufficientMemoryError, match=r"big.jpg: out of memory while encoding"):
            with allocation_failures_as("encoding", "big.jpg"):
                raise failure
    with pytest.raises(RuntimeError, match="shape mismatch"):
        with allocation_failures_as("encoding", "big.jpg"):
            raise RuntimeError("shape mismatch")


class RecordingBackend(Backend):
    """Stands in for a backend on the CPU: records batch sizes; fails allocations over `fail_over` pixels."""

    name = "onnxruntime"
    device = "cpu"
    feature_dim = 1280

    def __init__(self, fail_over=None, failure=None):
        self.calls = []
        self.fail_over, self.failure = fail_over, failure

    def _run(self, full, half):
        self.calls.append(full.shape)
        if self.fail_over is not None and full.shape[2] * full.shape[3] > self.fail_over:
            raise self.failure
        rng = np.random.default_rng(int(full.mean() * 1000) % 2**32)
        features = rng.normal(size=(full.shape[0], 2560)).astype(np.float32)
        return features / np.linalg.norm(features, axis=1, keepdims=True)

    def describe(self):
        return "recording backend"


@pytest.fixture
def backend(monkeypatch):
    recording = RecordingBackend()
    monkeypatch.setattr("arniqa_edge.features.create_backend", lambda *args, **kwargs: recording)
    return recording


@pytest.fixture
def regressor(tmp_path):
    path = tmp_path / "r.safetensors"
    rng = np.random.default_rng(0)
    LinearRegressor(rng.normal(0, 0.05, 2560), 3.0, ScoreScale(1, 5), {"model": "arniqa-lite0"}).save(path)
    return path


def _image(path, height, width, value=100, flat=False):
    """A noisy image (a flat grey one, which compresses to a small file, if `flat`)."""
    if flat:
        pixels = np.full((height, width), value, np.uint8)
    else:
        pixels = np.random.default_rng(value).integers(0, 256, (height, width, 3), dtype=np.uint8)
    cv2.imwrite(str(path), pixels)
    return str(path)


def _run(capsys, paths, regressor, *options):
    code = main([*paths, "--weights", "enc.onnx", "--regressor", str(regressor), "--jsonl", *options])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_same_size_images_are_batched_by_pixels_not_count(backend, regressor, tmp_path, capsys):
    paths = [_image(tmp_path / f"{i}.png", 1000, 1200, value=i) for i in range(3)]
    code, rows, _ = _run(capsys, paths, regressor)
    assert code == 0 and [row["error"] for row in rows] == [None] * 3
    assert [shape[0] for shape in backend.calls] == [1, 1, 1]  # 1.2 MP each: over the CPU cap together
    backend.calls.clear()
    code, rows, _ = _run(capsys, paths, regressor, "--max-batch-pixels", "4M")
    assert code == 0 and [shape[0] for shape in backend.calls] == [3]


def test_an_image_over_the_memory_budget_gets_its_own_error_row(backend, regressor, tmp_path, capsys):
    small = _image(tmp_path / "small.png", 240, 320)
    big = _image(tmp_path / "big.png", 6000, 6000, flat=True)  # 36 MP: about 6.5 GiB on onnxruntime
    code, rows, err = _run(capsys, [small, big, small], regressor)
    assert code == 1
    assert [row["error"] is None for row in rows] == [True, False, True]
    assert rows[1]["error"].startswith(f"{big}: 6000x6000 (36.0 MP) needs about")
    assert "over the memory budget of 4.0 GiB" in rows[1]["error"]
    assert all(shape[2:] == (240, 320) for shape in backend.calls)  # the big one never reached the backend
    code, rows, _ = _run(capsys, [small], regressor, "--memory-budget", "1M")
    assert code == 1 and "over the memory budget of 1 MiB" in rows[0]["error"]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1152000000 bytes."),
        MemoryError("Unable to allocate 3.00 GiB for an array"),
    ],
)
def test_allocation_failure_is_that_files_error_row(backend, regressor, tmp_path, capsys, failure):
    backend.fail_over, backend.failure = 500 * 500, failure
    small = [_image(tmp_path / f"s{i}.png", 240, 320, value=i) for i in range(2)]
    big = _image(tmp_path / "big.png", 600, 800)
    code, rows, err = _run(capsys, [small[0], big, small[1]], regressor)
    assert code == 1 and len(rows) == 3
    assert rows[0]["error"] is None and rows[2]["error"] is None
    assert rows[1]["error"].startswith(f"{big}: out of memory while running the encoder")
    assert err.count("error:") == 1 and "Traceback" not in err


def test_other_backend_errors_are_not_hidden(backend, regressor, tmp_path, capsys):
    backend.fail_over, backend.failure = 0, RuntimeError("unexpected shape in node 7")
    with pytest.raises(RuntimeError, match="node 7"):
        main([_image(tmp_path / "a.png", 240, 320), "--weights", "enc.onnx", "--regressor", str(regressor)])


def test_scorer_api_batches_by_the_same_policy(backend, regressor):
    from arniqa_edge import Scorer

    scorer = Scorer(weights="enc.onnx", regressor=regressor)
    images = [np.full((1000, 1200, 3), i, np.uint8) for i in range(3)] + [np.zeros((240, 320, 3), np.uint8)] * 4
    assert len(scorer.predict_batch(images)) == 7
    assert [shape[0] for shape in backend.calls] == [1, 1, 1, 4]
    assert scorer.batch_limit(1000, 1200) == 1 and scorer.batch_limit(240, 320) == 8


def test_memory_benchmark_is_registered_and_its_lower_bound_is_under_the_estimate():
    pytest.importorskip("timm")
    from benchmarks.suites import SUITES
    from benchmarks.suites.memory import model_lower_bound

    assert SUITES["memory"] == "benchmarks.suites.memory"
    bound, layer = model_lower_bound(3000, 4000)
    # lite0's stride-2 depthwise convolution of stage 2: 96 maps of 2000x1500 in, of 1000x750 out (fp32)
    assert layer == "blocks.1.0.conv_dw" and bound == 4 * 96 * (2000 * 1500 + 1000 * 750)
    for backend in ("onnxruntime", "torch"):
        assert estimate_call_bytes(backend, _input_pixels(3000, 4000)) > bound
