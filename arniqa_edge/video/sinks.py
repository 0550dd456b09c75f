"""Where the scores of a video go: each sink takes frames as they are scored and is closed once.

Every sink leaves a usable file however the run ends: the CSV is flushed row by
row, the JSON is rewritten atomically every few seconds and at the end, the
annotated video is released properly, the plot is drawn from whatever was scored.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import time
from pathlib import Path
from typing import Protocol

import cv2

from ..pipeline import ScoredFrame
from .annotate import draw_score
from .report import VideoReport

log = logging.getLogger(__name__)


class ResultSink(Protocol):
    def add(self, frame: ScoredFrame) -> None: ...
    def close(self, report: VideoReport) -> None: ...


class CsvSink:
    COLUMNS = ("frame", "timestamp", "score", "raw_score")
    #: added when frames are also scored against golden references
    REFERENCE_COLUMNS = ("reference_score", "reference_raw_score")

    def __init__(self, path: Path, with_reference: bool = False):
        self.path, self._with_reference = path, with_reference
        self._file = open(path, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(self.COLUMNS + (self.REFERENCE_COLUMNS if with_reference else ()))
        self._file.flush()

    def add(self, frame: ScoredFrame) -> None:
        row = [frame.index, f"{frame.timestamp:.6f}", f"{frame.score:.6f}", f"{frame.raw_score:.6f}"]
        if self._with_reference:
            row += [f"{frame.reference_score:.6f}", f"{frame.reference_raw_score:.6f}"]
        self._writer.writerow(row)
        self._file.flush()  # a killed run keeps every row written so far

    def close(self, report: VideoReport) -> None:
        self._file.close()


class JsonSink:
    """The VMAF-style JSON report; rewritten every `interval` seconds so a crash loses little."""

    def __init__(self, path: Path, report: VideoReport, interval: float = 5.0):
        self.path, self._report, self._interval = path, report, interval
        self._last_write = time.monotonic()
        self._write()

    def add(self, frame: ScoredFrame) -> None:
        if time.monotonic() - self._last_write >= self._interval:
            self._write()

    def close(self, report: VideoReport) -> None:
        self._write()

    def _write(self) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(self._report.to_json(), indent=1) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)  # readers never see a half-written file
        self._last_write = time.monotonic()


class AnnotatedVideoSink:
    """The scored frames with their score (and reference score, if any) drawn on, at the rate they were scored."""

    FOURCC = {".avi": "MJPG", ".mp4": "mp4v", ".mkv": "MJPG"}

    def __init__(self, path: Path, fps: float):
        self.path, self._fps = path, fps if fps > 0 else 25.0
        self._writer: cv2.VideoWriter | None = None

    def add(self, frame: ScoredFrame) -> None:
        if frame.image is None:
            raise ValueError("AnnotatedVideoSink needs the frames' pixels (score_frames(..., keep_images=True))")
        if self._writer is None:
            height, width = frame.image.shape[:2]
            fourcc = cv2.VideoWriter_fourcc(*self.FOURCC.get(self.path.suffix.lower(), "MJPG"))
            self._writer = cv2.VideoWriter(str(self.path), fourcc, self._fps, (width, height))
            if not self._writer.isOpened():
                raise OSError(f"{self.path}: OpenCV cannot write this video (try a .avi or .mp4 name)")
        self._writer.write(draw_score(frame.image, frame.score, frame.timestamp, frame.reference_score))

    def close(self, report: VideoReport) -> None:
        if self._writer is not None:
            self._writer.release()


class PlotSink:
    """A PNG of score (and reference score) over time with the worst segments shaded, drawn at the end."""

    def __init__(self, path: Path):
        self.path = path

    def add(self, frame: ScoredFrame) -> None:
        pass

    def close(self, report: VideoReport) -> None:
        from .plot import plot_scores  # matplotlib is imported only when a plot is asked for

        plot_scores(report, self.path)
