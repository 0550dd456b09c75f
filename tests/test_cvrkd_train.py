import csv
import json

import pytest
from conftest import has_torch

pytestmark = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from cvrkd_fixtures import smoke_runs

    return smoke_runs(tmp_path_factory)


def read_log(model_path):
    with open(model_path.parent / "log.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_teacher_and_students_save_weights_with_their_configuration(runs):
    from arniqa_edge.cvrkd.weights import load_cvrkd, read_cvrkd_metadata

    teacher = read_cvrkd_metadata(runs["teacher"])
    assert teacher["role"] == "teacher" and teacher["distilled"] == "False" and teacher["steps"] == "3"
    assert teacher["command"].startswith("python -m training.cvrkd.train teacher")
    for name, distilled in (("student", "True"), ("student-nodistill", "False")):
        metadata = read_cvrkd_metadata(runs[name])
        assert metadata["role"] == "student" and metadata["distilled"] == distilled
        assert metadata["config"] == teacher["config"]  # a student takes its teacher's architecture
    net, _ = load_cvrkd(runs["student"])
    assert (net.config.crops, net.config.crop_size, net.config.diff_depth) == (2, 64, 3)


def test_only_the_distilled_student_has_a_distillation_loss(runs):
    for name, distilled in (("teacher", False), ("student", True), ("student-nodistill", False)):
        rows = read_log(runs[name])
        assert [int(row["step"]) for row in rows] == [1, 2, 3]
        assert all((float(row["distill_loss"]) > 0) == distilled for row in rows), name
        assert all(float(row["loss"]) >= float(row["score_loss"]) for row in rows)


def test_validation_writes_fr_and_nar_correlations(runs):
    results = json.loads((runs["student"].parent / "eval.json").read_text())
    assert set(results) == {"fr", "nar"} and set(results["nar"]) == {"srcc", "plcc"}


def test_training_updates_the_heads_but_not_the_backbone(runs):
    from safetensors.torch import load_file

    teacher, student = load_file(str(runs["teacher"])), load_file(str(runs["student"]))
    # --init random with the same seed: both start from one backbone, and it never moves.
    backbone = [name for name in teacher if name.startswith("backbone.")]
    assert backbone and all((teacher[name] == student[name]).all() for name in backbone)
    assert not (teacher["head.2.weight"] == student["head.2.weight"]).all()


def test_student_needs_a_teacher_file(runs, tmp_path, capsys):
    from training.cvrkd import train

    args = ["student", "--data", str(runs["data"]), "-o", str(tmp_path / "s"), "--steps", "1"]
    assert train.main(args) == 2
    assert "needs --teacher" in capsys.readouterr().err
    assert train.main([*args, "--teacher", str(runs["student"])]) == 2
    assert "not a teacher" in capsys.readouterr().err
    assert train.main([*args, "--teacher", str(tmp_path / "missing.safetensors")]) == 2
    assert "not found" in capsys.readouterr().err
    assert train.main([*args, "--teacher", str(runs["teacher"]), "--crops", "4"]) == 2
    assert "takes its teacher's architecture; drop --crops" in capsys.readouterr().err


def test_evaluate_tabulates_fr_nar_and_the_nr_baseline(runs, lite0_imagenet_weights, blur_regressor, tmp_path, capsys):
    from cvrkd_fixtures import LABELS

    from training.cvrkd import evaluate

    table = tmp_path / "table.md"
    code = evaluate.main(
        [
            str(runs["teacher"]),
            str(runs["student"]),
            "--content",
            str(runs["val"]),
            "--images",
            "2",
            "--short-side",
            "96",
            "--types",
            "gaublur",
            "--labels",
            str(LABELS),
            "--nr-weights",
            str(lite0_imagenet_weights),
            "--nr-regressor",
            str(blur_regressor),
            "-o",
            str(table),
        ]
    )
    assert code == 0
    lines = table.read_text().splitlines()
    assert lines[0] == "KADID proxy, 10 distorted images"
    rows = [line for line in lines if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[1] for row in rows] == ["fr", "nar", "fr", "nar", "none"]
    assert "(teacher)" in rows[0] and "(student)" in rows[2] and "NR lite0-imagenet" in rows[4]
    assert capsys.readouterr().out == table.read_text()
