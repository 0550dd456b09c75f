"""The scores of one video as they accumulate, and its VMAF-style JSON document.

Names follow VMAF's JSON output where the concept is the same: per-frame
"frameNum" and "metrics", "pooled_metrics" with "min", "max", "mean" and
"harmonic_mean" per metric, a top-level "fps" that is, as in VMAF, the speed of
the scoring (frames scored per second of processing; the video's own rate is
"source_fps"). The CSV uses the very same names for its columns (`frame_fields`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..pipeline import ScoredFrame
from .summary import DECIMALS, MERGE_GAP, Segment, Threshold, pooled_summary, segment_threshold, worst_segments

#: How a run ended; anything but "complete" exits non-zero. "partial": the whole source was read but
#: some frames could not be decoded or scored; "ended": a live source (no announced length) stopped
#: delivering frames; "truncated": a source stopped before the length it announces; "failed": an
#: error stopped the run (an output that cannot be written, too many frames in a row that fail).
STATUSES = ("running", "complete", "partial", "ended", "interrupted", "truncated", "failed")

METRIC = "arniqa"
#: The metric name of the score against golden references (CVRKD), when the run has references.
REFERENCE_METRIC = "reference"
#: The suffix of a metric's raw score (the regressor's output in its label units).
RAW = "_raw"
#: A frame's fields, in the CSV's columns and in the JSON's frames (its metrics between timestamp and error).
FRAME_NUM, TIMESTAMP, ERROR = "frameNum", "timestamp", "error"


def metric_names(with_reference: bool) -> tuple[str, ...]:
    """The per-frame metrics: arniqa, arniqa_raw, and reference, reference_raw with references."""
    names = (METRIC, METRIC + RAW)
    return names + (REFERENCE_METRIC, REFERENCE_METRIC + RAW) if with_reference else names


def frame_fields(with_reference: bool) -> tuple[str, ...]:
    """The CSV's header, and every name a JSON frame or failed frame uses."""
    return (FRAME_NUM, TIMESTAMP, *metric_names(with_reference), ERROR)


def metric_values(frame: ScoredFrame, with_reference: bool) -> tuple[float, ...]:
    """A scored frame's metrics, in the order of `metric_names`."""
    values = (frame.score, frame.raw_score)
    if with_reference:
        values += (frame.reference_score, frame.reference_raw_score)
    return tuple(float(value) for value in values)


def frame_metrics(frame: ScoredFrame, with_reference: bool) -> dict[str, float]:
    """A scored frame's metrics by name, rounded as everything written out is."""
    return {
        name: round(value, DECIMALS)
        for name, value in zip(metric_names(with_reference), metric_values(frame, with_reference))
    }


