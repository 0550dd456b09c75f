"""The camera QA loop: at a target rate, score the newest frame, smooth, update alerts, report.

    feed.next_frame ─▶ score ─▶ smoother ─▶ AlertSet ─▶ on_event (log, snapshot, notify)
                                   └──────────▶ metrics (gauges, counters, latency)

With golden references, each frame is also scored against them (`reference`, a
frame -> [0, 1] callable such as `GoldenReferences.score`); that score has a
smoother of its own and goes to the alerts, the events and the metrics beside
the no-reference score.

The source is watched as well: no frame for `lost_after` seconds raises a
source_lost event (also for a source that never comes up), frames flowing again
for `restored_after` seconds a source_restored one. These go to `on_event` like
the alerts, without an image.

Time comes from an injected clock and waiting from an injected `wait`, so tests
run the loop on a fake clock, frame by frame. A frame that cannot be scored is
counted and skipped; the loop ends on `stop`, after `max_frames` or `duration`,
or when the source is given up on: the feed gives up (a reconnect limit), or no
frame came for `give_up_after` seconds; then a source_lost event (if not raised
yet) goes out before the `VideoSourceError`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from ..errors import ArniqaEdgeError
from ..pipeline import Frame
from ..sources import VideoSourceError
from .alerts import LOW_REFERENCE_QUALITY, SOURCE_LOST, AlertEvent, AlertSet, SourceWatch
from .metrics import QaMetrics, health_state

log = logging.getLogger(__name__)

#: What scoring a bad frame may raise; the loop counts it and goes on.
FRAME_ERRORS = (ArniqaEdgeError, ValueError, cv2.error)


class Feed(Protocol):
    dropped: int

    def next_frame(self, timeout: float) -> Frame | None: ...


class Smoother(Protocol):
    def update(self, score: float) -> float: ...


@dataclass
class LoopStats:
    scored: int = 0
    stale: int = 0  #: frames older than max_frame_age when taken: skipped
    errors: int = 0  #: frames that could not be scored
    events: int = 0
    last_score: float | None = None
    last_smoothed: float | None = None
    last_reference: float | None = None  #: against the golden references, when scored
    last_reference_smoothed: float | None = None
    last_scored_at: float | None = None
    connected: bool = False  #: whether the last request for a frame got one
    received: int = 0  #: frames the feed delivered (scored, stale or failed); 0: the source never came up


class QaLoop:
    def __init__(
        self,
        feed: Feed,
        score: Callable[[np.ndarray], float],
        smoother: Smoother,
        alerts: AlertSet,
        on_event: Callable[[AlertEvent, np.ndarray], None] = lambda event, image: None,
        rate_hz: float = 2.0,
        max_frames: int | None = None,
        duration: float | None = None,
        max_frame_age: float = 2.0,
        metrics: QaMetrics | None = None,
        reconnects: Callable[[], int] = lambda: 0,
        on_scored: Callable[[Frame, float, float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], object] | None = None,
        stop: threading.Event | None = None,
        reference: Callable[[np.ndarray], float] | None = None,
        reference_smoother: Smoother | None = None,
        source_watch: SourceWatch | None = None,
        give_up_after: float | None = None,
    ):
        if (reference is None) != (reference_smoother is None):
            raise ValueError(
                "a reference score needs a smoother of its own: pass reference and reference_smoother together"
            )
        self.feed, self._score, self.smoother, self.alerts = feed, score, smoother, alerts
        self._reference, self.reference_smoother = reference, reference_smoother
        self._on_event, self._on_scored = on_event, on_scored
        self.period = 1.0 / rate_hz if rate_hz > 0 else 0.0
        self.max_frames, self.duration, self.max_frame_age = max_frames, duration, max_frame_age
        self.metrics, self._reconnects = metrics, reconnects
        self.stop = stop or threading.Event()
        self.clock = clock
        self._wait = wait or self.stop.wait  # a stop request cuts the wait short
        self.source_watch = source_watch or SourceWatch()
        self.give_up_after = give_up_after
        self.stats = LoopStats()
        self.started_at = clock()
        self._last_frame_number = 0

    def run(self) -> LoopStats:
        self.started_at = next_tick = self.clock()
        while not self.stop.is_set() and not self._done():
            self.step()
            next_tick += self.period
            delay = next_tick - self.clock()
            if delay > 0:
                self._wait(delay)
            else:
                next_tick = self.clock()  # behind schedule: skip the missed ticks, never burst to catch up
        return self.stats

    def _done(self) -> bool:
        if self.max_frames is not None and self.stats.scored >= self.max_frames:
            return True
        return self.duration is not None and self.clock() - self.started_at >= self.duration

    def health(self) -> dict:
        """The /healthz state: ok while frames are scored, stale after 5 periods (10 s at least) without."""
        return health_state(
            self.stats.last_scored_at,
            self.clock(),
            stale_after=max(10.0, 5 * self.period),
            connected=self.stats.connected,
            started=self.started_at,
        )

    def step(self) -> None:
        """Score the newest frame, if one came, and act on it."""
        try:
            frame = self.feed.next_frame(timeout=self.period or 1.0)
        except VideoSourceError as exc:  # the feed gave up on its source
            self._lose_source(str(exc).removeprefix(f"{self._source_name()}: "))
            raise
        self.stats.connected = frame is not None
        try:
            self._watch_source(frame)
            if frame is None:
                return
            if self.clock() - frame.timestamp > self.max_frame_age:
                self.stats.stale += 1
                return
            self._handle(frame)
        finally:
            self._sync_metrics()

    def _watch_source(self, frame: Frame | None) -> None:
        """Source lost / restored events; give up after give_up_after seconds without a frame."""
        now = self.clock()
        if frame is not None:
            self.stats.received += 1
            self._last_frame_number = frame.index
        event = self.source_watch.update(now, frame is not None, self._last_frame_number, self.stats.last_smoothed)
        if event is not None:
            self._report(event, None)
        if frame is None and self.give_up_after is not None:
            silence = self.source_watch.silence(now)
            if silence >= self.give_up_after:
                reason = f"gave up after {silence:.0f} s without a frame"
                self._lose_source(reason)
                raise VideoSourceError(f"{self._source_name()}: {reason}")

    def _lose_source(self, reason: str) -> None:
        event = self.source_watch.declare_lost(
            self.clock(), self._last_frame_number, self.stats.last_smoothed, reason=reason
        )
        if event is not None:
            self._report(event, None)
        self._sync_metrics()

    def _source_name(self) -> str:
        return getattr(getattr(self.feed, "source", None), "name", "the source")

    def _handle(self, frame: Frame) -> None:
        started = time.perf_counter()
        try:
            score = float(self._score(frame.image))
            scored_at = time.perf_counter()
            # Both scores or neither: a frame that fails either one is skipped as a whole.
            reference = float(self._reference(frame.image)) if self._reference else None
        except FRAME_ERRORS as exc:
            self.stats.errors += 1
            log.warning("frame %d not scored: %s", frame.index, exc)
            return
        latency, reference_latency = scored_at - started, time.perf_counter() - scored_at
        smoothed = self.smoother.update(score)
        smoothed_reference = None if reference is None else self.reference_smoother.update(reference)
        stats = self.stats
        stats.scored += 1
        stats.last_score, stats.last_smoothed, stats.last_scored_at = score, smoothed, self.clock()
        stats.last_reference, stats.last_reference_smoothed = reference, smoothed_reference
        if self.metrics:
            self.metrics.latency.observe(latency)
            self.metrics.scored.inc()
            self.metrics.score.set(score)
            self.metrics.smoothed.set(smoothed)
            if reference is not None:
                self.metrics.observe_reference(reference, smoothed_reference, reference_latency)
        if self._on_scored:
            self._on_scored(frame, score, smoothed)
        for event in self.alerts.update(
            frame.timestamp, frame.index, smoothed, frame.image, reference=smoothed_reference
        ):
            self._report(event, frame.image)

    def _report(self, event: AlertEvent, image: np.ndarray | None) -> None:
        self.stats.events += 1
        which, value = (
            ("smoothed reference score", event.reference_score)
            if event.alert == LOW_REFERENCE_QUALITY
            else ("smoothed score", event.score)
        )
        if event.alert == SOURCE_LOST:
            log.warning(
                "%s %s: %s",
                "SOURCE LOST" if event.state == "raised" else "source restored",
                self._source_name(),
                event.detail,
            )
        elif event.state == "raised":
            log.warning("ALERT %s raised at frame %d (%s %.3f)", event.alert, event.frame, which, value)
        else:
            log.warning(
                "alert %s cleared at frame %d after %.1f s (%s %.3f)",
                event.alert,
                event.frame,
                event.active_for,
                which,
                value,
            )
        if self.metrics:
            self.metrics.alert.labels(event.alert).set(1 if event.state == "raised" else 0)
        try:
            self._on_event(event, image)
        except OSError as exc:  # a full disk must not stop the watching
            log.error("could not record the %s event: %s", event.alert, exc)

    def _sync_metrics(self) -> None:
        if self.metrics:
            self.metrics.connected.set(1 if self.stats.connected else 0)
            self.metrics.sync_counts(
                dropped=self.feed.dropped,
                stale=self.stats.stale,
                errors=self.stats.errors,
                reconnects=self._reconnects(),
            )
