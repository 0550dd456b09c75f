"""Where the scores of a video go: each sink takes frames as they are scored and is closed once.

Every sink leaves a usable file however the run ends: the CSV is flushed row by
row, the JSON is rewritten atomically every few seconds and at the end, the
annotated video is released properly, the plot and the HTML report are drawn from
whatever was scored.
A sink that cannot write (a full disk, a file size limit) raises OSError and
still leaves a consistent file: the CSV holds whole rows only, the JSON falls
back to a summary with the final status, and no temporary file stays behind.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import cv2

from ..errors import ArniqaEdgeError
from ..pipeline import ScoredFrame
from .annotate import draw_score
from .html_report import render_html
from .plot import Marked, render_plot
from .report import VideoReport, frame_fields, metric_names, metric_values
from .summary import DECIMALS
from .thumbnails import ThumbnailKeeper

log = logging.getLogger(__name__)


class ResultSink(Protocol):
    def add(self, frame: ScoredFrame) -> None: ...
    def close(self, report: VideoReport) -> None: ...


class CsvSink:
    """One row per frame, its columns named as the JSON names a frame's fields (`report.frame_fields`); a
    frame that could not be decoded or scored has empty metrics and its `error`."""

    def __init__(self, path: Path, with_reference: bool = False):
        self.path, self._with_reference = path, with_reference
        self._file = open(path, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._whole_rows_size = 0  # bytes up to the end of the last row written in full
        self._broken = False
        self._write(list(frame_fields(with_reference)))

    def add(self, frame: ScoredFrame) -> None:
        if frame.failed:
            metrics = [""] * len(metric_names(self._with_reference))
        else:
            metrics = [f"{value:.{DECIMALS}f}" for value in metric_values(frame, self._with_reference)]
        self._write([frame.index, f"{frame.timestamp:.{DECIMALS}f}", *metrics, frame.error or ""])

    def _write(self, row: list) -> None:
        self._writer.writerow(row)
        try:
            self._file.flush()  # a killed run keeps every row written so far
        except OSError:
            self._broken = True
            raise
        self._whole_rows_size = os.fstat(self._file.fileno()).st_size

    def close(self, report: VideoReport) -> None:
        if not self._broken:
            self._file.close()
            return
        try:
            self._file.close()  # tries once more to write the row that did not fit
        except OSError:
            pass
        finally:
            os.truncate(self.path, self._whole_rows_size)  # no half row at the end


class JsonSink:
    """The VMAF-style JSON report; rewritten every `interval` seconds so a crash loses little."""

    #: seconds between rewrites while frames are scored
    INTERVAL = 5.0

    def __init__(self, path: Path, report: VideoReport, interval: float | None = None):
        self.path, self._report = path, report
        self._interval = self.INTERVAL if interval is None else interval
        self._last_write = time.monotonic()
        self._write(report.to_json())

    def add(self, frame: ScoredFrame) -> None:
        if time.monotonic() - self._last_write >= self._interval:
            self._write(self._report.to_json())

    def close(self, report: VideoReport) -> None:
        try:
            self._write(report.to_json())
        except OSError as exc:
            # The whole document does not fit (a full disk, a file size limit). A summary with the final
            # status is small: better that than an old snapshot that still says "running".
            report.output_failed(self.path, exc)
            try:
                self._write(report.to_json(per_frame=False))
            except OSError:
                self.path.unlink(missing_ok=True)  # not even that: no file rather than a stale one
            raise

    def _write(self, document: dict) -> None:
        write_atomically(self.path, json.dumps(document, indent=1) + "\n")
        self._last_write = time.monotonic()


class AnnotatedVideoSink:
    """The scored frames with their score (and reference score, if any) drawn on, at the rate they were scored."""

    FOURCC = {".avi": "MJPG", ".mp4": "mp4v", ".mkv": "MJPG"}

    def __init__(self, path: Path, fps: float):
        self.path, self._fps = path, fps if fps > 0 else 25.0
        self._writer: cv2.VideoWriter | None = None

    def add(self, frame: ScoredFrame) -> None:
        if frame.failed:
            return  # nothing to draw a score on
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
    """A PNG of score (and reference score) over time with the worst segments shaded, drawn at the end.
    marked: known intervals to show for comparison (the demo's degradations)."""

    def __init__(self, path: Path, marked: Sequence[Marked] = ()):
        self.path, self._marked = path, marked

    def add(self, frame: ScoredFrame) -> None:
        pass

    def close(self, report: VideoReport) -> None:
        write_atomically(self.path, render_plot(report, self._marked))


class HtmlReportSink:
    """One self-contained HTML page (`html_report`): keeps thumbnails of the lowest-scoring frames while
    they are scored (it needs their pixels: score_frames(..., keep_images=True)), writes the page at the end."""

    def __init__(self, path: Path, marked: Sequence[Marked] = ()):
        self.path, self._marked = path, marked
        self._thumbnails = ThumbnailKeeper()

    def add(self, frame: ScoredFrame) -> None:
        if not frame.failed and frame.image is None:
            raise ValueError("HtmlReportSink needs the frames' pixels (score_frames(..., keep_images=True))")
        self._thumbnails.add(frame)

    def close(self, report: VideoReport) -> None:
        plot, note = None, ""
        try:
            plot = render_plot(report, self._marked)
        except ArniqaEdgeError as exc:  # no matplotlib: the page without its plot, saying why
            note = str(exc)
        write_atomically(self.path, render_html(report, plot, note, self._thumbnails.kept(), self._marked))


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write through a temporary file renamed over `path`: readers never see a half-written file, and a
    write that fails leaves no temporary file behind."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        if isinstance(content, bytes):
            temporary.write_bytes(content)
        else:
            temporary.write_text(content, encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