@dataclass
class VideoReport:
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)
    #: an absolute threshold for the worst segments; None: relative to the clip's scores
    threshold: float | None = None
    #: low stretches at most this many seconds apart are one worst segment
    merge_gap: float = MERGE_GAP
    worst_count: int = 3
    status: str = "running"
    message: str = ""
    frames: list[ScoredFrame] = field(default_factory=list)  #: the frames scored, without their pixels
    #: whether frames are also scored against golden references (then every frame carries that score)
    with_reference: bool = False
    #: frames that could not be decoded or scored: (frame, timestamp, why)
    failures: list[tuple[int, float, str]] = field(default_factory=list)
    #: outputs that could not be written or finished: path -> why
    failed_outputs: dict[str, str] = field(default_factory=dict)
    #: when the scoring started and ended (time.monotonic()), for the scoring speed
    started: float | None = None
    ended: float | None = None
    #: the status and message the run ended with, before output failures are folded in
    _ended: tuple[str, str] = field(default=("running", ""), init=False, repr=False)

    def add(self, frame: ScoredFrame) -> None:
        if self.started is None:
            self.started = time.monotonic()
        if frame.failed:
            self.failures.append((frame.index, frame.timestamp, frame.error))
            return
        if self.with_reference and frame.reference_score is None:
            raise ValueError(f"frame {frame.index} has no reference score in a run with references")
        self.frames.append(
            ScoredFrame(
                frame.index,
                frame.timestamp,
                frame.score,
                frame.raw_score,
                reference_score=frame.reference_score,
                reference_raw_score=frame.reference_raw_score,
            )
        )

    def finish(self, status: str, message: str = "") -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self.ended = time.monotonic()
        self._ended = (status, message)
        self._settle()

    def output_failed(self, path, error: BaseException | str) -> None:
        """Record that the output at `path` could not be written or finished: a run that otherwise went
        well becomes "failed", and the message says which output and why."""
        self.failed_outputs.setdefault(str(path), f"could not write {path}: {error}")
        self._settle()

    def _settle(self) -> None:
        status, message = self._ended
        if self.failed_outputs:
            reasons = "; ".join(self.failed_outputs.values())
            if status in ("running", "complete", "partial", "ended"):
                status, message = "failed", "; ".join(filter(None, [reasons, message]))
            else:  # interrupted, truncated, failed: what stopped the run stays first
                message = "; ".join(filter(None, [message, reasons]))
        self.status, self.message = status, message

    def __len__(self) -> int:
        """Frames scored (failed frames are not counted)."""
        return len(self.frames)

    # The scored frames' values, one list each, in order.
    @property
    def indices(self) -> list[int]:
        return [frame.index for frame in self.frames]

    @property
    def timestamps(self) -> list[float]:
        return [frame.timestamp for frame in self.frames]

    @property
    def scores(self) -> list[float]:
        return [frame.score for frame in self.frames]

    @property
    def reference_scores(self) -> list[float]:
        return [frame.reference_score for frame in self.frames] if self.with_reference else []

    def metric_series(self) -> dict[str, list[float]]:
        """Every per-frame metric by name (`metric_names`), as a list over the scored frames."""
        columns = zip(*(metric_values(frame, self.with_reference) for frame in self.frames))
        return dict(zip(metric_names(self.with_reference), (list(column) for column in columns))) or {
            name: [] for name in metric_names(self.with_reference)
        }

    def pooled_metrics(self) -> dict[str, dict[str, float | None]]:
        """`pooled_summary` of every metric, raw scores included."""
        return {name: pooled_summary(values) for name, values in self.metric_series().items()}

    def summary(self) -> dict[str, float | None]:
        """The pooled no-reference score."""
        return pooled_summary(self.scores)

    def reference_summary(self) -> dict[str, float | None]:
        """The pooled score against the references (all None without them)."""
        return pooled_summary(self.reference_scores)

    def scoring_fps(self) -> float | None:
        """Frames scored per second of processing (so far, while running); None before any."""
        if self.started is None or not self.frames:
            return None
        elapsed = (self.ended or time.monotonic()) - self.started
        return round(len(self.frames) / elapsed, 2) if elapsed > 0 else None

    def segment_threshold(self) -> Threshold | None:
        return segment_threshold(self.scores, self.threshold)

    def worst_segments(self) -> list[Segment]:
        return worst_segments(
            self.indices, self.timestamps, self.scores, self.segment_threshold(), self.worst_count, self.merge_gap
        )

    def to_json(self, per_frame: bool = True) -> dict[str, Any]:
        """Per-frame metrics and pooled metrics, laid out as VMAF's JSON output is; the frames that failed
        are listed apart. per_frame=False leaves the per-frame metrics out (a summary that stays small)."""
        threshold = self.segment_threshold()
        document = {
            "version": f"arniqa-edge {__version__}",
            "fps": self.scoring_fps(),
            "source": self.source,
            "status": self.status,
            "message": self.message,
            **self.metadata,
            "frames_scored": len(self.frames),
            "frames_failed": len(self.failures),
            "frames": [
                {
                    FRAME_NUM: frame.index,
                    TIMESTAMP: round(frame.timestamp, DECIMALS),
                    "metrics": frame_metrics(frame, self.with_reference),
                }
                for frame in self.frames
            ]
            if per_frame
            else [],
            "failed_frames": [
                {FRAME_NUM: index, TIMESTAMP: round(timestamp, DECIMALS), ERROR: error}
                for index, timestamp, error in self.failures
            ],
            "pooled_metrics": self.pooled_metrics(),
            "worst_segments": [segment.to_dict() for segment in self.worst_segments()],
            "worst_segments_threshold": threshold.to_dict() if threshold else None,
        }
        if self.failed_outputs:
            document["failed_outputs"] = self.failed_outputs
        if not per_frame:
            document["frames_left_out"] = "the whole document could not be written (see message): a summary only"
        return document
