"""Scoring videos and streams frame by frame: `python -m arniqa_edge.video SOURCE`."""

from .reader import VideoReader
from .report import VideoReport
from .run import run_video
from .summary import Segment, pooled_summary, worst_segments

__all__ = ["Segment", "VideoReader", "VideoReport", "pooled_summary", "run_video", "worst_segments"]
