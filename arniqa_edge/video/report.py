"""The scores of one video as they accumulate, and its VMAF-style JSON document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..pipeline import ScoredFrame
from .summary import Segment, pooled_summary, worst_segments

#: How a run ended; anything but "complete" exits non-zero.
STATUSES = ("running", "complete", "interrupted", "truncated", "failed")

METRIC = "arniqa"
#: The metric name of the score against golden references (CVRKD), when the run has references.
REFERENCE_METRIC = "reference"


@dataclass
class VideoReport:
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)
    #: length of a worst segment, in scored frames
    segment_frames: int = 1
    worst_count: int = 3
    status: str = "running"
    message: str = ""
    indices: list[int] = field(default_factory=list)
    timestamps: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    raw_scores: list[float] = field(default_factory=list)
    #: whether frames are also scored against golden references (then every frame carries that score)
    with_reference: bool = False
    reference_scores: list[float] = field(default_factory=list)
    reference_raw_scores: list[float] = field(default_factory=list)

    def add(self, frame: ScoredFrame) -> None:
        if self.with_reference and frame.reference_score is None:
            raise ValueError(f"frame {frame.index} has no reference score in a run with references")
        self.indices.append(frame.index)
        self.timestamps.append(frame.timestamp)
        self.scores.append(frame.score)
        self.raw_scores.append(frame.raw_score)
        if self.with_reference:
            self.reference_scores.append(frame.reference_score)
            self.reference_raw_scores.append(frame.reference_raw_score)

    def finish(self, status: str, message: str = "") -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self.status, self.message = status, message

    def __len__(self) -> int:
        return len(self.scores)

    def summary(self) -> dict[str, float | int]:
        return pooled_summary(self.scores)

    def reference_summary(self) -> dict[str, float | int]:
        """The pooled summary of the scores against the references (`{"frames": 0}` without them)."""
        return pooled_summary(self.reference_scores)

    def worst_segments(self) -> list[Segment]:
        return worst_segments(self.indices, self.timestamps, self.scores, self.segment_frames, self.worst_count)

    def to_json(self) -> dict[str, Any]:
        """Per-frame metrics and pooled metrics, laid out as VMAF's JSON output is."""
        return {
            "version": f"arniqa-edge {__version__}",
            "source": self.source,
            "status": self.status,
            "message": self.message,
            **self.metadata,
            "frames": [{"frameNum": index, "timestamp": round(timestamp, 6), "metrics": self._frame_metrics(i)}
                       for i, (index, timestamp) in enumerate(zip(self.indices, self.timestamps))],
            "pooled_metrics": {METRIC: self.summary(),
                               **({REFERENCE_METRIC: self.reference_summary()} if self.with_reference else {})},
            "worst_segments": [segment.to_dict() for segment in self.worst_segments()],
        }

    def _frame_metrics(self, i: int) -> dict[str, float]:
        metrics = {METRIC: round(self.scores[i], 6), f"{METRIC}_raw": round(self.raw_scores[i], 6)}
        if self.with_reference:
            metrics[REFERENCE_METRIC] = round(self.reference_scores[i], 6)
            metrics[f"{REFERENCE_METRIC}_raw"] = round(self.reference_raw_scores[i], 6)
        return metrics
