"""The video scorer when things go wrong: corrupt frames, full disks, streams that break off, credentials in URLs,
bad options and Ctrl-C while the model loads."""

import contextlib
import csv
import json
import resource
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import pytest
from conftest import has_torch
from video_helpers import ServedDirectory, damage_frames, sharp_blurred_sharp, write_video

from arniqa_edge.video import VideoReader
from arniqa_edge.video import cli as video_cli
from arniqa_edge.video.cli import main
from arniqa_edge.video.sinks import JsonSink

needs_torch = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")
DAMAGED = [10, 11, 12, 13]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """30 frames at 10 fps (MJPG .avi): intact, with frames 10-13 undecodable, and cut off at 60%."""
    folder = tmp_path_factory.mktemp("clips")
    clip = write_video(folder / "clip.avi", sharp_blurred_sharp())
    damage_frames(clip, DAMAGED, folder / "damaged.avi")
    (folder / "cut.avi").write_bytes(clip.read_bytes()[: int(clip.stat().st_size * 0.6)])
    return folder


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


def error_lines(err: str) -> list[str]:
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith(("error:", "ERROR"))]


# -- 4. one corrupt frame must not end the video ----------------------------------------------------------------


def test_reader_skips_undecodable_frames_and_hands_them_on_in_order(clips):
    reader = VideoReader(str(clips / "damaged.avi"))
    frames = list(reader)
    assert [f.index for f in frames] == list(range(30))
    assert [f.index for f in frames if f.image is None] == DAMAGED
    assert all(f.error == "undecodable frame" for f in frames if f.image is None)
    assert reader.end == "complete" and reader.frames_read == 26


def test_reader_stops_after_the_configured_run_of_failures(clips):
    reader = VideoReader(str(clips / "damaged.avi"), max_failures=3)
    frames = list(reader)
    assert [f.index for f in frames] == list(range(10)) and reader.end == "truncated"
    assert "3 frames in a row could not be decoded" in reader.end_message
    with_stride = VideoReader(str(clips / "damaged.avi"), stride=4)
    assert [(f.index, f.image is None) for f in with_stride][2:5] == [(8, False), (12, True), (16, False)]


@needs_torch
def test_corrupt_frames_are_counted_and_listed_in_the_outputs(clips, tmp_path, model_args, capsys):
    code = main([str(clips / "damaged.avi"), "--out-dir", str(tmp_path), "--batch-size", "4"] + model_args)
    out, err = capsys.readouterr()
    assert code == 1  # partial: results kept, some frames failed
    assert error_lines(err) == [
        "error: 4 frames could not be decoded or scored (frames 10-13); the outputs list "
        "them beside the 26 frames scored"
    ]
    assert "26 frames scored, 4 failed" in out
    rows = read_csv(tmp_path / "damaged.scores.csv")
    assert [int(r["frameNum"]) for r in rows] == list(range(30))
    assert [int(r["frameNum"]) for r in rows if r["error"]] == DAMAGED
    assert all(r["arniqa"] == "" for r in rows if r["error"]) and all(r["arniqa"] for r in rows if not r["error"])
    report = json.loads((tmp_path / "damaged.scores.json").read_text())
    assert report["status"] == "partial" and report["frames_scored"] == 26 and report["frames_failed"] == 4
    assert [f["frameNum"] for f in report["failed_frames"]] == DAMAGED and len(report["frames"]) == 26


@needs_torch
def test_max_consecutive_failures_option_ends_the_run(clips, tmp_path, model_args, capsys):
    code = main(
        [str(clips / "damaged.avi"), "--out-dir", str(tmp_path), "--max-consecutive-failures", "2"] + model_args
    )
    assert code == 1
    assert "2 frames in a row could not be decoded" in capsys.readouterr().err
    assert json.loads((tmp_path / "damaged.scores.json").read_text())["status"] == "truncated"
    assert len(read_csv(tmp_path / "damaged.scores.csv")) == 10


# -- 3. a failing output: one line, the others finished and consistent ---------------------------------------------


