"""The QA loop on synthetic sources with known quality changes, a fake clock and the real scorer."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from conftest import ROOT, gaussian_blur, has_torch
from video_helpers import FakeClock, Script, base_frame, moving, sharp_blurred_sharp, write_video

from arniqa_edge.camera import AlertConfig, AlertSet, LatestFrameGrabber, QaLoop, SequentialFeed, make_smoother
from arniqa_edge.camera.alerts import BLANK, FROZEN, LOW_QUALITY
from arniqa_edge.camera.cli import main
from arniqa_edge.camera.metrics import MetricsServer, QaMetrics
from arniqa_edge.scorer import Scorer
from arniqa_edge.sources import Backoff, ReconnectingSource

needs_torch = pytest.mark.skipif(not has_torch(), reason="needs torch and timm")
RATE = 10.0


@pytest.fixture(scope="module")
def scorer(lite0_imagenet_weights, blur_regressor):
    return Scorer(weights=lite0_imagenet_weights, regressor=blur_regressor, backend="torch", device="cpu")


@pytest.fixture(scope="module")
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
    ]


def make_loop(script, scorer, clock, alerts, **options):
    source = ReconnectingSource(script.open, backoff=Backoff(0.5, 4.0), sleep=clock.sleep)
    loop = QaLoop(
        SequentialFeed(source, clock=clock),
        scorer.score,
        make_smoother("none"),
        alerts,
        rate_hz=RATE,
        clock=clock,
        wait=clock.sleep,
        reconnects=lambda: source.reconnects,
        **options,
    )
    return loop, source


@needs_torch
def test_alerts_fire_and_clear_on_the_degraded_segments(scorer):
    image = base_frame()
    sharp = lambda start, count: [moving(image, i) for i in range(start, start + count)]  # noqa: E731
    frames = (
        sharp(0, 8)  # positions 0-7
        + [gaussian_blur(moving(image, i), 3.0) for i in range(8, 18)]  # 8-17 blurred
        + sharp(18, 10)  # 18-27
        + [moving(image, 27)] * 6  # 28-33 frozen
        + [np.zeros_like(image)] * 6  # 34-39 black
        + sharp(40, 5)
    )  # 40-44
    frames[3] = np.zeros((10, 10, 3), np.uint8)  # a bad frame: too small to score
    script = Script(frames, fail_at={43})  # and the link drops once near the end
    sharp_score, blurred_score = scorer.score(frames[0]), scorer.score(frames[12])
    low = (sharp_score + blurred_score) / 2
    alerts = AlertSet(
        AlertConfig(low=low, high=low + 0.02, raise_after=0.3, clear_after=0.3, frozen_after=0.3, blank_after=0.3)
    )
    events, scores = [], {}
    clock = FakeClock()
    loop, source = make_loop(
        script,
        scorer,
        clock,
        alerts,
        max_frames=len(frames) - 1,
        on_event=lambda event, image: events.append(event),
        on_scored=lambda frame, score, smoothed: scores.update({frame.index - 1: score}),
    )
    stats = loop.run()

    assert stats.scored == len(frames) - 1 and stats.errors == 1 and source.reconnects == 1
    assert max(scores[p] for p in range(8, 18)) < min(scores[p] for p in range(18, 34))
    # One tick per frame at 10 Hz: position p is read at t = p / 10, and frame numbers count from 1.
    timeline = [(e.alert, e.state, e.frame - 1) for e in events]
    low_quality = [t for t in timeline if t[0] == LOW_QUALITY]
    assert low_quality[:2] == [(LOW_QUALITY, "raised", 11), (LOW_QUALITY, "cleared", 21)]
    assert (FROZEN, "raised", 31) in timeline and (FROZEN, "cleared", 34) in timeline
    assert (BLANK, "raised", 37) in timeline and (BLANK, "cleared", 40) in timeline
    assert not loop.alerts.active()[FROZEN] and not loop.alerts.active()[BLANK]


@needs_torch
def test_reconnects_with_backoff_until_the_camera_is_back(scorer):
    clock = FakeClock()
    sleeps = []
    script = Script([base_frame()] * 3, fail_opens=3)
    source = ReconnectingSource(
        script.open, backoff=Backoff(0.5, 1.5, jitter=0), sleep=lambda s: (sleeps.append(s), clock.sleep(s))
    )
    loop = QaLoop(
        SequentialFeed(source, clock),
        scorer.score,
        make_smoother("ema"),
        AlertSet(),
        rate_hz=RATE,
        max_frames=3,
        clock=clock,
        wait=clock.sleep,
    )
    assert loop.run().scored == 3
    assert source.reconnects == 3 and script.opens == 4 and sleeps == [0.5, 1.0, 1.5]


class CountingCapture:
    """A fast live source: frame k has every pixel = k % 256."""

    def __init__(self, fail_at=()):
        self.count, self.fail_at = 0, set(fail_at)

    def isOpened(self):
        return True

    def read(self):
        time.sleep(0.002)
        self.count += 1
        if self.count in self.fail_at:
            return False, None
        return True, np.full((48, 64, 3), self.count % 256, np.uint8)

    def release(self):
        pass


def test_grabber_keeps_only_the_newest_frame_and_reconnects():
    capture = CountingCapture(fail_at={5})
    source = ReconnectingSource(lambda: capture, backoff=Backoff(0.01, 0.01))
    grabber = LatestFrameGrabber(source)
    try:
        taken = []
        for _ in range(4):
            time.sleep(0.05)  # a slow consumer
            taken.append(grabber.next_frame(timeout=1.0))
        assert all(frame is not None for frame in taken)
        assert [f.index for f in taken] == sorted(f.index for f in taken)
        assert grabber.dropped > 10  # ~25 frames arrive per 50 ms; all but the newest are dropped
        assert source.reconnects == 1
    finally:
        grabber.close()
    assert not grabber._thread.is_alive()


@needs_torch
def test_metrics_and_health_endpoints(scorer):
    clock = FakeClock(100.0)
    alerts = AlertSet(AlertConfig(low=0.99, high=0.99, raise_after=0.0))
    metrics = QaMetrics(list(alerts.switches))
    loop, _ = make_loop(Script([base_frame()] * 4), scorer, clock, alerts, max_frames=3, metrics=metrics)
    server = MetricsServer(metrics, loop.health, port=0)
    try:
        assert server.address[0] == "127.0.0.1" and server.port > 0
        url = f"http://127.0.0.1:{server.port}"
        with pytest.raises(urllib.error.HTTPError) as starting:  # nothing scored yet
            urllib.request.urlopen(f"{url}/healthz", timeout=5)
        assert starting.value.code == 503
        loop.run()
        body = urllib.request.urlopen(f"{url}/metrics", timeout=5).read().decode()
        health = json.loads(urllib.request.urlopen(f"{url}/healthz", timeout=5).read())
    finally:
        server.close()
    assert "arniqa_frames_scored_total 3.0" in body
    assert 'arniqa_alert_active{alert="low_quality"} 1.0' in body
    assert "arniqa_inference_seconds_count 3.0" in body and "arniqa_score_smoothed" in body
    assert health["status"] == "ok" and health["source_connected"] is True


class Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@needs_torch
def test_cli_records_events_snapshots_and_webhook(tmp_path, model_args, capsys):
    video = write_video(tmp_path / "cam.avi", sharp_blurred_sharp((5, 5, 5)))
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    events = tmp_path / "events.jsonl"
    try:
        code = main(
            [
                "--source",
                str(video),
                "--max-frames",
                "3",
                "--rate",
                "20",
                "--metrics-port",
                "0",
                "--low",
                "0.99",
                "--raise-after",
                "0",
                "--events",
                str(events),
                "--snapshot-dir",
                str(tmp_path / "snaps"),
                "--webhook",
                f"http://127.0.0.1:{receiver.server_port}/hook",
                "--on-event",
                f"{sys.executable} -c \"import sys; open(r'{tmp_path / 'cmd.json'}', 'w').write(sys.stdin.read())\"",
            ]
            + model_args
        )
    finally:
        receiver.shutdown()
    assert code == 0
    assert "stopped: 3 frames scored" in capsys.readouterr().out
    record = json.loads(events.read_text().splitlines()[0])
    assert record["alert"] == "low_quality" and record["state"] == "raised"
    assert os.path.getsize(record["snapshot"]) > 0
    assert Receiver.received[0]["frame"] == record["frame"]
    assert json.loads((tmp_path / "cmd.json").read_text())["alert"] == "low_quality"


def test_cli_setup_errors(tmp_path, capsys):
    assert main(["--source", "0", "--reference-dir", str(tmp_path)]) == 2
    assert main(["--source", str(tmp_path / "missing.avi"), "--weights", "w", "--regressor", "r"]) == 2
    err = capsys.readouterr().err
    assert "no image files" in err and "Traceback" not in err


@needs_torch
def test_sigterm_stops_cleanly(tmp_path, model_args):
    video = write_video(tmp_path / "cam.avi", sharp_blurred_sharp((5, 5, 5)))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "arniqa_edge.camera",
            "--source",
            str(video),
            "--metrics-port",
            "0",
            "-v",
            "--events",
            str(tmp_path / "events.jsonl"),
        ]
        + model_args,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in process.stderr:  # wait until the loop is set up
            if "metrics on" in line:
                break
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "stopped:" in out and "frames scored" in out
