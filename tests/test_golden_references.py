"""Scoring video and camera frames against golden references (--reference-dir, CVRKD)."""

import csv
import json
import math

import cv2
import numpy as np
import pytest
from conftest import has_torch
from video_helpers import FakeClock, Script, base_frame, moving, sharp_blurred_sharp, write_video

from arniqa_edge.camera import AlertConfig, AlertSet, QaLoop, SequentialFeed, make_smoother
from arniqa_edge.camera import cli as camera_cli
from arniqa_edge.camera.alerts import LOW_QUALITY, LOW_REFERENCE_QUALITY
from arniqa_edge.camera.events import EventLog
from arniqa_edge.cvrkd.golden import reference_images
from arniqa_edge.errors import InputImageError
from arniqa_edge.sources import Backoff, ReconnectingSource
from arniqa_edge.video import VideoReader
from arniqa_edge.video import cli as video_cli

needs_torch = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")
RATE = 10.0


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    from cvrkd_fixtures import smoke_runs

    return smoke_runs(tmp_path_factory)["student"]


@pytest.fixture(scope="module")
def golden_dir(tmp_path_factory):
    """Two known-good frames of other content than the clips (and a file that is not an image)."""
    folder = tmp_path_factory.mktemp("golden")
    for index in (2, 1):
        cv2.imwrite(str(folder / f"golden{index}.png"), base_frame(index))
    (folder / "notes.txt").write_text("taken at noon, lens cleaned")
    return folder


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """8 frames at 10 fps: sharp, blurred, sharp."""
    return write_video(tmp_path_factory.mktemp("clip") / "clip.avi", sharp_blurred_sharp((3, 2, 3)))


@pytest.fixture(scope="module")
def nr_args(lite0_imagenet_weights, blur_regressor):
    return [
        "--weights",
        str(lite0_imagenet_weights),
        "--regressor",
        str(blur_regressor),
        "--backend",
        "torch",
        "--device",
        "cpu",
    ]


def reference_args(student, golden_dir):
    return ["--reference-dir", str(golden_dir), "--reference-model", str(student)]


