import csv
import json

import numpy as np
import pytest
from conftest import has_torch
from video_helpers import sharp_blurred_sharp, write_video

from arniqa_edge.video import VideoReader, pooled_summary, worst_segments
from arniqa_edge.video.cli import main
from arniqa_edge.video.demo import make_demo_video

needs_torch = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """30 frames at 10 fps: sharp 0-9, blurred 10-19, sharp 20-29 (MJPG in .avi)."""
    return write_video(tmp_path_factory.mktemp("video") / "clip.avi", sharp_blurred_sharp())


@pytest.fixture
def model_args(lite0_imagenet_weights, blur_regressor):
    return [
        "--weights",
        str(lite0_imagenet_weights),
        "--regressor",
        str(blur_regressor),
        "--backend",
        "torch",
        "--device",
        "cpu",
        "--no-progress",
    ]


def read_csv(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def test_pooled_summary_and_worst_segments():
    summary = pooled_summary([0.5, 1.0, 0.0, 0.5])
    assert summary["mean"] == 0.5 and summary["min"] == 0.0
    assert summary["harmonic_mean"] == pytest.approx(1 / np.mean(1 / np.array([1.5, 2.0, 1.0, 1.5])) - 1, abs=1e-6)
    assert summary["harmonic_mean"] < summary["mean"] and summary["p50"] == 0.5
    scores = [0.9] * 10 + [0.2] * 4 + [0.9] * 6 + [0.5] * 4
    segments = worst_segments(list(range(24)), [i / 10 for i in range(24)], scores, threshold=0.8, count=3)
    assert [(s.start_frame, s.end_frame) for s in segments] == [(10, 13), (20, 23)]


def test_reader_strides_and_rates(clip):
    assert [f.index for f in VideoReader(str(clip), stride=4)] == [0, 4, 8, 12, 16, 20, 24, 28]
    frames = list(VideoReader(str(clip), fps=2.5))
    assert [f.index for f in frames] == [0, 4, 8, 12, 16, 20, 24, 28]
    assert frames[1].timestamp == pytest.approx(0.4)
    reader = VideoReader(str(clip), max_frames=5)
    assert len(list(reader)) == 5 and not reader.ended_early


@needs_torch
def test_scores_every_frame_with_all_outputs(clip, model_args, tmp_path, capsys):
    code = main(
        [str(clip), "--out-dir", str(tmp_path), "--annotate", "--plot", "--report", "--batch-size", "4"] + model_args
    )
    out = capsys.readouterr().out
    assert code == 0
    rows = read_csv(tmp_path / "clip.scores.csv")
    assert [int(r["frameNum"]) for r in rows] == list(range(30))
    scores = np.array([float(r["arniqa"]) for r in rows])
    assert scores[10:20].max() < min(scores[:10].min(), scores[20:].min())  # the blurred stretch

    report = json.loads((tmp_path / "clip.scores.json").read_text())
    assert report["status"] == "complete" and len(report["frames"]) == 30
    assert report["frames"][12]["frameNum"] == 12 and report["frames"][12]["timestamp"] == pytest.approx(1.2)
    assert report["pooled_metrics"]["arniqa"]["mean"] == pytest.approx(scores.mean(), abs=1e-5)
    worst = report["worst_segments"][0]  # the blurred stretch, whole
    assert 9 <= worst["start_frame"] <= 11 and 18 <= worst["end_frame"] <= 20
    assert (tmp_path / "clip.scores.png").stat().st_size > 5000
    assert len(list(VideoReader(str(tmp_path / "clip.annotated.avi")))) == 30
    page = (tmp_path / "clip.report.html").read_text()
    assert page.count("data:image/jpeg;base64,") == len(report["worst_segments"]) and "data:image/png" in page
    assert "worst #1" in out and f"wrote {tmp_path / 'clip.report.html'}" in out


@needs_torch
def test_mp4_input_with_stride(tmp_path, model_args):
    video = write_video(tmp_path / "clip.mp4", sharp_blurred_sharp((4, 4, 4)))
    assert main([str(video), "--stride", "3", "--no-json"] + model_args) == 0
    assert [r["frameNum"] for r in read_csv(tmp_path / "clip.scores.csv")] == ["0", "3", "6", "9"]
    assert not (tmp_path / "clip.scores.json").exists()


@needs_torch
def test_truncated_file_keeps_what_was_scored(clip, tmp_path, model_args, capsys):
    truncated = tmp_path / "cut.avi"
    truncated.write_bytes(clip.read_bytes()[: int(clip.stat().st_size * 0.6)])
    code = main([str(truncated)] + model_args)
    err = capsys.readouterr().err
    assert code == 1
    assert "truncated or corrupt" in err and "Traceback" not in err
    rows = read_csv(tmp_path / "cut.scores.csv")
    report = json.loads((tmp_path / "cut.scores.json").read_text())
    assert 5 <= len(rows) < 30
    assert report["status"] == "truncated" and len(report["frames"]) == len(rows)


@needs_torch
def test_interrupt_inside_the_pipeline_keeps_every_scored_frame(clip, tmp_path, model_args, monkeypatch, capsys):
    decode = VideoReader._decode

    def interrupted_after_12(self):
        for count, frame in enumerate(decode(self)):
            if count == 12:
                raise KeyboardInterrupt  # as Ctrl-C would, in the decoder thread
            yield frame

    monkeypatch.setattr(VideoReader, "_decode", interrupted_after_12)
    code = main([str(clip), "--out-dir", str(tmp_path), "--plot", "--batch-size", "5"] + model_args)
    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    assert [int(r["frameNum"]) for r in read_csv(tmp_path / "clip.scores.csv")] == list(range(12))
    report = json.loads((tmp_path / "clip.scores.json").read_text())
    assert report["status"] == "interrupted" and len(report["frames"]) == 12
    assert (tmp_path / "clip.scores.png").exists()


def test_setup_errors_exit_2_without_traceback(tmp_path, capsys):
    assert main([str(tmp_path / "missing.avi"), "--weights", "w", "--regressor", "r"]) == 2
    assert main([str(tmp_path / "missing.avi"), "--model", "arniqa-r50"]) == 2  # none ship: it says what to pass
    err = capsys.readouterr().err
    assert "no trained weights ship" in err and "Traceback" not in err


@needs_torch
def test_missing_source_is_reported(tmp_path, model_args, capsys):
    assert main([str(tmp_path / "missing.avi")] + model_args) == 2
    assert "missing.avi: no such file" in capsys.readouterr().err


def test_demo_video_has_its_segments(tmp_path):
    video = make_demo_video(tmp_path / "demo.avi")
    reader = VideoReader(str(video))
    frames = list(reader)
    assert len(frames) == 120 and frames[0].image.shape == (240, 320, 3)


@needs_torch
def test_demo_scores_a_few_frames(tmp_path, model_args, capsys):
    assert main(["--demo", "--out-dir", str(tmp_path), "--max-frames", "6"] + model_args) == 0
    out = capsys.readouterr().out
    assert "2.5-4.5s blur" in out and "6 frames scored" in out
    assert {p.name for p in tmp_path.iterdir()} >= {
        "demo.avi",
        "demo.scores.csv",
        "demo.scores.json",
        "demo.scores.png",
        "demo.annotated.avi",
        "demo.report.html",
    }
    page = (tmp_path / "demo.report.html").read_text()
    assert "Degraded on purpose (demo video)" in page and "2.5-4.5 s: blur" in page


def test_source_kinds_and_their_errors(tmp_path):
    from arniqa_edge.sources import VideoSourceError, open_capture, source_kind

    assert [
        source_kind(s) for s in ("0", "rtsp://cam/1", "http://x/y.mjpg", "clip.mp4", "v4l2src ! videoconvert ! appsink")
    ] == ["camera", "url", "url", "file", "gstreamer"]
    with pytest.raises(VideoSourceError, match="is a directory"):
        open_capture(str(tmp_path))
    not_video = tmp_path / "notes.avi"
    not_video.write_text("not a video")
    with pytest.raises(VideoSourceError, match="cannot open this file source"):
        open_capture(str(not_video))