@contextlib.contextmanager
def file_size_limit(size: int):
    """What `ulimit -f` does, for this process: writes past `size` bytes fail with EFBIG."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


@needs_torch
def test_full_disk_fails_the_json_cleanly(clips, tmp_path, model_args, monkeypatch, capsys):
    monkeypatch.setattr(JsonSink, "INTERVAL", 0.0, raising=False)  # rewritten every frame: outgrows the limit
    with file_size_limit(4096):  # ulimit -f 4
        code = main([str(clips / "clip.avi"), "--out-dir", str(tmp_path)] + model_args)
    out, err = capsys.readouterr()
    assert code == 1
    [line] = error_lines(err)
    assert line.startswith(f"error: could not write {tmp_path / 'clip.scores.json'}: File too large")
    rows = read_csv(tmp_path / "clip.scores.csv")
    report = json.loads((tmp_path / "clip.scores.json").read_text())  # a summary with the final status
    assert report["status"] == "failed" and "File too large" in report["message"]
    assert 5 < len(rows) < 30 and report["frames_scored"] == len(rows)
    assert not list(tmp_path.glob("*.tmp"))
    assert f"incomplete {tmp_path / 'clip.scores.json'}" in out


@needs_torch
def test_full_disk_leaves_whole_csv_rows(clips, tmp_path, model_args, capsys):
    with file_size_limit(400):
        code = main([str(clips / "clip.avi"), "--out-dir", str(tmp_path), "--no-json"] + model_args)
    assert code == 1
    [line] = error_lines(capsys.readouterr().err)
    assert "clip.scores.csv: File too large" in line
    text = (tmp_path / "clip.scores.csv").read_text()
    assert text.endswith("\n") and all(len(line.split(",")) == 5 for line in text.splitlines())


# -- 5. a stream that breaks off is not a success ------------------------------------------------------------------


def test_a_url_that_breaks_off_is_truncated_and_its_damage_skipped(clips):
    with ServedDirectory(clips) as host:
        cut = VideoReader(f"http://{host}/cut.avi")
        assert 5 <= len(list(cut)) < 30 and cut.ended_early and cut.end == "truncated"
        damaged = VideoReader(f"http://{host}/damaged.avi")
        assert [f.index for f in damaged if f.image is None] == DAMAGED and damaged.end == "complete"


class MjpegStream(BaseHTTPRequestHandler):
    """A live MJPEG stream (multipart, no length) of 12 frames, then the server hangs up."""

    def do_GET(self):  # noqa: N802 - the http.server API
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        for frame in sharp_blurred_sharp((4, 4, 4)):
            jpeg = cv2.imencode(".jpg", frame)[1].tobytes()
            self.wfile.write(
                b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg) + jpeg + b"\r\n"
            )

    def log_message(self, *args):
        pass


def test_a_live_stream_that_stops_has_ended():
    server = ThreadingHTTPServer(("127.0.0.1", 0), MjpegStream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        reader = VideoReader(f"http://127.0.0.1:{server.server_port}/live")
        assert len(list(reader)) == 12
    finally:
        server.shutdown()
        server.server_close()
    assert reader.info.frame_count == 0 and reader.end == "ended" and not reader.ended_early
    assert "stopped delivering frames after 12 frames" in reader.end_message


# -- 5 and 10: a URL with credentials, scored end to end -------------------------------------------------------------


@needs_torch
def test_url_that_breaks_off_exits_1_and_never_shows_the_password(clips, tmp_path, model_args, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with ServedDirectory(clips) as host:
        code = main([f"http://user:secret@{host}/cut.avi", "-v"] + model_args)
    out, err = capsys.readouterr()
    assert code == 1
    [json_path] = tmp_path.glob("*.scores.json")
    report = json.loads(json_path.read_text())
    assert report["status"] == "truncated" and report["source"] == f"http://***@{host}/cut.avi"
    assert "of the 30 frames its container announces" in report["message"]
    assert "secret" not in out + err and "user" not in json_path.name
    assert not [p for p in tmp_path.iterdir() if "secret" in p.name or "secret" in p.read_text()]


# -- 7. bad options and Ctrl-C while loading -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, value, wanted",
    [("--merge-gap", "inf", ">= 0"), ("--merge-gap", "nan", ">= 0"), ("--fps", "0", "> 0"), ("--fps", "inf", "> 0")],
)
def test_non_finite_durations_are_argparse_errors(option, value, wanted, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["clip.avi", option, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"{option}: must be a finite number {wanted}" in err and "Traceback" not in err


def test_ctrl_c_while_the_model_loads_exits_130_in_one_line(clips, monkeypatch, capsys):
    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(video_cli, "Scorer", interrupted)
    try:
        code = main([str(clips / "clip.avi"), "--weights", "w", "--regressor", "r"])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped main(): a traceback for the user")
    assert code == 130
    err = capsys.readouterr().err
    assert err.splitlines() == ["error: interrupted while starting (loading the model, opening the source)"]
    assert not list(clips.glob("*.scores.*"))


def test_help_documents_the_new_option():
    text = " ".join(video_cli.build_parser().format_help().split())
    assert "--max-consecutive-failures N frames that cannot be decoded or scored are skipped" in text
    assert "(default: 25, about a second of video)" in text