def test_reference_directory_takes_every_image_sorted_and_names_unreadable_ones(golden_dir, tmp_path):
    assert [p.name for p in reference_images(golden_dir)] == ["golden1.png", "golden2.png"]
    with pytest.raises(InputImageError, match="no such directory"):
        reference_images(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no pictures here")
    with pytest.raises(InputImageError, match="no image files in it"):
        reference_images(tmp_path / "empty")
    broken = tmp_path / "broken"
    broken.mkdir()
    cv2.imwrite(str(broken / "good.png"), base_frame(1))
    (broken / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    (broken / "empty.png").write_bytes(b"")
    with pytest.raises(InputImageError, match=r"2 of 3 images cannot be read.*cut\.jpg.*empty\.png"):
        reference_images(broken)


# -- video ------------------------------------------------------------------------------------------------


@needs_torch
def test_video_scores_every_frame_against_the_references(clip, student, golden_dir, nr_args, tmp_path, capsys):
    code = video_cli.main(
        [
            str(clip),
            "--out-dir",
            str(tmp_path),
            "--plot",
            "--annotate",
            "--batch-size",
            "3",
            "--no-progress",
            *reference_args(student, golden_dir),
            *nr_args,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "against 2 references: mean" in out

    with open(tmp_path / "clip.scores.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [int(r["frameNum"]) for r in rows] == list(range(8))
    against = np.array([float(r["reference"]) for r in rows])
    assert np.isfinite(against).all() and ((0 <= against) & (against <= 1)).all()
    assert all(math.isfinite(float(r["reference_raw"])) for r in rows)

    report = json.loads((tmp_path / "clip.scores.json").read_text())
    assert [f["metrics"]["reference"] for f in report["frames"]] == pytest.approx(against, abs=1e-6)
    assert report["frames_scored"] == 8 and "reference_raw" in report["pooled_metrics"]
    assert report["pooled_metrics"]["reference"]["mean"] == pytest.approx(against.mean(), abs=1e-5)
    assert report["references"]["images"] == [str(golden_dir / "golden1.png"), str(golden_dir / "golden2.png")]
    assert (tmp_path / "clip.scores.png").stat().st_size > 5000
    assert len(list(VideoReader(str(tmp_path / "clip.annotated.avi")))) == 8

    # The pipeline scores the decoded BGR frame, as the API does.
    from arniqa_edge.cvrkd.golden import GoldenReferences

    golden = GoldenReferences.open(student, golden_dir, device="cpu")
    first = next(iter(VideoReader(str(clip)))).image
    assert golden.score(first) == pytest.approx(against[0], abs=1e-5)


@needs_torch
def test_video_reference_model_can_be_the_exported_graphs(clip, golden_dir, nr_args, tmp_path, tmp_path_factory):
    from cvrkd_fixtures import exported_student

    from arniqa_edge.cvrkd.golden import GoldenReferences

    exported = exported_student(tmp_path_factory)
    auto = [arg for arg in nr_args if arg not in ("--backend", "torch")]  # each model picks its own backend
    assert (
        video_cli.main(
            [
                str(clip),
                "--out-dir",
                str(tmp_path),
                "--max-frames",
                "2",
                "--no-json",
                "--no-progress",
                "--reference-dir",
                str(golden_dir),
                "--reference-model",
                str(exported["maps"]),
                *auto,
            ]
        )
        == 0
    )
    with open(tmp_path / "clip.scores.csv", newline="") as file:
        against = [float(r["reference"]) for r in csv.DictReader(file)]
    torch_golden = GoldenReferences.open(exported["weights"], golden_dir, backend="torch", device="cpu")
    first = next(iter(VideoReader(str(clip)))).image
    assert against[0] == pytest.approx(torch_golden.score(first), abs=1e-4)


def test_video_reference_setup_errors(clip, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (
        video_cli.main(
            [
                str(clip),
                "--reference-dir",
                str(empty),
                "--reference-model",
                "student.safetensors",
                "--weights",
                "w",
                "--regressor",
                "r",
            ]
        )
        == 2
    )
    assert "no image files" in capsys.readouterr().err
    assert video_cli.main([str(clip), "--reference-dir", str(empty)]) == 2
    assert "no image files" in capsys.readouterr().err
    assert video_cli.main([str(clip), "--reference-model", "student.safetensors"]) == 2
    err = capsys.readouterr().err
    assert "--reference-model is used with --reference-dir" in err and "Traceback" not in err
    assert not (clip.parent / "clip.scores.csv").exists()


# -- camera -----------------------------------------------------------------------------------------------


def scripted_loop(frames, clock, alerts, score, reference, **options):
    source = ReconnectingSource(Script(frames).open, backoff=Backoff(0.5, 4.0), sleep=clock.sleep)
    return QaLoop(
        SequentialFeed(source, clock=clock),
        score,
        make_smoother("none"),
        alerts,
        rate_hz=RATE,
        clock=clock,
        wait=clock.sleep,
        reference=reference,
        reference_smoother=make_smoother("none"),
        **options,
    )


def test_reference_alert_fires_and_clears_with_hysteresis():
    image = base_frame()
    # The reference score of the p-th frame read: good, bad for 0.6 s, in the band for 1 s, good again.
    values = [0.8] * 5 + [0.2] * 6 + [0.45] * 10 + [0.8] * 6
    calls = iter(values)
    alerts = AlertSet(
        AlertConfig(
            low=0.4,
            high=0.5,
            raise_after=0.3,
            clear_after=0.3,
            frozen_after=0,
            blank_after=0,
            reference_low=0.4,
            reference_high=0.5,
        )
    )
    events = []
    clock = FakeClock()
    loop = scripted_loop(
        [moving(image, i) for i in range(len(values))],
        clock,
        alerts,
        score=lambda img: 0.9,
        reference=lambda img: next(calls),
        max_frames=len(values),
        on_event=lambda event, img: events.append(event),
    )
    loop.run()
    # Position p is read at t = p / 10 (frame numbers count from 1): below 0.4 from t = 0.5, raised 0.3 s
    # later; the band (0.45) changes nothing; at or above 0.5 from t = 2.1, cleared 0.3 s later.
    assert [(e.alert, e.state, e.frame - 1) for e in events] == [
        (LOW_REFERENCE_QUALITY, "raised", 8),
        (LOW_REFERENCE_QUALITY, "cleared", 24),
    ]
    assert events[0].reference_score == 0.2 and events[0].score == 0.9  # the no-reference score stayed good
    assert loop.stats.last_reference == loop.stats.last_reference_smoothed == 0.8


def test_reference_needs_its_own_smoother():
    with pytest.raises(ValueError, match="smoother of its own"):
        QaLoop(
            feed=None,
            score=lambda img: 0.5,
            smoother=make_smoother("none"),
            alerts=AlertSet(),
            reference=lambda img: 0.5,
        )


@needs_torch
def test_camera_loop_exports_and_records_the_reference_score(student, golden_dir, tmp_path):
    from arniqa_edge.camera.metrics import QaMetrics
    from arniqa_edge.cvrkd.golden import GoldenReferences

    golden = GoldenReferences.open(student, golden_dir, device="cpu")
    alerts = AlertSet(AlertConfig(low=0.4, raise_after=0.0, frozen_after=0, blank_after=0))
    metrics = QaMetrics(list(alerts.switches), reference=True)
    event_log = EventLog(tmp_path / "events.jsonl", source="scripted")
    image = base_frame()
    loop = scripted_loop(
        [moving(image, i) for i in range(4)],
        FakeClock(),
        alerts,
        score=lambda img: 0.1,
        reference=golden.score,
        max_frames=3,
        metrics=metrics,
        on_event=lambda event, img: event_log.record(event, img),
    )
    stats = loop.run()
    event_log.close()

    assert stats.scored == 3 and 0 <= stats.last_reference <= 1 and 0 <= stats.last_reference_smoothed <= 1
    assert stats.last_reference == pytest.approx(golden.score(moving(image, 2)), abs=1e-6)
    body = metrics.exposition().decode()
    assert f"arniqa_reference_score {stats.last_reference!r}" in body
    assert "arniqa_reference_score_smoothed" in body and "arniqa_reference_inference_seconds_count 3.0" in body
    record = json.loads((tmp_path / "events.jsonl").read_text().splitlines()[0])
    assert record["alert"] == LOW_QUALITY and record["state"] == "raised"
    assert 0 <= record["reference_score"] <= 1


@needs_torch
def test_camera_cli_alerts_on_the_reference_score(student, golden_dir, nr_args, tmp_path, capsys):
    video = write_video(tmp_path / "cam.avi", sharp_blurred_sharp((3, 0, 0)))
    events = tmp_path / "events.jsonl"
    code = camera_cli.main(
        [
            "--source",
            str(video),
            "--max-frames",
            "2",
            "--rate",
            "20",
            "--no-metrics",
            "--raise-after",
            "0",
            "--low",
            "0",
            "--high",
            "0",
            "--reference-low",
            "1",  # every score is below it: the alert must be raised
            "--reference-high",
            "1",
            "--events",
            str(events),
            *reference_args(student, golden_dir),
            *nr_args,
        ]
    )
    assert code == 0, capsys.readouterr().err
    records = [json.loads(line) for line in events.read_text().splitlines()]
    assert [(r["alert"], r["state"]) for r in records] == [(LOW_REFERENCE_QUALITY, "raised")]
    assert 0 <= records[0]["reference_score"] <= 1


def test_reference_model_defaults_to_the_shipped_one_and_says_when_none_ships(
    clip, golden_dir, without_shipped_weights, capsys
):
    assert video_cli.main([str(clip), "--reference-dir", str(golden_dir)]) == 2
    assert "no reference model ships in this installation" in capsys.readouterr().err
    assert camera_cli.main(["0", "--reference-dir", str(golden_dir)]) == 2
    assert "no reference model ships in this installation" in capsys.readouterr().err
    assert not (clip.parent / "clip.scores.csv").exists()


def test_camera_reference_setup_errors(tmp_path, capsys):
    assert camera_cli.main(["--source", "0", "--reference-dir", str(tmp_path)]) == 2
    assert "no image files" in capsys.readouterr().err
    assert camera_cli.main(["--source", "0", "--reference-low", "0.4"]) == 2
    assert "--reference-low needs --reference-dir" in capsys.readouterr().err
    assert (
        camera_cli.main(
            [
                "--source",
                "0",
                "--reference-dir",
                str(tmp_path),
                "--reference-model",
                "s.safetensors",
                "--reference-low",
                "0.4",
                "--reference-high",
                "0.3",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "reference_high=0.3" in err and "Traceback" not in err
