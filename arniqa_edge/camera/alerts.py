"""Alert logic: pure functions of (time, value) sequences, so tests drive them with a fake clock.

An alert is raised when its trigger has held for `raise_after` seconds and
cleared when its recovery condition has held for `clear_after` seconds. For the
quality alert the trigger is "smoothed score < low" and recovery is "smoothed
score >= high" with high > low: a score wandering between the two thresholds
(the hysteresis band) neither raises nor clears anything. When frames are also
scored against golden references, a second quality alert watches the smoothed
reference score the same way, with its own thresholds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

LOW_QUALITY, FROZEN, BLANK = "low_quality", "frozen", "blank"
#: Low quality judged against the golden references (CVRKD) rather than without a reference.
LOW_REFERENCE_QUALITY = "low_reference_quality"


@dataclass(frozen=True)
class AlertEvent:
    alert: str          #: LOW_QUALITY, LOW_REFERENCE_QUALITY, FROZEN or BLANK
    state: str          #: "raised" or "cleared"
    time: float         #: the loop clock's time of the frame that flipped it
    frame: int          #: that frame's sequence number
    score: float        #: its smoothed score
    active_for: float = 0.0  #: for "cleared": how long the alert was up
    reference_score: float | None = None  #: its smoothed score against the golden references, if scored

    def to_dict(self) -> dict:
        record = asdict(self)
        if record["reference_score"] is None:  # a camera without references: records as they always were
            del record["reference_score"]
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
    low: float = 0.4               #: raise when the smoothed score stays below this...
    high: float = 0.45             #: ...and clear when it is back at or above this
    raise_after: float = 3.0       #: seconds below `low` before raising
    clear_after: float = 5.0       #: seconds at or above `high` before clearing
    frozen_after: float = 10.0     #: seconds of identical frames before a FROZEN alert (0: off)
    blank_after: float = 5.0       #: seconds of uniform frames (lens cap, black feed) before BLANK (0: off)
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
        raise ValueError(f"the clear threshold ({prefix}high={high}) must be >= the alert threshold "
                         f"({prefix}low={low})")


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

    def update(self, t: float, frame: int, smoothed: float, image: np.ndarray | None = None,
               reference: float | None = None) -> list[AlertEvent]:
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
            frozen = (not blank and self._previous_thumbnail is not None
                      and _unchanged(thumbnail, self._previous_thumbnail))
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
                events.append(AlertEvent(name, state, t, frame, smoothed,
                                         active_for=t - since if state == "cleared" else 0.0,
                                         reference_score=reference))
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
