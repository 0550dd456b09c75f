"""The benchmark harness on a trivial callable (no timing assertions)."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_further_tables_and_notes_go_to_both_files(tmp_path) -> None:
    timing = time_callable(lambda: None, repeats=1, warmup=0)
    result = SuiteResult(
        "trivial",
        "nothing",
        [Row("timed", timing)],
        tables={"Peak memory": [Row("one frame", timing, {"peak MiB": 12})]},
        notes=["| op type | ms |\n|---|---|\n| Conv | 1.0 |"],
    )
    path = write_results(result, tmp_path)
    payload = json.loads(path.read_text())
    (row,) = payload["tables"]["Peak memory"]
    assert (row["name"], row["peak MiB"], row["repeats"]) == ("one frame", 12, 1) and payload["notes"] == result.notes
    markdown = path.with_suffix(".md").read_text()
    assert markdown.index("| timed |") < markdown.index("## Peak memory") < markdown.index("| one frame |")
    assert markdown.rstrip().endswith("| Conv | 1.0 |")


def test_onnxruntime_profiles_are_summed_per_op_type_over_the_last_run() -> None:
    from benchmarks.suites.inference import aggregate_profile, profile_table

    def node(op, ts, dur):
        return {"cat": "Node", "name": f"{op}_{ts}_kernel_time", "ts": ts, "dur": dur, "args": {"op_name": op}}

    events = [
        {"cat": "Session", "name": "model_run", "ts": 0, "dur": 50},
        node("Conv", 1, 9000),  # the first (warm-up) run: left out
        {"cat": "Session", "name": "model_run", "ts": 100, "dur": 50},
        node("Conv", 101, 3000),
        {"cat": "Node", "name": "Conv_101_fence_before", "ts": 101, "dur": 5, "args": {"op_name": "Conv"}},
        node("Conv", 105, 1000),
        node("DequantizeLinear", 110, 1000),
    ]
    ops = aggregate_profile(events)
    assert ops == [("Conv", 2, 4.0), ("DequantizeLinear", 1, 1.0)]
    table = profile_table("fp32", ops, top=1)
    assert "fp32: 5 ms in kernels" in table and "| Conv | 2 | 4.0 | 80% |" in table
    assert "| other (1 op types) | 1 | 1.0 | 20% |" in table


def test_quick_is_a_smoke_run_written_to_a_temporary_directory(tmp_path, monkeypatch, capsys) -> None:
    import shutil

    import benchmarks.__main__ as cli

    (tmp_path / "fake_suite.py").write_text(
        "from benchmarks.harness import Row, SuiteResult, time_callable\n"
        "def run(repeats, warmup, quick=False):\n"
        "    timing = time_callable(lambda: None, repeats=repeats, warmup=warmup)\n"
        "    return SuiteResult('fake', 'quick' if quick else 'full', [Row('x', timing)])\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "SUITES", {"fake": "fake_suite"})
    assert cli.main(["fake", "--quick"]) == 0
    written = capsys.readouterr().out.split("wrote ")[1].split(" and ")[0]
    path = Path(written)
    try:
        payload = json.loads(path.read_text())
        assert "benchmarks/results" not in written and payload["description"] == "quick"
        assert payload["rows"][0]["repeats"] == 2
    finally:
        shutil.rmtree(path.parent)


def test_video_summary_compares_the_pipeline_with_the_inference_ceiling() -> None:
    from benchmarks.suites.video import summarise

    ms = {"inference": 80.0, "score_batch": 90.0, "serial": 100.0, "overlapped": 100.0, "naive torch": 900.0}
    lines = summarise("1080p", "cpu", ms, "onnxruntime int8")
    assert lines["1080p cpu: the pipeline reaches"].startswith("80% of the inference ceiling (10.00 of 1 / 80.0 ms")
    assert "90% of score_batch's rate" in lines["1080p cpu: the pipeline reaches"]
    assert lines["1080p cpu: overlapped / serial frames/s"] == "1.00x"
    assert lines["1080p cpu: pipeline (auto) / naive torch loop frames/s"] == "9.00x"
    assert lines["1080p cpu: whole frame <= 150 ms"].startswith("yes (100.0 ms")
    slow = summarise("720p", "cpu", {**ms, "overlapped": 200.0, "score_batch": 160.0}, "x")
    assert "720p cpu: pipeline (auto) / naive torch loop frames/s" in slow and not any("<=" in key for key in slow)
    assert summarise("1080p", "cpu", {**ms, "overlapped": 160.0}, "x")["1080p cpu: whole frame <= 150 ms"][:2] == "no"


def test_video_clip_lengths_follow_the_environment(monkeypatch) -> None:
    from benchmarks.suites.video import clips

    monkeypatch.setenv("ARNIQA_BENCH_FRAMES_1080", "5")
    monkeypatch.setenv("ARNIQA_BENCH_TORCH_FRAMES_1080", "9")
    monkeypatch.delenv("ARNIQA_BENCH_FRAMES_720", raising=False)
    monkeypatch.delenv("ARNIQA_BENCH_TORCH_FRAMES_720", raising=False)
    full = {name: (frames, torch_frames) for name, _, _, frames, torch_frames in clips()}
    assert full["1080p"] == (5, 5)  # the torch rows never score more than the clip holds
    assert full["720p"][0] > full["720p"][1] >= 1
    assert {name: frames for name, _, _, frames, _ in clips(quick=True)}["720p"] <= 4
