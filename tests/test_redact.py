"""Credentials in source strings are hidden wherever a source is shown: no model, no video."""

import logging

import pytest

from arniqa_edge.redact import redact
from arniqa_edge.sources import Backoff, ReconnectingSource, VideoSourceError, open_capture


@pytest.mark.parametrize(
    "source, shown",
    [
        ("rtsp://admin:secret@10.0.0.7:554/stream1", "rtsp://***@10.0.0.7:554/stream1"),
        ("rtsps://admin:secret@cam/s", "rtsps://***@cam/s"),
        ("http://user:secret@127.0.0.1:8080/x.avi", "http://***@127.0.0.1:8080/x.avi"),
        ("https://TOKENsecret@host/live.m3u8", "https://***@host/live.m3u8"),
        ("rtmp://u:secret@host/app", "rtmp://***@host/app"),
        ("http://admin:p@ss:secret@cam/x", "http://***@cam/x"),  # a raw "@" in the password
        (
            "rtspsrc location=rtsp://u:secret@cam/1 latency=0 ! decodebin ! appsink",
            "rtspsrc location=rtsp://***@cam/1 latency=0 ! decodebin ! appsink",
        ),
        ('rtspsrc location="rtsp://u:my secret@cam/1" ! appsink', 'rtspsrc location="rtsp://***@cam/1" ! appsink'),
        (
            "rtspsrc location=rtsp://cam/1 user-id=admin user-pw=secret ! appsink",
            "rtspsrc location=rtsp://cam/1 user-id=admin user-pw=*** ! appsink",
        ),
        (
            "http://cam/video.cgi?user=admin&pwd=secret&resolution=640",
            "http://cam/video.cgi?user=admin&pwd=***&resolution=640",
        ),
    ],
)
def test_hides_the_credentials_and_keeps_the_rest(source, shown):
    assert redact(source) == shown
    assert "secret" not in redact(source)


@pytest.mark.parametrize(
    "source",
    [
        "clip.mp4",
        "0",
        "rtsp://cam/stream",
        "http://host/a@b.avi",
        "dir/clip@2x.avi",
        "v4l2src device=/dev/video0 ! videoconvert ! appsink",
    ],
)
def test_leaves_sources_without_credentials_alone(source):
    assert redact(source) == source


def test_source_errors_and_reconnect_logs_hide_the_password(caplog):
    url = "http://user:secret@127.0.0.1:1/cam.avi"  # nothing listens on port 1: refused at once
    with pytest.raises(VideoSourceError) as error:
        open_capture(url)
    assert "secret" not in str(error.value) and "http://***@127.0.0.1:1/cam.avi" in str(error.value)

    source = ReconnectingSource(
        lambda: open_capture(url), name=url, backoff=Backoff(0.0, 0.0), max_reconnects=1, sleep=lambda seconds: None
    )
    with caplog.at_level(logging.INFO), pytest.raises(VideoSourceError) as given_up:
        while True:
            source.read()
    assert "secret" not in str(given_up.value) and "secret" not in caplog.text
    assert "***@127.0.0.1" in caplog.text
