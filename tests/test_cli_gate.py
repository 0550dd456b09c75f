"""The end of an image CLI run: --sort, the summary on stderr and the --threshold quality gate (exit status 3)."""

import csv
import io
import json
import re

import numpy as np
import pytest
from cli_fixtures import content_regressor, grey_image, use_content_backend

from arniqa_edge.cli import main
from arniqa_edge.cli_summary import format_summary, summarize


@pytest.fixture
def shots(tmp_path):
    """Four flat images whose scores follow their grey level (c < a < d < b) and one that cannot be read."""
    paths = {
        name: grey_image(tmp_path / f"{name}.png", level)
        for name, level in (("b", 200), ("c", 50), ("a", 100), ("d", 150))
    }
    (tmp_path / "e.png").write_bytes(b"broken")
    paths["e"] = str(tmp_path / "e.png")
    return paths


@pytest.fixture
def model_args(tmp_path, monkeypatch):
    use_content_backend(monkeypatch)
    return ["--weights", "enc.onnx", "--regressor", str(content_regressor(tmp_path / "r.safetensors"))]


def _jsonl(out):
    return [json.loads(line) for line in out.splitlines()]


def test_sort_by_score_and_by_name(shots, model_args, capsys):
    good = [shots[name] for name in "bcad"]
    assert main([*good, shots["e"], *model_args, "--jsonl", "--sort", "score"]) == 1
    rows = _jsonl(capsys.readouterr().out)
    assert [row["path"] for row in rows] == [shots[name] for name in "cadbe"]  # lowest first, failed last
    assert main([*good, *model_args, "--csv", "--sort", "name"]) == 0
    assert [row["path"] for row in csv.DictReader(io.StringIO(capsys.readouterr().out))] == sorted(good)


def test_threshold_is_a_quality_gate(shots, model_args, capsys):
    good = [shots[name] for name in "bcad"]
    assert main([*good, *model_args, "--jsonl"]) == 0
    scores = sorted(row["score"] for row in _jsonl(capsys.readouterr().out))
    assert main([*good, *model_args, "--jsonl", "--threshold", f"{scores[0] - 1e-3:.6f}"]) == 0
    assert main([*good, *model_args, "--jsonl", "--threshold", f"{scores[2] - 1e-3:.6f}"]) == 3
    err = capsys.readouterr().err
    assert re.search(r"threshold: 2 of 4 scored images are below 0\.\d+", err)
    # a file that could not be scored makes the run incomplete: status 1 wins over 3
    assert main([*good, shots["e"], *model_args, "--jsonl", "--threshold", "0.99"]) == 1


def test_threshold_must_be_a_score(model_args, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["x.png", *model_args, "--threshold", "1.5"])
    assert exit_.value.code == 2 and "scores are in [0, 1]" in capsys.readouterr().err


def test_summary_ends_text_output_on_stderr(shots, model_args, capsys):
    assert main([shots[name] for name in "bcade"] + model_args + ["--worst", "2"]) == 1
    out, err = capsys.readouterr()
    scores = {line.split()[0]: float(line.split()[1]) for line in out.splitlines() if not line.endswith("error")}
    values = np.array(list(scores.values()))
    assert "summary: 5 images, 4 scored, 1 failed" in err
    stats = dict(re.findall(r"(\w+) (\d\.\d{4})", err.split("score: ")[1].splitlines()[0]))
    expected = {
        "mean": values.mean(),
        "min": values.min(),
        "p10": np.percentile(values, 10),
        "p25": np.percentile(values, 25),
        "median": np.median(values),
        "p75": np.percentile(values, 75),
        "p90": np.percentile(values, 90),
        "max": values.max(),
    }
    assert list(stats) == list(expected)
    for name, value in expected.items():
        assert float(stats[name]) == pytest.approx(value, abs=1e-4), name
    worst = err.split("worst 2:\n")[1].splitlines()
    assert [line.split()[1] for line in worst] == [shots["c"], shots["a"]]


def test_summary_is_off_for_machine_formats_and_quiet_unless_asked(shots, model_args, capsys):
    args = [shots["a"], *model_args]
    assert main([*args, "--json"]) == 0
    assert "summary:" not in capsys.readouterr().err
    assert main([*args, "--quiet"]) == 0
    assert "summary:" not in capsys.readouterr().err
    assert main([*args, "--csv", "--summary"]) == 0
    assert "summary: 1 images, 1 scored, 0 failed" in capsys.readouterr().err
    assert main([*args, "--no-summary"]) == 0
    assert capsys.readouterr().err == ""


def test_summary_numbers():
    rows = [{"path": f"{i}.png", "score": score, "error": None} for i, score in enumerate([0.5, 0.1, 0.3, 0.2, 0.4])]
    rows.append({"path": "bad.png", "score": None, "error": "bad.png: empty file"})
    summary = summarize(rows, worst=2)
    assert (summary.images, summary.scored, summary.failed) == (6, 5, 1)
    assert summary.statistics == pytest.approx(
        {"mean": 0.3, "min": 0.1, "p10": 0.14, "p25": 0.2, "median": 0.3, "p75": 0.4, "p90": 0.46, "max": 0.5}
    )
    assert summary.worst == [(0.1, "1.png"), (0.2, "3.png")]
    assert format_summary(summary).splitlines()[:2] == [
        "summary: 6 images, 5 scored, 1 failed",
        "score: mean 0.3000  min 0.1000  p10 0.1400  p25 0.2000  median 0.3000  p75 0.4000  p90 0.4600  max 0.5000",
    ]
    assert format_summary(summarize([])) == "summary: 0 images, 0 scored, 0 failed\n"


def test_ctrl_c_with_sort_writes_the_rows_scored_so_far_sorted(shots, model_args, capsys, monkeypatch):
    from cli_fixtures import ContentBackend

    class Interrupted(ContentBackend):
        calls = 0

        def _run(self, full, half):
            Interrupted.calls += 1
            if Interrupted.calls == 3:
                raise KeyboardInterrupt
            return super()._run(full, half)

    monkeypatch.setattr("arniqa_edge.features.create_backend", lambda *args, **kwargs: Interrupted())
    code = main([shots[name] for name in "bcad"] + model_args + ["--json", "--sort", "score", "--batch-size", "1"])
    out, err = capsys.readouterr()
    assert code == 130
    assert [row["path"] for row in json.loads(out)] == [shots["c"], shots["b"]]
    assert err.strip() == "error: interrupted after 2 of 4 images (their rows are written)"
