"""Pooling per-frame scores into one summary, and finding the worst stretches of a video.

A worst segment is a stretch where the score drops below a threshold: consecutive
scored frames below it form a run, and runs at most `merge_gap` seconds apart are
one segment (a blur does not split in two because one frame in it scored a little
better). Segments are ranked by how much quality they lost: the sum, over their
frames, of how far each one is below the threshold (a long dip outranks a short one
of the same depth).

By default the threshold is relative to the clip's own scores, so that a model
whose scores span 0.32-0.42 (or 0.500-0.505) finds its dips as well as one that
spans 0-1: a frame is low when it is more than THRESHOLD_SIGMAS times the clip's
frame-to-frame noise below its median score, and at least MIN_DROP below it.
The noise is the robust standard deviation of the differences between successive
scores (1.4826 x their MAD / sqrt(2)): how much the score jitters from one frame
to the next. The spread of the scores themselves (their MAD) would not do: it
mixes the jitter with slow changes of content and with the dips themselves, and
in a clip whose content varies as much as a blur lowers the score, the blur is no
outlier of that distribution although it is a clear drop in time. 4 noise
deviations, not the usual 3: every frame of a long clip is tested, and at 3 a
steady clip would show a false dip every few hundred frames. The median is that
of the clip, so a clip degraded for more than half of its length finds only its
worst parts; an absolute threshold (`threshold=`) is the way to judge such clips.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

PERCENTILES = (1, 5, 10, 25, 50, 75, 95)
#: Decimals of every pooled or per-frame value written out.
DECIMALS = 6

#: A frame is low when it is more than this many times the frame-to-frame noise below the clip's median ...
THRESHOLD_SIGMAS = 4.0
#: ... and at least this far below it (scores in 0..1): a still picture, whose score does not jitter at all,
#: has no dips in the last decimals.
MIN_DROP = 0.001
#: The MAD times this estimates the standard deviation of normally distributed values.
MAD_TO_SIGMA = 1.4826
#: Runs of low frames at most this many seconds apart are one segment.
MERGE_GAP = 0.5


def pooled_summary(scores: Sequence[float]) -> dict[str, float | None]:
    """Min, max, mean and harmonic mean (VMAF's pooled metrics, in VMAF's order), then std and percentiles,
    rounded to DECIMALS; every value is None when there are no scores.

    The harmonic mean is pooled as VMAF pools it, 1 / mean(1 / (s + 1)) - 1: it
    leans towards the worst frames and stays defined when a score is 0 (None when
    a score is -1 or less, as a raw score in some label units can be).
    """
    values = np.asarray(scores, dtype=np.float64)
    names = ("min", "max", "mean", "harmonic_mean", "std", *(f"p{q}" for q in PERCENTILES))
    if values.size == 0:
        return dict.fromkeys(names)
    harmonic = float(1.0 / np.mean(1.0 / (values + 1.0)) - 1.0) if (values > -1.0).all() else None
    statistics = [
        values.min(),
        values.max(),
        values.mean(),
        harmonic,
        values.std(),
        *np.percentile(values, PERCENTILES),
    ]
    return {name: None if value is None else round(float(value), DECIMALS) for name, value in zip(names, statistics)}


@dataclass(frozen=True)
class Threshold:
    """The score below which a frame counts as low, and how it was chosen."""

    value: float
    rule: str  #: "relative" (to the clip's scores) or "absolute" (given)
    median: float | None = None  #: relative: the clip's median score ...
    noise: float | None = None  #: ... and its frame-to-frame noise (a robust standard deviation)

    def to_dict(self) -> dict:
        return {
            key: round(value, DECIMALS) if isinstance(value, float) else value
            for key, value in asdict(self).items()
            if value is not None
        }

    def describe(self) -> str:
        if self.rule == "absolute":
            return f"below {self.value:.3f} (--threshold)"
        return (
            f"below {self.value:.4f} (median {self.median:.4f} - {THRESHOLD_SIGMAS:g} x frame-to-frame noise "
            f"{self.noise:.5f}; at least {MIN_DROP:g} below the median)"
        )


def segment_threshold(scores: Sequence[float], absolute: float | None = None) -> Threshold | None:
    """The threshold of the worst segments: `absolute` when given, else relative to the scores (see the
    module's docstring); None without scores to be relative to."""
    if absolute is not None:
        return Threshold(float(absolute), "absolute")
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        return None
    median = float(np.median(values))
    noise = frame_noise(values)
    return Threshold(median - max(THRESHOLD_SIGMAS * noise, MIN_DROP), "relative", median=median, noise=noise)


def frame_noise(values: np.ndarray) -> float:
    """The robust standard deviation of a frame's score around the previous one's level: 1.4826 x the MAD
    of the successive differences, / sqrt(2) (a difference carries the noise of two frames). Steps (a blur
    that starts) are a few large differences: the median does not see them."""
    if values.size < 2:
        return 0.0
    differences = np.diff(values)
    return float(MAD_TO_SIGMA * np.median(np.abs(differences - np.median(differences))) / np.sqrt(2))


@dataclass(frozen=True)
class Segment:
    start_frame: int
    end_frame: int  #: inclusive
    start_time: float
    end_time: float  #: timestamp of the last frame in the segment
    frames: int  #: frames scored in it
    mean: float  #: mean score of those frames
    min: float  #: lowest score in it
    worst_frame: int  #: the frame with that score

    def to_dict(self) -> dict:
        return {
            key: round(value, DECIMALS) if isinstance(value, float) else value for key, value in asdict(self).items()
        }


def worst_segments(
    indices: Sequence[int],
    timestamps: Sequence[float],
    scores: Sequence[float],
    threshold: Threshold | float | None,
    count: int = 3,
    merge_gap: float = MERGE_GAP,
) -> list[Segment]:
    """The `count` stretches where the score is below `threshold`, merged across gaps of at most `merge_gap`
    seconds, the one that lost the most quality first (see the module's docstring)."""
    values = np.asarray(scores, dtype=np.float64)
    if threshold is None or values.size == 0 or count < 1:
        return []
    limit = threshold.value if isinstance(threshold, Threshold) else float(threshold)
    runs = _merged_runs(np.flatnonzero(values < limit), timestamps, merge_gap)
    losses = [float(np.clip(limit - values[start : end + 1], 0.0, None).sum()) for start, end in runs]
    ranked = sorted(range(len(runs)), key=lambda i: -losses[i])[:count]  # stable: earlier first on a tie
    return [_segment(indices, timestamps, values, *runs[i]) for i in ranked]


def _merged_runs(low: np.ndarray, timestamps: Sequence[float], merge_gap: float) -> list[tuple[int, int]]:
    """(first, last) positions of the runs of `low` positions, a run joining the previous one when its first
    frame comes at most merge_gap seconds after the previous run's last frame."""
    return _runs(
        low.tolist(),
        lambda last, position: position == last + 1 or timestamps[position] - timestamps[last] <= merge_gap + 1e-9,
    )


def _runs(items: Sequence[int], continues: Callable[[int, int], bool]) -> list[tuple[int, int]]:
    """(first, last) of each run of `items`: an item continues the run when continues(run's last, item)."""
    runs: list[list[int]] = []
    for item in items:
        if runs and continues(runs[-1][1], item):
            runs[-1][1] = item
        else:
            runs.append([item, item])
    return [(first, last) for first, last in runs]


def _segment(indices, timestamps, values: np.ndarray, start: int, end: int) -> Segment:
    stretch = values[start : end + 1]
    worst = start + int(np.argmin(stretch))
    return Segment(
        int(indices[start]),
        int(indices[end]),
        float(timestamps[start]),
        float(timestamps[end]),
        frames=int(stretch.size),
        mean=float(stretch.mean()),
        min=float(stretch.min()),
        worst_frame=int(indices[worst]),
    )


def frame_list(indices: Sequence[int], shown: int = 5) -> str:
    """ "frames 14-23, 40": runs of consecutive frame numbers, the first few of them."""
    runs = _runs(indices, lambda last, index: index == last + 1)
    text = ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs[:shown])
    return f"frame{'s' if len(indices) > 1 else ''} {text}" + (", ..." if len(runs) > shown else "")
