"""The camera loop when the source or the receivers fail: source_lost / source_restored events, giving up, exit
statuses, webhook retries, reconnect jitter, credentials kept out of logs and events, Ctrl-C while loading.

No model: scores come from stand-ins, time from a fake clock where it matters."""

import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from video_helpers import FakeClock, Script

from arniqa_edge.camera import AlertConfig, AlertSet, QaLoop, SequentialFeed, make_smoother
from arniqa_edge.camera import cli as camera_cli
from arniqa_edge.camera.alerts import SOURCE_LOST, SourceWatch
from arniqa_edge.camera.cli import main
from arniqa_edge.camera.events import EventLog, Notifier
from arniqa_edge.sources import Backoff, ReconnectingSource, VideoSourceError

RATE = 10.0
QUIET = AlertConfig(frozen_after=0, blank_after=0)


def live_frame(k: int) -> np.ndarray:
    return np.full((36, 48, 3), k % 200 + 20, np.uint8)


class OutageCapture:
    """A camera on a fake clock: frames, except from `down` to `up` seconds (reads and reopens fail)."""

    def __init__(self, clock: FakeClock, down: float, up: float):
        self.clock, self.down, self.up, self.count = clock, down, up, 0

    def is_down(self) -> bool:
        return self.down <= self.clock() < self.up

    def open(self):
        if self.is_down():
            raise VideoSourceError("camera unreachable")
        return self

    def isOpened(self):  # noqa: N802 - the cv2.VideoCapture API
        return True

    def read(self):
        if self.is_down():
            return False, None
        self.count += 1
        return True, live_frame(self.count)

    def release(self):
        pass


def scripted_loop(open_fn, clock, events, max_reconnects=None, **options):
    source = ReconnectingSource(
        open_fn,
        name="rtsp://admin:secret@cam/1",
        backoff=Backoff(0.5, 2.0, jitter=0),
        max_reconnects=max_reconnects,
        sleep=clock.sleep,
    )
    return QaLoop(
        SequentialFeed(source, clock=clock),
        lambda image: 0.9,
        make_smoother("none"),
        AlertSet(QUIET),
        on_event=lambda event, image: events.append(event),
        rate_hz=RATE,
        clock=clock,
        wait=clock.sleep,
        **options,
    )


# -- 12. source lost / restored -------------------------------------------------------------------------------------


def test_source_watch_has_hysteresis():
    watch = SourceWatch(lost_after=3.0, restored_after=1.0)
    timeline = [
        (0.0, True),
        (1.0, True),
        (2.0, False),
        (3.5, False),
        (4.0, False),  # last frame at 1: lost at 4
        (5.0, True),
        (6.0, False),
        (7.0, False),
        (8.0, False),  # one frame is not "back"
        (8.5, True),
        (9.0, True),
        (9.5, True),
        (10.0, True),
    ]  # flowing from 8.5: back at 9.5
    changes = [(t, event.state) for t, got in timeline if (event := watch.update(t, got)) is not None]
    assert changes == [(4.0, "raised"), (9.5, "cleared")]
    never = SourceWatch(lost_after=2.0)
    assert never.update(10.0, False) is None and never.update(12.0, False).detail == "no frame since the start (2.0 s)"


def test_a_lost_camera_raises_source_lost_then_source_restored():
    clock, events = FakeClock(), []
    camera = OutageCapture(clock, down=2.0, up=8.0)
    loop = scripted_loop(
        camera.open, clock, events, duration=12.0, source_watch=SourceWatch(lost_after=3.0, restored_after=1.0)
    )
    stats = loop.run()
    assert [(e.name, e.state) for e in events] == [("source_lost", "raised"), ("source_restored", "cleared")]
    lost, restored = events
    # The last frame came just before t = 2 and the next at t = 8 or a backoff delay (<= 2 s) later.
    assert 5.0 <= lost.time <= 7.0 and lost.detail.startswith("no frame for ")
    assert 9.0 <= restored.time <= 11.0 and restored.active_for == pytest.approx(restored.time - lost.time)
    record = lost.to_dict()
    assert record["event"] == "source_lost" and record["alert"] == SOURCE_LOST and record["state"] == "raised"
    assert restored.to_dict()["event"] == "source_restored"
    assert stats.received > 0 and loop.feed.source.reconnects >= 3


