"""arniqa_edge._C fuzzed: every call succeeds or raises as its contract says, none crashes.

A bounded run of tools/fuzz_native.py over every entry point (the command runs longer
ones), the calls that crashed, hung or were misjudged by the extension before it
checked them, and checks that the harness notices a crash, a hang and a wrong verdict.
Calls run in a child process, so a crash fails a test with its input instead of
killing pytest.
"""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
import pytest
from conftest import ROOT, distortion_kernels_built

sys.path.insert(0, str(ROOT / "tools"))
import fuzz_native as fuzz  # noqa: E402
from fuzz_native import INT_MAX, Array, Case, nan  # noqa: E402

pytestmark = pytest.mark.skipif(
    not distortion_kernels_built(), reason="needs arniqa_edge._C built with the distortion kernels (_C.distort)"
)

CASES_PER_FUNCTION = 100  # 1,400 calls in all: about 10 s of CPU time

IMAGES = Array((1, 3, 8, 7), seed=1)
OUT = Array((1, 3, 8, 7), values=(nan,))  # NaN: a value the kernel leaves unwritten shows


def sparse_filter(taps: tuple, count: int = 1) -> Case:
    """One image, one kernel: taps are (row offset, column offset, weight) triples."""
    return Case(
        "distort.sparse_filter",
        (IMAGES, OUT, Array((1, len(taps) // 3, 3), values=taps), Array((1,), "int32", (count,))),
        {},
    )


def empty_batch(function: str, shape: tuple, *params: Array, **options) -> Case:
    return Case(f"distort.{function}", (Array(shape), *params), options)


# Each crashed, hung or was misjudged before the fix in csrc/ named beside it.
REPRODUCERS = {
    # A NaN column offset became INT_MIN: the row was read 8 GiB away (ops/cpu/distort_filter.cpp).
    "sparse_filter_nan_offset": sparse_filter((0.0, nan, 1.0)),
    "sparse_filter_huge_offsets": sparse_filter((3e9, -3e9, 1.0)),
    # counts were not capped at the capacity: taps were read past their array.
    "sparse_filter_count_past_capacity": sparse_filter((0.0, 0.0, 1.0), count=INT_MAX),
    # row + size wrapped around in int: a patch at row INT_MAX - 1 "fit" (ops/cpu/distort_patches.cpp).
    "copy_patches_corner_near_int_max": Case(
        "distort.copy_patches",
        (IMAGES, Array((1, 1, 4), "int32", (INT_MAX - 1, 0, 0, 0)), Array((1,), "int32", (1,))),
        {"size": 4},
    ),
    "fill_blocks_size_int_max": Case(
        "distort.fill_blocks",
        (IMAGES, Array((1, 1, 2), "int32", (1, 1)), Array((1,), "int32", (1,)), Array((1, 1, 3), values=(0.5,))),
        {"size": INT_MAX},
    ),
    # Empty batches with huge extents looped over 2**41 empty rows (distort_py.cpp: nothing to do).
    "gaussian_noise_huge_empty_batch": empty_batch(
        "gaussian_noise", (2, 3, 2**40, 0), Array((2,), "int64", (0,)), Array((2,), values=(0.1,)), kind="additive"
    ),
    "separable_filter_huge_empty_batch": empty_batch(
        "separable_filter", (1, 3, 2**31, 0), Array((1, 3, 2**31, 0)), Array((1, 9), values=(0.1,))
    ),
    # Empty torch tensors were "not C-contiguous" (their strides are not the compact ones), and
    # their data pointer is 0: the kernel dereferenced it (interop/buffer_view.cpp, distort_py.cpp).
    "quantize_empty_torch_tensor": Case(
        "distort.quantize", (Array((2, 3, 0, 5), kind="torch"), Array((2,), "int32", (4,), kind="torch")), {}
    ),
    "jitter_empty_torch_tensors_share_address_0": Case(
        "distort.jitter",
        (
            Array((3, 0, 12, 8), kind="torch"),
            Array((3, 0, 12, 8), kind="torch"),
            Array((3,), "int64", (1,), kind="torch"),
            Array((3,), values=(0.5,), kind="torch"),
        ),
        {"rounds": 3},
    ),
    # A float32 array one byte off its alignment was accepted (interop/buffer_view.cpp).
    "saturate_hsv_misaligned_factors": Case(
        "distort.saturate_hsv", (IMAGES, Array((1,), values=(0.5,), layout="misaligned")), {}
    ),
}


@pytest.fixture(scope="module")
def sandbox():
    with fuzz.Sandbox(timeout=20) as box:
        yield box


def test_random_calls_succeed_or_raise_as_their_contracts_say(sandbox):
    tallies = fuzz.fuzz(CASES_PER_FUNCTION, seed=20240611, sandbox=sandbox)
    failures = [f"{what}\n  {case!r}" for tally in tallies.values() for case, what in tally.failures]
    assert not failures, "\n".join(failures)
    assert set(tallies) == set(fuzz.FUNCTIONS)
    for function, tally in tallies.items():
        assert tally.cases == CASES_PER_FUNCTION, function
        assert sum(tally.raised.values()) >= CASES_PER_FUNCTION // 10, f"{function}: too few bad calls"
        if function != "preprocess_cuda":  # no CUDA outputs here: every call must raise
            assert tally.succeeded >= CASES_PER_FUNCTION // 4, f"{function}: too few good calls"


@pytest.mark.parametrize("name", sorted(REPRODUCERS))
def test_former_crashes_hangs_and_misjudged_calls(sandbox, name):
    case = REPRODUCERS[name]
    outcome = sandbox.run(case)
    assert not isinstance(outcome, str), outcome
    assert fuzz.verdict(outcome) is None, fuzz.verdict(outcome)
    assert (outcome.raised is not None) == ("misaligned" in name), outcome


def test_a_crash_is_reported_with_the_call_and_the_next_call_runs():
    with fuzz.Sandbox(timeout=20, preload=()) as box:
        assert box.run(Case("selftest.segfault", (), {})) == "crash: the process died with signal SIGSEGV"
        outcome = box.run(REPRODUCERS["sparse_filter_nan_offset"])
        assert isinstance(outcome, fuzz.Outcome) and fuzz.verdict(outcome) is None
        assert box.starts == 2


def test_a_hang_is_reported():
    with fuzz.Sandbox(timeout=1, preload=()) as box:
        assert box.run(Case("selftest.hang", (), {})) == "hang: no answer in 1 s"


@pytest.mark.parametrize(
    "outcome, wrong",
    [
        (fuzz.Outcome(), None),
        (fuzz.Outcome(problems=("images is misaligned",), raised="ValueError"), None),
        (fuzz.Outcome(problems=("images is misaligned",)), "accepted a bad call"),
        (fuzz.Outcome(raised="ValueError", message="images must be C-contiguous"), "rejected a valid call"),
        (fuzz.Outcome(problems=("x",), raised="SystemError"), "SystemError"),
        (fuzz.Outcome(failures=("out has non-finite values",)), "wrong result"),
    ],
)
def test_verdicts(outcome, wrong):
    got = fuzz.verdict(outcome)
    assert got is None if wrong is None else got.startswith(wrong)


def _problems(case: Case) -> list[str]:
    return fuzz.contract_problems(case, tuple(map(fuzz.build, case.args)), case.kwargs)


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"layout": "misaligned"}, "misaligned"),
        ({"layout": "strided"}, "not C-contiguous"),
        ({"layout": "transposed"}, "not C-contiguous"),
        ({"kind": "readonly"}, "read-only"),
        ({"kind": "torch_grad"}, "not an array"),
        ({"dtype": "float64"}, "float64"),
        ({"dtype": ">f4"}, "big-endian"),
        ({"shape": (1, 3, 8)}, "3 dimensions"),
    ],
)
def test_the_contract_names_what_the_binding_must_refuse(change, problem):
    if change.get("kind") == "torch_grad":
        pytest.importorskip("torch")
    case = REPRODUCERS["sparse_filter_nan_offset"]
    assert _problems(case) == []
    images = replace(IMAGES, **change)
    problems = _problems(Case(case.function, (images,) + case.args[1:], {}))
    assert any(problem in p for p in problems), problems


def test_an_unwritten_output_is_a_wrong_result():
    case = REPRODUCERS["sparse_filter_nan_offset"]
    args = tuple(map(fuzz.build, case.args))  # the kernel is not called: out stays NaN
    failures = fuzz.result_failures(case, args, {}, fuzz.snapshot(args))
    assert failures == ["out has non-finite values"]
    args[1][...] = np.float32(0.5)
    assert fuzz.result_failures(case, args, {}, fuzz.snapshot(args)) == []
