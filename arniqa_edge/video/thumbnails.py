"""Small JPEGs of the lowest-scoring frames, kept while a video is scored, for the HTML report.

Which frames the report will show is known only at the end (the worst segments
depend on the whole clip), and keeping every frame would not fit in memory. So
the video is cut into buckets of `bucket_seconds`; each keeps a thumbnail of its
lowest-scoring frame, and only the `capacity` buckets with the lowest such scores
are kept. Every worst segment then finds its worst frame among them, unless more
than `capacity` buckets elsewhere scored lower still.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import cv2
import numpy as np

from ..pipeline import ScoredFrame


@dataclass(frozen=True)
class Thumbnail:
    index: int
    timestamp: float
    score: float
    jpeg: bytes


class ThumbnailKeeper:
    def __init__(self, width: int = 240, bucket_seconds: float = 1.0, capacity: int = 256, quality: int = 80):
        self.width, self.bucket_seconds, self.capacity, self.quality = width, bucket_seconds, capacity, quality
        self._current: tuple[int, Thumbnail] | None = None  # (bucket, its lowest frame so far)
        self._kept: list[tuple[float, int, Thumbnail]] = []  # a heap: the highest score on top, to evict

    def add(self, frame: ScoredFrame) -> None:
        if frame.failed or frame.image is None:
            return
        bucket = int(frame.timestamp // self.bucket_seconds)
        if self._current is not None and self._current[0] != bucket:
            self._keep(self._current[1])
            self._current = None
        if self._current is None or frame.score < self._current[1].score:
            self._current = (bucket, Thumbnail(frame.index, frame.timestamp, frame.score, self._encode(frame.image)))

    def kept(self) -> list[Thumbnail]:
        """The thumbnails kept so far (the bucket in progress included), in frame order."""
        kept = [thumbnail for _, _, thumbnail in self._kept]
        if self._current is not None:
            kept.append(self._current[1])
        return sorted(kept, key=lambda t: t.index)

    def _keep(self, thumbnail: Thumbnail) -> None:
        entry = (-thumbnail.score, thumbnail.index, thumbnail)
        if len(self._kept) < self.capacity:
            heapq.heappush(self._kept, entry)
        elif entry > self._kept[0]:  # lower than the highest kept: it takes that one's place
            heapq.heapreplace(self._kept, entry)

    def _encode(self, image: np.ndarray) -> bytes:
        height, width = image.shape[:2]
        scale = min(1.0, self.width / width)
        small = cv2.resize(
            image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
        )
        ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise ValueError("OpenCV could not encode a thumbnail")
        return jpeg.tobytes()