def test_a_camera_that_never_comes_up_is_given_up_after_max_reconnects():
    clock, events = FakeClock(), []
    script = Script([live_frame(0)], fail_opens=1000)
    loop = scripted_loop(script.open, clock, events, max_reconnects=3)
    with pytest.raises(VideoSourceError, match="gave up after 3 reconnect attempts without a frame"):
        loop.run()
    assert script.opens == 4 and loop.stats.received == 0
    [event] = events  # raised at once on giving up, before lost_after (10 s) was reached
    assert event.name == "source_lost" and event.detail.startswith("no frame since the start")
    assert "gave up" in event.detail and "secret" not in event.detail


def test_give_up_after_seconds_without_a_frame():
    clock, events = FakeClock(), []
    loop = scripted_loop(
        Script([], fail_opens=1000).open, clock, events, give_up_after=6.0, source_watch=SourceWatch(lost_after=2.0)
    )
    with pytest.raises(VideoSourceError, match=r"rtsp://\*\*\*@cam/1: gave up after \d s without a frame"):
        loop.run()
    assert 6.0 <= clock() <= 8.0 and [e.name for e in events] == ["source_lost"]  # reopens are 2 s apart


# -- 12. reconnect and webhook backoff with jitter ---------------------------------------------------------------


def test_reconnect_delays_have_jitter_within_bounds():
    def first(seed):
        delays = Backoff(1.0, 8.0, jitter=0.5, rng=random.Random(seed)).delays()
        return [next(delays) for _ in range(6)]

    a, b = first(1), first(2)
    nominal = [1, 2, 4, 8, 8, 8]
    assert all(0.5 * d <= x <= d for x, d in zip(a, nominal)) and a != b  # a fleet spreads its retries
    exact = Backoff(1.0, 8.0, jitter=0).delays()
    assert [next(exact) for _ in range(5)] == [1, 2, 4, 8, 8]


