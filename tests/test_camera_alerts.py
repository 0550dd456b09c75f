"""Alert logic on plain score sequences with a fake clock: no model, no threads."""

import numpy as np
import pytest

from arniqa_edge.camera import AlertConfig, AlertSet, Debounced, Ema, WindowMedian
from arniqa_edge.camera.alerts import BLANK, FROZEN, LOW_QUALITY, LOW_REFERENCE_QUALITY


def run(alerts: AlertSet, scores, rate: float = 10.0, images=None):
    """Feed scores at `rate` per second; returns [(frame, alert, state)]."""
    events = []
    for frame, score in enumerate(scores):
        image = images[frame] if images is not None else None
        events += [(e.frame, e.alert, e.state) for e in alerts.update(frame / rate, frame, score, image)]
    return events


def test_raises_and_clears_after_minimum_durations():
    alerts = AlertSet(AlertConfig(low=0.4, high=0.5, raise_after=0.5, clear_after=1.0, frozen_after=0, blank_after=0))
    scores = [0.8] * 10 + [0.2] * 20 + [0.8] * 20
    # Below low from frame 10 (t=1.0): raised once 0.5 s have passed, at frame 15; above high from
    # frame 30: cleared once 1.0 s has passed, at frame 40.
    assert run(alerts, scores) == [(15, LOW_QUALITY, "raised"), (40, LOW_QUALITY, "cleared")]


def test_short_dips_and_the_hysteresis_band_change_nothing():
    config = AlertConfig(low=0.4, high=0.5, raise_after=0.5, clear_after=0.5, frozen_after=0, blank_after=0)
    dips = [0.8] * 5 + [0.3] * 4 + [0.8] * 5 + [0.3] * 4 + [0.8] * 5  # 0.4 s dips: shorter than raise_after
    assert run(AlertSet(config), dips) == []
    # Once raised, scores between low and high (0.45) keep the alert up however long they last.
    band = [0.2] * 6 + [0.45] * 30 + [0.6] * 6
    assert run(AlertSet(config), band) == [(5, LOW_QUALITY, "raised"), (41, LOW_QUALITY, "cleared")]


def test_a_recovery_interrupted_restarts_the_clear_timer():
    switch = Debounced(raise_after=0.0, clear_after=1.0)
    assert switch.update(0.0, trigger=True, recovered=False) == "raised"
    assert switch.update(1.0, trigger=False, recovered=True) is None
    assert switch.update(1.9, trigger=False, recovered=True) is None
    assert switch.update(2.0, trigger=True, recovered=False) is None  # relapse
    assert switch.update(2.5, trigger=False, recovered=True) is None
    assert switch.update(3.5, trigger=False, recovered=True) == "cleared"


def test_cleared_event_says_how_long_the_alert_lasted():
    alerts = AlertSet(AlertConfig(low=0.4, high=0.4, raise_after=0.0, clear_after=0.0, frozen_after=0, blank_after=0))
    events = [e for t, s in [(1.0, 0.1), (2.0, 0.1), (4.5, 0.9)] for e in alerts.update(t, 0, s)]
    assert [e.state for e in events] == ["raised", "cleared"] and events[1].active_for == pytest.approx(3.5)


def test_frozen_and_blank_pictures():
    rng = np.random.default_rng(0)
    live = [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(10)]
    images = live + [live[-1]] * 10 + live + [np.zeros((48, 64, 3), np.uint8)] * 10 + live
    alerts = AlertSet(AlertConfig(frozen_after=0.5, blank_after=0.5))
    events = run(alerts, [0.9] * len(images), images=images)
    # The repeat starts at frame 10 (first identical to frame 9); 0.5 s later, frame 15. The black frames
    # are reported as blank, never as frozen.
    assert events == [(15, FROZEN, "raised"), (20, FROZEN, "cleared"), (35, BLANK, "raised"), (40, BLANK, "cleared")]


def test_thresholds_must_leave_a_band():
    with pytest.raises(ValueError, match="must be >="):
        AlertConfig(low=0.5, high=0.4)
    with pytest.raises(ValueError, match=r"\(reference_high=0.3\) must be >="):
        AlertConfig(reference_low=0.4, reference_high=0.3)
    with pytest.raises(ValueError, match="set both or neither"):
        AlertConfig(reference_low=0.4)


def test_reference_alert_is_its_own_and_only_when_configured():
    quiet = dict(low=0.4, high=0.5, raise_after=0.0, clear_after=0.0, frozen_after=0, blank_after=0)
    plain = AlertSet(AlertConfig(**quiet))
    assert list(plain.switches) == [LOW_QUALITY]
    assert plain.update(0.0, 1, 0.9, reference=0.0) == []  # scored against references, but no threshold
    record = plain.update(0.1, 2, 0.1)[0].to_dict()
    assert record["alert"] == LOW_QUALITY and "reference_score" not in record  # records as without references

    both = AlertSet(AlertConfig(**quiet, reference_low=0.3, reference_high=0.35))
    events = both.update(0.0, 1, 0.9, reference=0.2) + both.update(0.1, 2, 0.1, reference=0.32)
    assert [(e.frame, e.alert, e.state) for e in events] == [
        (1, LOW_REFERENCE_QUALITY, "raised"),
        (2, LOW_QUALITY, "raised"),
    ]
    assert events[1].to_dict()["reference_score"] == 0.32


def test_smoothers():
    ema = Ema(alpha=0.5)
    assert [ema.update(x) for x in (1.0, 0.0, 0.0)] == [1.0, 0.5, 0.25]
    median = WindowMedian(3)
    assert [median.update(x) for x in (0.8, 0.1, 0.8, 0.8, 0.1)] == [0.8, 0.45, 0.8, 0.8, 0.8]
