"""Camera QA loop: `python -m arniqa_edge.camera SOURCE`."""

from .alerts import AlertConfig, AlertEvent, AlertSet, Debounced
from .feed import LatestFrameGrabber, SequentialFeed
from .loop import LoopStats, QaLoop
from .smoothing import Ema, WindowMedian, make_smoother

__all__ = [
    "AlertConfig",
    "AlertEvent",
    "AlertSet",
    "Debounced",
    "Ema",
    "LatestFrameGrabber",
    "LoopStats",
    "QaLoop",
    "SequentialFeed",
    "WindowMedian",
    "make_smoother",
]
