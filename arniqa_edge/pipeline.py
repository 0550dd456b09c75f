"""Overlapped scoring of a frame stream: decode -> prepare batches -> batched inference.

    decode thread ──▶ [bounded queue] ──▶ prepare thread ──▶ [bounded queue] ──▶ caller's thread:
    (iterates frames)                      load and check;    (batches)           run the batch, regress
                                           the backend                            (+ score against the
                                           prepares each frame                    golden references)
                                           into rows of one
                                           batch of its inputs

Each stage runs while the next one works, so on a CPU the decoder and the
preprocessing (the C++ op into the backend's host buffers, GIL released) fill the
gaps of the backend, and on a GPU the uploads and the CUDA preprocessing, enqueued
on the backend's stream into slices of one device buffer, hide behind inference.
Queues are bounded: a fast decoder waits instead of filling memory, and the
backend reuses the buffers of the batches it has run. Results come out in input
order. An exception in any stage (including KeyboardInterrupt) is re-raised in the
caller's thread after every frame before it has been yielded, so partial results
are never lost; closing the generator early stops the threads.

A frame that comes without pixels (one its source could not decode) comes out as
a failed result (`ScoredFrame.error` set, no score) in its place. With
`isolate_failures`, so does a frame that cannot be scored: a batch that fails is
scored again frame by frame, so one bad frame costs only itself.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .errors import ArniqaEdgeError
from .scorer import Scorer

#: What scoring one bad frame may raise; with isolate_failures it fails that frame only.
SCORING_ERRORS = (ArniqaEdgeError, ValueError, ArithmeticError, cv2.error)


@dataclass
class Frame:
    index: int  #: position in the source, counting skipped frames
    timestamp: float  #: seconds from the start of the source
    image: np.ndarray | None  #: uint8 HxWx3 BGR; None for a frame the source could not decode
    error: str | None = None  #: why there is no image


@dataclass
class ScoredFrame:
    index: int
    timestamp: float
    score: float  #: quality in [0, 1], higher is better (NaN for a failed frame)
    raw_score: float  #: the regressor's output in its label units (NaN for a failed frame)
    image: np.ndarray | None = None  #: the frame, when the pipeline was asked to keep it
    reference_score: float | None = None  #: quality against the golden references, in [0, 1]
    reference_raw_score: float | None = None  #: the same in the reference model's label units
    error: str | None = None  #: why the frame has no score: it could not be decoded or scored

    @property
    def failed(self) -> bool:
        return self.error is not None


def failed_frame(frame: Frame, error: str, keep_images: bool = False) -> ScoredFrame:
    """The result of a frame that has no score."""
    return ScoredFrame(
        frame.index, frame.timestamp, float("nan"), float("nan"), frame.image if keep_images else None, error=error
    )


_END = object()


def auto_batch_size(scorer: Scorer, frame_shape: tuple[int, ...]) -> int:
    """Frames per backend call for frames of this shape: the scorer's own limit (its batch
    size, CPU_BATCH_PIXELS on a CPU, and its memory budget; at least one)."""
    return max(1, scorer.batch_limit(frame_shape[0], frame_shape[1]))


class _Failure:
    """An exception raised in a stage, carried downstream to be re-raised in order."""

    def __init__(self, error: BaseException):
        self.error = error


class _Stage(threading.Thread):
    """Runs `produce()` (an iterator) and puts its items into a bounded queue, then _END."""

    def __init__(self, name: str, produce: Callable[[], Iterable], out: queue.Queue, stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self._produce, self._out, self._halt = produce, out, stop

    def run(self) -> None:
        try:
            for item in self._produce():
                if not self._put(item):
                    return
        except BaseException as error:  # noqa: BLE001 - re-raised in the consumer's thread
            self._put(_Failure(error))
            return
        self._put(_END)

    def _put(self, item) -> bool:
        while not self._halt.is_set():
            try:
                self._out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


def _drain(source: queue.Queue, stop: threading.Event) -> Iterator:
    """Items of an upstream queue until _END; a _Failure is passed on as an item."""
    while not stop.is_set():
        try:
            item = source.get(timeout=0.1)
        except queue.Empty:
            continue
        if item is _END:
            return
        yield item
        if isinstance(item, _Failure):
            return


@dataclass
class _Batch:
    """Frames prepared into one batch of backend inputs, waiting to run."""

    frames: list[Frame]
    inputs: Any  #: the backend's InputBatch


def score_frames(
    scorer: Scorer,
    frames: Iterable[Frame],
    batch_size: int | None = None,
    depth: int = 2,
    keep_images: bool = False,
    channels: str = "bgr",
    reference: Callable[[np.ndarray], Any] | None = None,
    isolate_failures: bool = False,
) -> Iterator[ScoredFrame]:
    """Score a stream of frames with decoding, preprocessing and inference overlapped.

    batch_size: frames per backend call (default: `auto_batch_size` for the first frame).
    depth: batches each queue holds; memory stays under about
        (2 * depth + 2) * batch_size frames and their inputs.
    keep_images: attach each frame's pixels to its result (to draw on it).
    reference: also score each frame with this, e.g. `GoldenReferences.predict`: a uint8 BGR
        frame -> a prediction with `score` and `raw_score`; run beside the encoder, frame by frame.
    isolate_failures: a frame that cannot be preprocessed or scored (SCORING_ERRORS) comes out
        as a failed result instead of ending the stream with the exception.
    """
    extractor = scorer.extractor
    decoded: queue.Queue = queue.Queue(maxsize=depth * (batch_size or scorer.batch_size))
    prepared: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def prepare_batches():
        pending: _Batch | None = None
        ready: list[_Batch] = []  # batches to send on before the current frame

        def take() -> list[_Batch]:
            """The batch being filled, to send on (nothing if it holds no frame yet)."""
            nonlocal pending
            batch, pending = pending, None
            if batch is not None and not batch.frames:
                extractor.backend.discard(batch.inputs)
                return []
            return [batch] if batch is not None else []

        def add(item: Frame) -> None:
            """Load the frame and prepare it into the pending batch (a new one if none, or if its size changed)."""
            nonlocal pending
            frame, spec = extractor.load(item.image, channels)
            if pending is not None and pending.inputs.frame_shapes != extractor.input_shapes(*frame.shape[:2]):
                ready.extend(take())  # the frame size changed mid-stream
            if pending is None:
                limit = batch_size or auto_batch_size(scorer, frame.shape)
                pending = _Batch([], extractor.new_batch(frame, spec, limit))
            extractor.prepare(frame, spec, pending.inputs)
            pending.frames.append(item)

        try:
            for item in _drain(decoded, stop):
                if isinstance(item, _Failure):
                    yield from take()
                    yield item
                    return
                error = (item.error or "no image") if item.image is None else None
                if error is None:
                    try:
                        add(item)
                    except Exception as exc:  # noqa: BLE001 - re-raised unless it fails this frame only
                        if not (isolate_failures and isinstance(exc, SCORING_ERRORS)):
                            ready.extend(take())
                            yield from _send(ready)  # the frames before it are scored first
                            raise
                        error = _describe(exc)
                yield from _send(ready)
                if error is not None:  # a failed frame keeps its place: the frames before it go first
                    yield from take()
                    yield item, error
                elif pending.inputs.is_full:
                    yield from take()
            yield from take()
        finally:  # closed early: the batches not sent go back to the backend
            for batch in [*ready, *([pending] if pending is not None else [])]:
                extractor.backend.discard(batch.inputs)

    stages = [
        _Stage("arniqa-decode", lambda: iter(frames), decoded, stop),
        _Stage("arniqa-preprocess", prepare_batches, prepared, stop),
    ]
    for stage in stages:
        stage.start()
    try:
        for item in _drain(prepared, stop):
            if isinstance(item, _Failure):
                raise item.error
            if isinstance(item, _Batch):
                yield from _infer(scorer, item, keep_images, reference, channels, isolate_failures)
            else:
                frame, error = item
                yield failed_frame(frame, error, keep_images)
    finally:
        stop.set()
        for stage in stages:
            stage.join(timeout=5)


def _send(batches: list) -> Iterator:
    """Yield and remove the batches one by one: one not yet sent is still in the list when the stream closes."""
    while batches:
        yield batches.pop(0)


def _infer(
    scorer: Scorer,
    batch: _Batch,
    keep_images: bool,
    reference: Callable[[np.ndarray], Any] | None,
    channels: str,
    isolate_failures: bool,
) -> Iterator[ScoredFrame]:
    try:
        results = _score_batch(scorer, batch, keep_images, reference, channels)
    except SCORING_ERRORS as error:
        if not isolate_failures:
            raise
        if len(batch.frames) == 1:
            yield failed_frame(batch.frames[0], _describe(error), keep_images)
            return
        for frame in batch.frames:  # find the frame that failed; the others keep their scores
            yield from _rescore_alone(scorer, frame, keep_images, reference, channels)
        return
    yield from results


def _rescore_alone(
    scorer: Scorer, frame: Frame, keep_images: bool, reference: Callable[[np.ndarray], Any] | None, channels: str
) -> Iterator[ScoredFrame]:
    try:
        alone = _Batch([frame], scorer.extractor.prepare_image(frame.image, channels))
        results = _score_batch(scorer, alone, keep_images, reference, channels)
    except SCORING_ERRORS as error:
        results = [failed_frame(frame, _describe(error), keep_images)]
    yield from results


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _score_batch(
    scorer: Scorer, batch: _Batch, keep_images: bool, reference: Callable[[np.ndarray], Any] | None, channels: str
) -> list[ScoredFrame]:
    results = []
    features = scorer.extractor.run_split(batch.inputs)
    for frame, prediction in zip(batch.frames, scorer.predict_features(features)):
        scored = ScoredFrame(
            frame.index, frame.timestamp, prediction.score, prediction.raw_score, frame.image if keep_images else None
        )
        if reference is not None:
            against = reference(frame.image if channels == "bgr" else np.ascontiguousarray(frame.image[..., ::-1]))
            scored.reference_score, scored.reference_raw_score = float(against.score), float(against.raw_score)
        results.append(scored)
    return results
