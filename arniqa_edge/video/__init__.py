"""Scoring videos and streams frame by frame: `python -m arniqa_edge.video SOURCE`."""

from .reader import VideoReader
from .report import VideoReport
from .run import run_video
from .summary import Segment, Threshold, pooled_summary, segment_threshold, worst_segments

__all__ = [
    "Segment",
    "Threshold",
    "VideoReader",
    "VideoReport",
    "pooled_summary",
    "run_video",
    "segment_threshold",
    "worst_segments",
]
