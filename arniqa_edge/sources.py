"""Video sources: one string names a file, a URL, a camera index or a GStreamer pipeline.

`open_capture` turns that string into an opened `cv2.VideoCapture` or a
`VideoSourceError` that says what went wrong. `ReconnectingSource` wraps a source
that may fail (a camera unplugged, a stream that drops) and reopens it with
exponential backoff and jitter, counting each reconnect, until an optional limit.
Messages and names carry the source with its credentials hidden (`redact`).
"""

from __future__ import annotations

import logging
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .errors import ArniqaEdgeError
from .redact import redact

log = logging.getLogger(__name__)

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


class VideoSourceError(ArniqaEdgeError):
    """A video source that cannot be opened, or that failed for good."""


class Capture(Protocol):
    """What the code needs of a `cv2.VideoCapture`; synthetic sources in tests implement it too."""

    def isOpened(self) -> bool: ...
    def read(self) -> tuple[bool, np.ndarray | None]: ...
    def grab(self) -> bool: ...
    def get(self, prop: int) -> float: ...
    def release(self) -> None: ...


def source_kind(spec: str) -> str:
    """ "camera" (an integer index), "url", "gstreamer" (a pipeline with `!`) or "file"."""
    if spec.strip().isdigit():
        return "camera"
    if _URL.match(spec):
        return "url"
    if "!" in spec:
        return "gstreamer"
    return "file"


def open_capture(spec: str) -> cv2.VideoCapture:
    """Open a source with the OpenCV backend its kind needs."""
    kind = source_kind(spec)
    shown = redact(spec)  # error messages end up in logs and event records
    if kind == "file":
        path = Path(spec)
        if not path.exists():
            raise VideoSourceError(f"{shown}: no such file")
        if path.is_dir():
            raise VideoSourceError(f"{shown}: is a directory, not a video")
        capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    elif kind == "camera":
        capture = cv2.VideoCapture(int(spec))
    elif kind == "url":
        capture = cv2.VideoCapture(spec, cv2.CAP_FFMPEG)
    else:
        if not _opencv_has("GStreamer"):
            raise VideoSourceError(
                f"{shown!r} looks like a GStreamer pipeline, but this OpenCV build has no GStreamer support "
                "(opencv-python-headless from PyPI has none; on a Jetson use the system OpenCV of JetPack)"
            )
        capture = cv2.VideoCapture(spec, cv2.CAP_GSTREAMER)
    if not capture.isOpened():
        capture.release()
        raise VideoSourceError(f"{shown}: cannot open this {kind} source" + _HINTS.get(kind, ""))
    return capture


_HINTS = {
    "file": " (not a video, an unsupported codec, or a corrupt file)",
    "camera": " (no such device, or it is in use by another process)",
    "url": " (unreachable, wrong address or credentials, or an unsupported protocol)",
    "gstreamer": " (check the pipeline with gst-launch-1.0; it must end in appsink)",
}


def _opencv_has(feature: str) -> bool:
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith(f"{feature}:"):
            return "YES" in line
    return False


@dataclass(frozen=True)
class SourceInfo:
    width: int
    height: int
    fps: float  #: 0 when the source does not say
    frame_count: int  #: 0 when unknown (live streams, some containers)


def source_info(capture: Capture) -> SourceInfo:
    fps = capture.get(cv2.CAP_PROP_FPS)
    count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    return SourceInfo(
        width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
        height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        fps=float(fps) if fps and fps > 0 and np.isfinite(fps) else 0.0,
        frame_count=int(count) if count and count > 0 and np.isfinite(count) else 0,
    )


@dataclass
class Backoff:
    """Delays between retries: initial, multiplied by `factor` each time, capped at maximum.

    jitter: each delay is drawn from [(1 - jitter) * d, d] rather than d itself, so that a
    fleet of cameras that lost the same server does not retry in lockstep (0: exact delays).
    """

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5
    rng: random.Random | None = None

    def __post_init__(self):
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be in [0, 1], got {self.jitter}")

    def delays(self):
        rng = self.rng or random.Random()
        delay = self.initial
        while True:
            yield delay * (1 - self.jitter * rng.random())
            delay = min(delay * self.factor, self.maximum)


class ReconnectingSource:
    """A source that reopens itself after failures.

    `read()` returns the next frame, or None after a failed read or reopen (the
    caller goes on with its loop; the next `read()` tries again after the backoff
    delay). `reconnects` counts reopen attempts, `failures` failed reads, `frames`
    frames delivered. With `max_reconnects` it raises `VideoSourceError` rather
    than make more than that many reopen attempts in a row without a frame
    between them (0: give up at the first failure; None: retry forever, as a
    camera watcher does by default). `interrupt()` cuts a backoff wait short,
    from another thread, when the caller shuts down. `name` is shown in logs and
    errors with its credentials hidden.
    """

    def __init__(
        self,
        open_fn: Callable[[], Capture],
        name: str = "source",
        backoff: Backoff | None = None,
        max_reconnects: int | None = None,
        sleep: Callable[[float], object] | None = None,
    ):
        if max_reconnects is not None and max_reconnects < 0:
            raise ValueError(f"max_reconnects must be >= 0 or None, got {max_reconnects}")
        self._open_fn = open_fn
        self.name = redact(name)
        self._backoff = backoff or Backoff()
        self._max_reconnects = max_reconnects
        self._interrupted = threading.Event()
        self._sleep = sleep or self._interrupted.wait
        self._capture: Capture | None = None
        self._delays = None
        self._tried_before = False
        self._failed_opens = 0
        self._reconnects_without_frame = 0
        self._last_problem = ""
        self.reconnects = 0
        self.failures = 0
        self.frames = 0

    @property
    def connected(self) -> bool:
        return self._capture is not None

    def read(self) -> np.ndarray | None:
        if self._capture is None and not self._reopen():
            return None
        ok, frame = self._capture.read()
        if ok and frame is not None:
            self._delays = None  # healthy again: the next outage starts from the initial delay
            self._reconnects_without_frame = 0
            self.frames += 1
            return frame
        self.failures += 1
        self._last_problem = "read failed"
        log.warning("%s: read failed (stream ended, device lost or a corrupt frame); reconnecting", self.name)
        self._drop()
        return None

    def _reopen(self) -> bool:
        if self._tried_before:
            if self._max_reconnects is not None and self._reconnects_without_frame >= self._max_reconnects:
                raise VideoSourceError(
                    f"{self.name}: gave up after {self._reconnects_without_frame} reconnect "
                    f"attempts without a frame (last: {self._last_problem})"
                )
            if self._delays is None:
                self._delays = self._backoff.delays()
            self._sleep(next(self._delays))
            self.reconnects += 1
            self._reconnects_without_frame += 1
        self._tried_before = True
        try:
            self._capture = self._open_fn()
        except ArniqaEdgeError as exc:
            self._failed_opens += 1
            # open_capture's messages start with the source already: say it once.
            self._last_problem = redact(str(exc)).removeprefix(f"{self.name}: ")
            log.warning("%s: %s (attempt %d)", self.name, self._last_problem, self._failed_opens)
            return False
        if self.reconnects:
            log.info("%s: reconnected (reconnect %d)", self.name, self.reconnects)
        self._failed_opens = 0
        return True

    def interrupt(self) -> None:
        self._interrupted.set()

    def _drop(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def close(self) -> None:
        self._drop()
