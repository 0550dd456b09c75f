"""Alert logic: pure functions of (time, value) sequences, so tests drive them with a fake clock.

An alert is raised when its trigger has held for `raise_after` seconds and
cleared when its recovery condition has held for `clear_after` seconds. For the
quality alert the trigger is "smoothed score < low" and recovery is "smoothed
score >= high" with high > low: a score wandering between the two thresholds
(the hysteresis band) neither raises nor clears anything. When frames are also
scored against golden references, a second quality alert watches the smoothed
reference score the same way, with its own thresholds.

The source itself is watched too (`SourceWatch`): SOURCE_LOST is raised when no
frame came for `lost_after` seconds (a camera unplugged, a stream that dropped,
or one that never came up) and cleared, reported as "source_restored", once
frames have come again, without such a gap, for `restored_after` seconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

LOW_QUALITY, FROZEN, BLANK = "low_quality", "frozen", "blank"
#: Low quality judged against the golden references (CVRKD) rather than without a reference.
LOW_REFERENCE_QUALITY = "low_reference_quality"
#: No frames from the source; its events are named SOURCE_LOST when raised and SOURCE_RESTORED when cleared.
SOURCE_LOST, SOURCE_RESTORED = "source_lost", "source_restored"


@dataclass(frozen=True)
class AlertEvent:
    alert: str  #: LOW_QUALITY, LOW_REFERENCE_QUALITY, FROZEN, BLANK or SOURCE_LOST
    state: str  #: "raised" or "cleared"
    time: float  #: the loop clock's time of the frame that flipped it (SOURCE_LOST: of the check)
    frame: int  #: that frame's sequence number (SOURCE_LOST: the last frame received, 0 if none)
    score: float | None  #: its smoothed score (SOURCE_LOST: the last one, None before any)
    active_for: float = 0.0  #: for "cleared": how long the alert was up
    reference_score: float | None = None  #: its smoothed score against the golden references, if scored
    detail: str | None = None  #: what happened, in words (SOURCE_LOST)

    @property
    def name(self) -> str:
        """The event's name: SOURCE_LOST / SOURCE_RESTORED for the source, else the alert's."""
        if self.alert == SOURCE_LOST:
            return SOURCE_LOST if self.state == "raised" else SOURCE_RESTORED
        return self.alert

    def to_dict(self) -> dict:
        record = asdict(self)
        for optional in ("reference_score", "detail"):  # records as they always were when unused
            if record[optional] is None:
                del record[optional]
        if self.alert == SOURCE_LOST:
            record = {"event": self.name, **record}
        return record


#: Times like frame / rate are not exact in floating point: 4.1 - 3.6 < 0.5.
_TIME_TOLERANCE = 1e-6


class Debounced:
    """A two-state switch that flips only after the condition for flipping has held long enough."""

    def __init__(self, raise_after: float, clear_after: float):
        if raise_after < 0 or clear_after < 0:
            raise ValueError("raise_after and clear_after must be >= 0 seconds")
        self.raise_after, self.clear_after = raise_after, clear_after
        self.active = False
        self.since: float | None = None  # when the alert went up
        self._holding_since: float | None = None

    def update(self, t: float, trigger: bool, recovered: bool) -> str | None:
        """Feed one observation; returns "raised", "cleared" or None."""
        condition, needed = (recovered, self.clear_after) if self.active else (trigger, self.raise_after)
        if not condition:
            self._holding_since = None
            return None
        if self._holding_since is None:
            self._holding_since = t
        if t - self._holding_since < needed - _TIME_TOLERANCE:
            return None
        self._holding_since = None
        self.active = not self.active
        self.since = t if self.active else None
        return "raised" if self.active else "cleared"


@dataclass(frozen=True)
class AlertConfig:
    low: float = 0.4  #: raise when the smoothed score stays below this...
    high: float = 0.45  #: ...and clear when it is back at or above this
    raise_after: float = 3.0  #: seconds below `low` before raising
    clear_after: float = 5.0  #: seconds at or above `high` before clearing
    frozen_after: float = 10.0  #: seconds of identical frames before a FROZEN alert (0: off)
    blank_after: float = 5.0  #: seconds of uniform frames (lens cap, black feed) before BLANK (0: off)
    #: LOW_REFERENCE_QUALITY when the smoothed reference score stays below this (None: no such alert),
    #: cleared at or above `reference_high`; timed by raise_after and clear_after as LOW_QUALITY is
    reference_low: float | None = None
    reference_high: float | None = None

    def __post_init__(self):
        _check_band("", self.low, self.high)
        if (self.reference_low is None) != (self.reference_high is None):
            raise ValueError("reference_low and reference_high go together: set both or neither")
        if self.reference_low is not None:
            _check_band("reference_", self.reference_low, self.reference_high)


def _check_band(prefix: str, low: float, high: float) -> None:
    if high < low:
        raise ValueError(
            f"the clear threshold ({prefix}high={high}) must be >= the alert threshold ({prefix}low={low})"
        )


def _band(value: float, low: float, high: float) -> tuple[bool, bool]:
    """(trigger, recovered) of a quality alert with hysteresis: below `low` / at or above `high`."""
    return value < low, value >= high


class AlertSet:
    """The camera's alerts: low quality on the smoothed score (and on the smoothed reference score, when
    configured), plus frozen and blank pictures."""

    def __init__(self, config: AlertConfig = AlertConfig()):
        self.config = config
        self.switches = {LOW_QUALITY: Debounced(config.raise_after, config.clear_after)}
        if config.reference_low is not None:
            self.switches[LOW_REFERENCE_QUALITY] = Debounced(config.raise_after, config.clear_after)
        if config.frozen_after > 0:
            self.switches[FROZEN] = Debounced(config.frozen_after, 0.0)
        if config.blank_after > 0:
            self.switches[BLANK] = Debounced(config.blank_after, 0.0)
        self._previous_thumbnail: np.ndarray | None = None

    def active(self) -> dict[str, bool]:
        return {name: switch.active for name, switch in self.switches.items()}

    def update(
        self, t: float, frame: int, smoothed: float, image: np.ndarray | None = None, reference: float | None = None
    ) -> list[AlertEvent]:
        """Feed one frame: its smoothed score, optionally its pixels (frozen, blank) and its smoothed score
        against the references; returns the alerts it raised or cleared."""
        config = self.config
        conditions = {LOW_QUALITY: _band(smoothed, config.low, config.high)}
        if reference is not None and config.reference_low is not None:
            conditions[LOW_REFERENCE_QUALITY] = _band(reference, config.reference_low, config.reference_high)
        if image is not None:
            thumbnail = _thumbnail(image)
            blank = float(thumbnail.std()) < BLANK_STD
            # A blank picture repeats itself too; report it once, as blank.
            frozen = (
                not blank and self._previous_thumbnail is not None and _unchanged(thumbnail, self._previous_thumbnail)
            )
            conditions[FROZEN] = (frozen, not frozen)
            conditions[BLANK] = (blank, not blank)
            self._previous_thumbnail = thumbnail
        events = []
        for name, (trigger, recovered) in conditions.items():
            switch = self.switches.get(name)
            if switch is None:
                continue
            since = switch.since
            state = switch.update(t, trigger, recovered)
            if state is not None:
                events.append(
                    AlertEvent(
                        name,
                        state,
                        t,
                        frame,
                        smoothed,
                        active_for=t - since if state == "cleared" else 0.0,
                        reference_score=reference,
                    )
                )
        return events


#: A picture whose grey levels vary less than this (std, 0..255) is blank.
BLANK_STD = 4.0
#: Frames whose thumbnails differ by less than this (mean abs, 0..255) are the same picture;
#: a live sensor's noise alone moves a thumbnail more than that.
FROZEN_DIFF = 0.25


def _thumbnail(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, (64, 36), interpolation=cv2.INTER_AREA).astype(np.float32)


def _unchanged(a: np.ndarray, b: np.ndarray) -> bool:
    return float(np.abs(a - b).mean()) < FROZEN_DIFF


class SourceWatch:
    """Whether the source delivers frames: SOURCE_LOST with hysteresis, on the loop's clock.

    Lost when no frame came for `lost_after` seconds (counted from the first
    update when no frame ever came); restored once frames have come for
    `restored_after` seconds with no gap of `lost_after` between them.
    """

    def __init__(self, lost_after: float = 10.0, restored_after: float = 2.0):
        if not lost_after > 0 or restored_after < 0:
            raise ValueError("lost_after must be > 0 and restored_after >= 0 seconds")
        self.lost_after, self.restored_after = lost_after, restored_after
        self.lost = False
        self.since: float | None = None  # when the loss was declared
        self.last_frame_at: float | None = None
        self._watching_since: float | None = None
        self._flowing_since: float | None = None

    def silence(self, t: float) -> float:
        """Seconds without a frame at time t (since the watch began when none came yet)."""
        reference = self.last_frame_at if self.last_frame_at is not None else self._watching_since
        return 0.0 if reference is None else t - reference

    def update(self, t: float, got_frame: bool, frame: int = 0, score: float | None = None) -> AlertEvent | None:
        """Feed one check of the source (frame: the last frame number received, score: the last smoothed
        score, both for the event); returns the SOURCE_LOST event it raised or cleared, if any."""
        if self._watching_since is None:
            self._watching_since = t
        if not got_frame:
            if self.lost or self.silence(t) < self.lost_after - _TIME_TOLERANCE:
                return None
            return self.declare_lost(t, frame, score)
        gap = self.silence(t)
        self.last_frame_at = t
        if not self.lost:
            return None
        if self._flowing_since is None or gap >= self.lost_after - _TIME_TOLERANCE:
            self._flowing_since = t  # the first frame back, or frames again after another long gap
        if t - self._flowing_since < self.restored_after - _TIME_TOLERANCE:
            return None
        lost_for = t - self.since
        self.lost, self.since, self._flowing_since = False, None, None
        return AlertEvent(
            SOURCE_LOST,
            "cleared",
            t,
            frame,
            score,
            active_for=lost_for,
            detail=f"frames again for {self.restored_after:g} s, after {lost_for:.1f} s lost",
        )

    def declare_lost(
        self, t: float, frame: int = 0, score: float | None = None, reason: str | None = None
    ) -> AlertEvent | None:
        """Lost now (also before lost_after, e.g. when the source is given up on); the event, or None when
        it already was."""
        if self.lost:
            return None
        silence = self.silence(t)
        self.lost, self.since, self._flowing_since = True, t, None
        what = (
            f"no frame since the start ({silence:.1f} s)"
            if self.last_frame_at is None
            else f"no frame for {silence:.1f} s"
        )
        return AlertEvent(SOURCE_LOST, "raised", t, frame, score, detail=f"{what}: {reason}" if reason else what)
