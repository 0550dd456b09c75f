"""Decoding a video into the frames to score: every frame, every Nth, or at a target rate.

A frame that cannot be decoded (a damaged stretch of a file, a glitch in a
stream) does not end the video: OpenCV goes on with the next one. The reader
skips such frames and hands each one it was meant to score on as a `Frame`
without pixels (`image` None, `error` saying why), in order, once a later frame
decodes. Only a run of `max_failures` undecodable frames in a row, or the
announced end of the source, ends the reading.

Each frame is timed by its presentation timestamp when the source has one
(`timestamps.FrameClock`): variable-frame-rate files and streams get the times the
source shows them at, not index / fps.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import cv2

from ..pipeline import Frame
from ..redact import redact
from ..sources import SourceInfo, open_capture, source_info, source_kind
from .timestamps import FrameClock

log = logging.getLogger(__name__)

#: A source counts as complete when it yields at least this share of the frames its
#: container announces (the count is an estimate for some formats).
COMPLETE_SHARE = 0.98

#: Undecodable frames in a row after which a source counts as ended (about a second of video).
MAX_CONSECUTIVE_FAILURES = 25

UNDECODABLE = "undecodable frame"

#: How the reading ended (`VideoReader.end`): stopped at max_frames; the whole source read;
#: a source that stopped before the length it announces; a live source (no announced
#: length) that stopped delivering frames.
END_MAX_FRAMES, END_COMPLETE, END_TRUNCATED, END_ENDED = "max_frames", "complete", "truncated", "ended"


class VideoReader:
    """Iterates the frames of a source to score, decoding only those.

    stride: score every `stride`-th frame (1 = all).
    fps: score at most `fps` frames per second of video time (overrides stride).
    max_failures: stop after this many undecodable frames in a row.
    After iteration, `frames_read` counts decoded frames, `position` the frames
    reached (decoded or skipped), `end` says how the reading ended and
    `end_message` explains an early end; `ended_early` is True when the source
    stopped before the length it announces (truncated or corrupt, a file or a URL).
    """

    def __init__(
        self,
        spec: str,
        stride: int = 1,
        fps: float | None = None,
        max_frames: int | None = None,
        max_failures: int = MAX_CONSECUTIVE_FAILURES,
    ):
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        if fps is not None and fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        if max_failures < 1:
            raise ValueError(f"max_failures must be >= 1, got {max_failures}")
        self.spec = spec
        self.kind = source_kind(spec)
        self.stride, self.fps, self.max_frames, self.max_failures = stride, fps, max_frames, max_failures
        self._capture = open_capture(spec)
        self.info: SourceInfo = source_info(self._capture)
        self.frames_read = 0
        self.position = 0
        self.end: str | None = None
        self.end_message = ""

    @property
    def ended_early(self) -> bool:
        return self.end == END_TRUNCATED

    @property
    def output_fps(self) -> float:
        """Rate of the scored frames, in frames per second of video time (0 if unknown)."""
        if self.fps is not None:
            return min(self.fps, self.info.fps) if self.info.fps else self.fps
        return self.info.fps / self.stride

    def expected_scored(self) -> int | None:
        """How many frames will be scored, when the source says how long it is."""
        if not self.info.frame_count:
            return None
        total = self.info.frame_count
        if self.fps is not None and self.info.fps:
            total = int(total / self.info.fps * self.output_fps + 0.999)
        else:
            total = (total + self.stride - 1) // self.stride
        return min(total, self.max_frames) if self.max_frames else total

    def __iter__(self) -> Iterator[Frame]:
        try:
            yield from self._decode()
        finally:
            self._capture.release()

    def _decode(self) -> Iterator[Frame]:
        clock = FrameClock(self.info.fps, from_first_frame=self.kind != "file")
        announced = self.info.frame_count
        next_sample_time = 0.0
        scored = 0
        index = -1
        failed_run: list[Frame] = []  # undecodable frames since the last good one: skipped, or the end
        failures_in_run = 0
        reached = None  # the time of the last frame decoded
        while self.max_frames is None or scored < self.max_frames:
            index += 1
            # Grab first (decodes, no pixel conversion): the PTS says whether the frame is wanted.
            ok = self._capture.grab()
            timestamp = clock.time_of(index, self._capture.get(cv2.CAP_PROP_POS_MSEC) if ok else None)
            wanted = self._wanted(index, timestamp, next_sample_time)
            if wanted and self.fps is not None:
                next_sample_time = max(next_sample_time + 1.0 / self.fps, timestamp)
            image = None
            if ok and wanted:
                ok, image = self._capture.retrieve()
                ok = ok and image is not None
            if not ok:
                if announced and index >= announced:
                    break  # past the announced length: the end, not damage
                failures_in_run += 1
                if wanted:
                    failed_run.append(Frame(index, timestamp, None, error=UNDECODABLE))
                if failures_in_run >= self.max_failures:
                    break
                continue
            if failed_run:  # a good frame after bad ones: those were skipped, not the end
                log.info(
                    "%s: skipped %d undecodable frame(s) before frame %d", redact(self.spec), failures_in_run, index
                )
                yield from failed_run
                failed_run = []
            failures_in_run = 0
            self.frames_read += 1
            self.position = index + 1
            reached = timestamp
            if wanted:
                scored += 1
                yield Frame(index, timestamp, image)
        else:
            self.end = END_MAX_FRAMES
            return
        self._judge_end(announced, failures_in_run >= self.max_failures, reached if clock.from_pts else None)

    def _judge_end(self, announced: int, hit_limit: bool, reached: float | None) -> None:
        # Damage and the end of the data look the same to OpenCV (a failed read); what the source
        # announced tells them apart. Its frame count is an estimate (duration x a nominal rate) for some
        # containers, far off for a variable frame rate: a source timed by its PTS is also complete when
        # its last frame reached the announced duration.
        if announced:
            fps = self.info.fps
            reached_duration = reached is not None and fps and reached + 1 / fps >= COMPLETE_SHARE * announced / fps
            if self.position >= COMPLETE_SHARE * announced or reached_duration:
                self.end = END_COMPLETE
            else:
                self.end = END_TRUNCATED
                what = "file" if self.kind == "file" else "stream"
                self.end_message = (
                    f"the video ended after {self.position} of the {announced} frames its "
                    f"container announces (truncated or corrupt {what}"
                    + (f": {self.max_failures} frames in a row could not be decoded)" if hit_limit else ")")
                )
        elif self.kind == "file":
            self.end = END_COMPLETE  # no announced length: the end of the file is the end
        else:
            self.end = END_ENDED
            self.end_message = (
                f"the {self.kind} source stopped delivering frames after {self.position} "
                "frames (a live source announces no end)"
            )

    def _wanted(self, index: int, timestamp: float, next_sample_time: float) -> bool:
        if self.fps is not None:
            return timestamp + 1e-6 >= next_sample_time
        return index % self.stride == 0
