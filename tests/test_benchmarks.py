"""The benchmark harness on a trivial callable (no timing assertions)."""

from __future__ import annotations

import json

import pytest

from benchmarks.harness import (
    Row,
    SuiteResult,
    describe_machine,
    machine_tag,
    time_callable,
    time_interleaved,
    write_results,
)


def test_harness_writes_json_and_markdown(tmp_path) -> None:
    calls = []
    timing = time_callable(lambda: calls.append(1), repeats=2, warmup=1)
    assert len(calls) == 3 and timing.repeats == 2
    assert 0 <= timing.min_ms <= timing.median_ms <= timing.p90_ms

    machine = describe_machine()
    result = SuiteResult("trivial", "appends to a list", [Row("append", timing, {"note": "x"})], {"ratio": 1.0})
    path = write_results(result, tmp_path, machine)

    assert path == tmp_path / f"trivial-{machine_tag(machine)}.json"
    payload = json.loads(path.read_text())
    assert payload["rows"][0]["name"] == "append" and payload["rows"][0]["repeats"] == 2
    assert payload["machine"]["cpu_affinity"] >= 1 and "numpy" in payload["machine"]["versions"]
    table = path.with_suffix(".md").read_text()
    assert "| append |" in table and "ratio" in table


def test_interleaved_timing_takes_turns() -> None:
    calls = []
    timings = time_interleaved(
        [lambda: calls.append("a"), lambda: calls.append("b")],
        repeats=3,
        warmup=1,
        syncs=[None, lambda: calls.append("sync b")],
    )
    assert calls == ["a", "b", "sync b"] * 4
    assert [timing.repeats for timing in timings] == [3, 3]
    with pytest.raises(ValueError, match="one sync per callable"):
        time_interleaved([lambda: None], syncs=[None, None])
