"""Frames for the QA loop: the newest one from a live source, or the next one in order.

`LatestFrameGrabber` reads the source in its own thread and keeps only the newest
frame, so a loop slower than the camera never builds a backlog; frames replaced
before the loop took them are counted as dropped. `SequentialFeed` reads one
frame per request in the caller's thread: no drops, fully deterministic (tests,
offline replays).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ..pipeline import Frame
from ..sources import ReconnectingSource

log = logging.getLogger(__name__)


class SequentialFeed:
    def __init__(self, source: ReconnectingSource, clock: Callable[[], float] = time.monotonic):
        self.source, self._clock = source, clock
        self._sequence = 0
        self.dropped = 0

    def next_frame(self, timeout: float) -> Frame | None:
        image = self.source.read()
        if image is None:
            return None
        self._sequence += 1
        return Frame(self._sequence, self._clock(), image)

    def close(self) -> None:
        self.source.close()


class LatestFrameGrabber:
    """Reads `source` continuously in a thread; `next_frame` hands out the newest unseen frame.

    pace_fps: read no faster than this (a video file standing in for a camera
    would otherwise be decoded as fast as the CPU allows); 0 = as fast as frames come.
    """

    def __init__(self, source: ReconnectingSource, clock: Callable[[], float] = time.monotonic, pace_fps: float = 0.0):
        self.source, self._clock = source, clock
        self._period = 1.0 / pace_fps if pace_fps > 0 else 0.0
        self._stopped = threading.Event()
        self._fresh = threading.Condition()
        self._latest: Frame | None = None
        self._sequence = 0
        self.dropped = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="arniqa-grabber", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stopped.is_set():
                started = time.monotonic()
                image = self.source.read()
                if image is not None:
                    self._publish(image)
                    if self._period:
                        self._stopped.wait(max(0.0, self._period - (time.monotonic() - started)))
        except BaseException as error:  # noqa: BLE001 - handed to the loop through next_frame
            self.error = error
            with self._fresh:
                self._fresh.notify_all()

    def _publish(self, image) -> None:
        with self._fresh:
            if self._latest is not None:
                self.dropped += 1  # the loop never took the previous one
            self._sequence += 1
            self._latest = Frame(self._sequence, self._clock(), image)
            self._fresh.notify_all()

    def next_frame(self, timeout: float) -> Frame | None:
        """The newest frame not handed out yet; None if none came within `timeout` seconds."""
        with self._fresh:
            self._fresh.wait_for(lambda: self._latest is not None or self.error is not None, timeout=timeout)
            if self.error is not None:
                raise self.error
            frame, self._latest = self._latest, None
            return frame

    def close(self) -> None:
        self._stopped.set()
        self.source.interrupt()  # no waiting out a reconnect backoff
        self._thread.join(timeout=5)
        self.source.close()