class FlakyReceiver(BaseHTTPRequestHandler):
    """Answers the first `failures` POSTs with `status`, then 204."""

    failures, status, received = 0, 503, []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append(body)
        failing = len(type(self).received) <= type(self).failures
        self.send_response(type(self).status if failing else 204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    handler = type("Receiver", (FlakyReceiver,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield handler, f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_a_failed_webhook_post_is_retried_with_backoff(receiver):
    handler, url = receiver
    handler.failures = 2
    waits = []
    notifier = Notifier(url, retries=3, backoff=Backoff(0.01, 0.05), sleep=waits.append)
    notifier.send({"alert": "low_quality", "state": "raised"})
    notifier.close()
    assert len(handler.received) == 3 and notifier.delivered == 1 and notifier.failures == 0
    assert len(waits) == 2 and 0.005 <= waits[0] <= 0.01 and 0.01 <= waits[1] <= 0.02


def test_webhook_retries_are_bounded_and_skip_client_errors(receiver, caplog):
    handler, url = receiver
    handler.failures, handler.status = 100, 503
    notifier = Notifier(url, retries=2, backoff=Backoff(0.01, 0.01), sleep=lambda s: None)
    notifier.send({"alert": "blank", "state": "raised"})
    notifier.close()
    assert len(handler.received) == 3 and notifier.failures == 1  # 1 try + 2 retries, then given up
    assert "failed after 3 attempt(s): HTTP 503" in caplog.text

    handler.received.clear()
    handler.status = 400  # the receiver rejects the record: another try would not change that
    notifier = Notifier(url, retries=2, sleep=lambda s: None)
    notifier.send({"alert": "blank", "state": "raised"})
    notifier.close()
    assert len(handler.received) == 1 and notifier.failures == 1


# -- 12 and 10 through the CLI: a source that never comes up, with a password in its URL ----------------------------


class FakeScorer:
    def __init__(self, **options):
        pass

    def score(self, image):
        return 0.9


def test_cli_gives_up_on_a_source_that_never_comes_up(tmp_path, receiver, monkeypatch, capsys):
    handler, url = receiver
    monkeypatch.setattr(camera_cli, "Scorer", FakeScorer)
    events = tmp_path / "events.jsonl"
    source = "http://admin:secret@127.0.0.1:1/cam.avi"  # nothing listens on port 1
    code = main(
        [
            "--source",
            source,
            "--max-reconnects",
            "2",
            "--reconnect-delay",
            "0.01",
            "--no-metrics",
            "--events",
            str(events),
            "--webhook",
            url,
            "-v",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 2
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        "error: http://***@127.0.0.1:1/cam.avi: gave up after 2 reconnect attempts without a frame (last: cannot "
        "open this url source (unreachable, wrong address or credentials, or an unsupported protocol)) (it never "
        "delivered a frame)"
    ]
    [record] = [json.loads(line) for line in events.read_text().splitlines()]
    assert record["event"] == "source_lost" and record["source"] == "http://***@127.0.0.1:1/cam.avi"
    assert handler.received == [record]  # the webhook got it too
    assert "secret" not in out + err + events.read_text()


def test_cli_exits_non_zero_when_the_source_never_came_up(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(camera_cli, "Scorer", FakeScorer)
    events = tmp_path / "events.jsonl"
    code = main(
        [
            "--source",
            "rtsp://admin:secret@127.0.0.1:1/stream",
            "--duration",
            "1.0",
            "--lost-after",
            "0.3",
            "--reconnect-delay",
            "0.05",
            "--no-metrics",
            "--events",
            str(events),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 2
    assert "error: rtsp://***@127.0.0.1:1/stream: no frame in 1 s; the source never came up" in err
    assert [json.loads(line)["event"] for line in events.read_text().splitlines()] == ["source_lost"]
    assert "secret" not in out + err + events.read_text()


def test_event_records_hide_credentials(tmp_path):
    log = EventLog(tmp_path / "events.jsonl", source="rtspsrc location=rtsp://u:secret@cam/1 ! appsink")
    watch = SourceWatch(lost_after=1.0)
    watch.update(0.0, False)
    record = log.record(watch.update(1.0, False), None)
    log.close()
    assert record["source"] == "rtspsrc location=rtsp://***@cam/1 ! appsink"
    assert "secret" not in (tmp_path / "events.jsonl").read_text()


# -- 7. Ctrl-C while the model loads ----------------------------------------------------------------------------------


def test_ctrl_c_while_the_model_loads_exits_130_in_one_line(tmp_path, monkeypatch, capsys):
    def interrupted(**options):
        raise KeyboardInterrupt

    monkeypatch.setattr(camera_cli, "Scorer", interrupted)
    try:
        code = main(["0", "--no-metrics", "-o", str(tmp_path / "events.jsonl")])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped main(): a traceback for the user")
    assert code == 130
    assert capsys.readouterr().err.splitlines() == ["error: interrupted while starting (loading the model)"]


def test_new_options_are_validated_and_documented(capsys):
    for bad in (
        ["--lost-after", "0"],
        ["--give-up-after", "inf"],
        ["--max-reconnects", "-1"],
        ["--webhook-retries", "x"],
    ):
        with pytest.raises(SystemExit) as exit_:
            main(["--source", "0"] + bad)
        assert exit_.value.code == 2
    text = " ".join(camera_cli.build_parser().format_help().split())
    for option in (
        "--lost-after SECONDS",
        "--restored-after SECONDS",
        "--max-reconnects N",
        "--give-up-after SECONDS",
        "--webhook-retries N",
    ):
        assert option in text
    assert "(default: retry forever)" in text and "(default: 10.0)" in text
