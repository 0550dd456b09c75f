"""When each frame was shown: the container's presentation timestamps (PTS) when it has them.

index / fps is wrong for a variable-frame-rate file and for a stream that drops or
delays frames; the PTS is what the source itself says. OpenCV gives it as
CAP_PROP_POS_MSEC after each grab (0 when the container has none). A frame without
a usable PTS (none at all, or one not after the previous frame's: a source without
timestamps, a stream that restarts its clock) is placed after the previous frame at
the source's frame rate, or by the wall clock when the rate is unknown too, and
later PTS continue from there: timestamps never go back.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class FrameClock:
    """Seconds from the start of the source for each frame, in order.

    fps: the source's nominal rate (0 when unknown). from_first_frame: count from
    the first frame's PTS (live sources, whose clock started before the stream;
    a camera's PTS is the time since boot) rather than from the container's zero
    (files).
    """

    def __init__(self, fps: float, from_first_frame: bool = False, clock: Callable[[], float] = time.monotonic):
        self.fps = fps
        self._from_first_frame = from_first_frame
        self._clock = clock
        self._started = clock()
        self._origin: float | None = None  # the PTS (ms) that is second 0
        self._last_pts: float | None = None
        self._last: tuple[int, float] | None = None  # (index, seconds) of the previous frame
        self.from_pts = 0  #: frames timed by their PTS

    def time_of(self, index: int, pts_ms: float | None) -> float:
        """The time of frame `index` (frames come in increasing order), given its PTS in ms if any."""
        if pts_ms is not None and math.isfinite(pts_ms) and pts_ms >= 0 and self._after_last(pts_ms):
            if self._origin is None:
                self._origin = pts_ms if self._from_first_frame else 0.0
            seconds = (pts_ms - self._origin) / 1000.0
            if self._last is None or seconds > self._last[1]:
                self._last_pts = pts_ms
                self.from_pts += 1
                return self._remember(index, seconds)
        seconds = self._estimate(index)
        if pts_ms is not None and math.isfinite(pts_ms) and self._last_pts is not None:
            # A PTS that went back (a restarted clock) or stood still: later ones count on from this frame.
            self._origin, self._last_pts = pts_ms - seconds * 1000.0, pts_ms
        return self._remember(index, seconds)

    def _after_last(self, pts_ms: float) -> bool:
        return self._last_pts is None or pts_ms > self._last_pts

    def _estimate(self, index: int) -> float:
        if not self.fps:
            now = self._clock() - self._started  # a live source without a rate: the wall clock
            return now if self._last is None else max(now, self._last[1])
        if self._last is None:
            return index / self.fps
        last_index, last_seconds = self._last
        return last_seconds + (index - last_index) / self.fps

    def _remember(self, index: int, seconds: float) -> float:
        self._last = (index, seconds)
        return seconds
