"""Scoring one video from start to end (or to Ctrl-C), feeding the result sinks as it goes."""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import ArniqaEdgeError
from ..pipeline import score_frames
from ..scorer import Scorer
from .reader import VideoReader
from .report import VideoReport
from .sinks import ResultSink

log = logging.getLogger(__name__)


def run_video(scorer: Scorer, reader: VideoReader, report: VideoReport, sinks: Sequence[ResultSink],
              progress: bool = True, keep_images: bool = False, batch_size: int | None = None,
              reference: Callable[[np.ndarray], Any] | None = None) -> VideoReport:
    """Score `reader`'s frames into `report` and `sinks`; always closes the sinks.

    The run ends with report.status "complete"; "truncated" when a file stops
    before its announced length; "interrupted" on Ctrl-C (KeyboardInterrupt,
    wherever it was raised); "failed" on an error in the middle of the stream.
    Every frame scored before the end is in the outputs. batch_size: frames per
    backend call (default: `pipeline.auto_batch_size`). reference: also score
    each frame against golden references (`GoldenReferences.predict`), in the
    pipeline's inference stage.
    """
    bar = _progress_bar(reader, enabled=progress)
    try:
        for frame in score_frames(scorer, reader, batch_size=batch_size, keep_images=keep_images,
                                  reference=reference):
            report.add(frame)
            for sink in sinks:
                sink.add(frame)
            bar.update(1)
            reference_text = "" if frame.reference_score is None else f", vs ref {frame.reference_score:.3f}"
            bar.set_postfix_str(f"score {frame.score:.3f}{reference_text}", refresh=False)
        if reader.ended_early:
            report.finish("truncated", f"the video ended after {reader.frames_read} of the "
                                       f"{reader.info.frame_count} frames its container announces "
                                       "(truncated or corrupt file)")
        else:
            report.finish("complete")
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


def _close_all(sinks: Sequence[ResultSink], report: VideoReport) -> None:
    for sink in sinks:
        try:
            sink.close(report)
        except (ArniqaEdgeError, OSError) as exc:  # one broken output must not cost the others
            log.error("could not finish %s: %s", getattr(sink, "path", sink), exc)


def _progress_bar(reader: VideoReader, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=reader.expected_scored(), unit="frame", desc="scoring", disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)
