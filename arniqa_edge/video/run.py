"""Scoring one video from start to end (or to Ctrl-C), feeding the result sinks as it goes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import ArniqaEdgeError
from ..pipeline import ScoredFrame, score_frames
from ..scorer import Scorer
from .reader import END_ENDED, END_TRUNCATED, VideoReader
from .report import VideoReport
from .sinks import ResultSink
from .summary import frame_list

log = logging.getLogger(__name__)


class _OutputFailed(Exception):
    """A sink could not take a frame: the run stops, the other sinks are finished."""


def run_video(
    scorer: Scorer,
    reader: VideoReader,
    report: VideoReport,
    sinks: Sequence[ResultSink],
    progress: bool = True,
    keep_images: bool = False,
    batch_size: int | None = None,
    reference: Callable[[np.ndarray], Any] | None = None,
) -> VideoReport:
    """Score `reader`'s frames into `report` and `sinks`; always closes the sinks.

    A frame that cannot be decoded or scored is recorded as failed and the run
    goes on; `reader.max_failures` failures in a row end it. The run ends with
    report.status "complete"; "partial" when some frames failed; "truncated"
    when a source stops before its announced length; "ended" when a live source
    stops; "interrupted" on Ctrl-C (KeyboardInterrupt, wherever it was raised);
    "failed" on an error in the middle of the stream, or when a sink cannot
    write: then the other sinks get every frame up to that one and are finished,
    and the JSON (close it last: put it last in `sinks`) says what failed.
    Every frame scored before the end is in the outputs. progress: a progress bar on
    stderr when stderr is a terminal (False: never). batch_size: frames per
    backend call (default: `pipeline.auto_batch_size`). reference: also score
    each frame against golden references (`GoldenReferences.predict`), in the
    pipeline's inference stage.
    """
    bar = _progress_bar(reader, enabled=progress)
    report.started = time.monotonic()  # the scoring speed ("fps" in the JSON) counts from here
    live = list(sinks)
    failures_in_row = 0
    try:
        for frame in score_frames(
            scorer, reader, batch_size=batch_size, keep_images=keep_images, reference=reference, isolate_failures=True
        ):
            report.add(frame)
            live = _feed(live, frame, report)
            bar.update(1)
            failures_in_row = failures_in_row + 1 if frame.failed else 0
            if failures_in_row >= reader.max_failures:
                report.finish(
                    "failed",
                    f"{failures_in_row} frames in a row could not be decoded or scored "
                    f"(the last, frame {frame.index}: {frame.error})",
                )
                break
            if not frame.failed:
                reference_text = "" if frame.reference_score is None else f", vs ref {frame.reference_score:.3f}"
                bar.set_postfix_str(f"score {frame.score:.3f}{reference_text}", refresh=False)
        else:
            _finish_by_reader(report, reader)
    except _OutputFailed:
        report.finish("failed")  # the message names the output (report.output_failed)
    except KeyboardInterrupt:
        report.finish("interrupted", "interrupted")
    except ArniqaEdgeError as exc:
        report.finish("failed", str(exc))
    finally:
        bar.close()
        if report.status == "running":  # an unexpected exception is on its way up
            report.finish("failed", "stopped by an internal error")
        _close_all(sinks, report)
    return report


def _feed(sinks: list[ResultSink], frame: ScoredFrame, report: VideoReport) -> list[ResultSink]:
    """Give the frame to every sink; a sink that fails is dropped after the others had the frame."""
    healthy = []
    for sink in sinks:
        try:
            sink.add(frame)
        except OSError as exc:
            report.output_failed(getattr(sink, "path", sink), _reason(exc))
            continue
        healthy.append(sink)
    if len(healthy) < len(sinks):
        raise _OutputFailed
    return healthy


def _finish_by_reader(report: VideoReport, reader: VideoReader) -> None:
    failed = ""
    if report.failures:
        failed = (
            f"{len(report.failures)} frame{'s' if len(report.failures) > 1 else ''} could not be decoded "
            f"or scored ({frame_list([index for index, _, _ in report.failures])})"
        )
    if reader.end in (END_TRUNCATED, END_ENDED):
        report.finish(
            "truncated" if reader.end == END_TRUNCATED else "ended",
            "; ".join(filter(None, [reader.end_message, failed])),
        )
    elif failed:
        report.finish("partial", failed)
    else:
        report.finish("complete")


def _close_all(sinks: Sequence[ResultSink], report: VideoReport) -> None:
    """Close every sink, in order; one that cannot finish is recorded in the report (which the JSON,
    closed last, then shows) and costs none of the others."""
    for sink in sinks:
        try:
            sink.close(report)
        except (ArniqaEdgeError, OSError) as exc:
            report.output_failed(getattr(sink, "path", sink), _reason(exc))
            log.debug("could not finish %s: %s", getattr(sink, "path", sink), exc)


def _reason(exc: BaseException) -> str:
    """ "File too large" rather than "[Errno 27] File too large: '/the/same/path'"."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _progress_bar(reader: VideoReader, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=reader.expected_scored(),
        unit="frame",
        desc="scoring",
        disable=None if enabled else True,  # None: shown only when stderr is a terminal
        dynamic_ncols=True,
        smoothing=0.1,
    )
