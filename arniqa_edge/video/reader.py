"""Decoding a video into the frames to score: every frame, every Nth, or at a target rate."""

from __future__ import annotations

import logging
import time
from typing import Iterator

from ..pipeline import Frame
from ..sources import SourceInfo, open_capture, source_info, source_kind

log = logging.getLogger(__name__)

#: A file counts as complete when it yields at least this share of the frames its
#: container announces (the count is an estimate for some formats).
COMPLETE_SHARE = 0.98


class VideoReader:
    """Iterates the frames of a source to score, decoding only those.

    stride: score every `stride`-th frame (1 = all).
    fps: score at most `fps` frames per second of video time (overrides stride).
    After iteration, `frames_read` counts decoded frames and `ended_early` tells
    whether a file stopped before the length its container announced
    (truncated or corrupt); live streams never end early, they just end.
    """

    def __init__(self, spec: str, stride: int = 1, fps: float | None = None, max_frames: int | None = None):
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        if fps is not None and fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.spec = spec
        self.kind = source_kind(spec)
        self.stride, self.fps, self.max_frames = stride, fps, max_frames
        self._capture = open_capture(spec)
        self.info: SourceInfo = source_info(self._capture)
        self.frames_read = 0
        self.ended_early = False

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
        start = time.monotonic()
        next_sample_time = 0.0
        scored = 0
        index = -1
        while self.max_frames is None or scored < self.max_frames:
            index += 1
            timestamp = self._timestamp(index, start)
            if not self._wanted(index, timestamp, next_sample_time):
                if not self._capture.grab():  # advances without converting the pixels
                    break
                self.frames_read += 1
                continue
            ok, image = self._capture.read()
            if not ok or image is None:
                break
            self.frames_read += 1
            if self.fps is not None:
                next_sample_time = max(next_sample_time + 1.0 / self.fps, timestamp)
            scored += 1
            yield Frame(index, timestamp, image)
        else:
            return  # stopped at max_frames, not by the end of the source
        expected = self.info.frame_count
        self.ended_early = self.kind == "file" and expected > 0 and self.frames_read < COMPLETE_SHARE * expected

    def _wanted(self, index: int, timestamp: float, next_sample_time: float) -> bool:
        if self.fps is not None:
            return timestamp + 1e-6 >= next_sample_time
        return index % self.stride == 0

    def _timestamp(self, index: int, start: float) -> float:
        if self.info.fps:
            return index / self.info.fps
        return time.monotonic() - start  # live source without a rate: wall-clock time
