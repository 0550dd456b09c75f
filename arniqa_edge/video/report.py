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

    def add(self, frame: ScoredFrame) -> None:
        self.indices.append(frame.index)
        self.timestamps.append(frame.timestamp)
        self.scores.append(frame.score)
        self.raw_scores.append(frame.raw_score)

    def finish(self, status: str, message: str = "") -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self.status, self.message = status, message

    def __len__(self) -> int:
        return len(self.scores)

    def summary(self) -> dict[str, float | int]:
        return pooled_summary(self.scores)

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
            "frames": [
                {"frameNum": index, "timestamp": round(timestamp, 6),
                 "metrics": {METRIC: round(score, 6), f"{METRIC}_raw": round(raw, 6)}}
                for index, timestamp, score, raw in zip(self.indices, self.timestamps, self.scores,
                                                        self.raw_scores)
            ],
            "pooled_metrics": {METRIC: self.summary()},
            "worst_segments": [segment.to_dict() for segment in self.worst_segments()],
        }
