"""A plot of a video's score (and its score against references) over time. Needs matplotlib.

The y-axis follows the signal (its range plus a margin), so a model whose scores
span 0.32-0.42 shows its dips instead of a flat line on a 0-1 axis. The worst
segments are shaded with their rank, the threshold that found them is drawn, and
known intervals (the degradations the demo video was made with) are marked along
the bottom for comparison. The subtitle names the model and the backend.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ArniqaEdgeError
from .report import VideoReport

#: Share of the scores' range added above and below them.
MARGIN = 0.1
#: The y-axis spans at least this much: a constant score is a line with room around it, not an axis of zero
#: height (small: a model whose scores span 0.500-0.505 must fill the plot too).
MIN_SPAN = 0.001
#: A known interval: (start s, end s, what), e.g. (2.5, 4.5, "blur").
Marked = tuple[float, float, str]

SCORE, REFERENCE, WORST, KNOWN = "#1f77b4", "#2ca02c", "#d62728", "#ff7f0e"


def score_axis_limits(values: Sequence[float]) -> tuple[float, float]:
    """A y-range that shows `values`: their min to max with MARGIN of the range each side, at least
    MIN_SPAN tall, centred on a constant signal; it stays within 0..1 when the values do."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    low, high = float(values.min()), float(values.max())
    span = max(high - low, MIN_SPAN / (1 + 2 * MARGIN))
    centre = (low + high) / 2
    bottom, top = centre - span * (0.5 + MARGIN), centre + span * (0.5 + MARGIN)
    height = top - bottom
    if low >= 0 and bottom < 0:  # scores live in 0..1: slide the window inside rather than show nothing
        bottom, top = 0.0, height
    if high <= 1 and top > 1:
        bottom, top = (max(0.0, 1 - height) if low >= 0 else 1 - height), 1.0
    return bottom, top


def score_figure(report: VideoReport, marked: Sequence[Marked] = ()):
    """The plot as a matplotlib Figure (no pyplot: no display, no global state)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ArniqaEdgeError("the score plot needs matplotlib: pip install matplotlib") from None

    figure = Figure(figsize=(10, 3.8), dpi=120)
    axes = figure.add_subplot()
    times = report.timestamps
    axes.plot(times, report.scores, color=SCORE, linewidth=1.2, label="frame score")
    if report.with_reference:
        axes.plot(times, report.reference_scores, color=REFERENCE, linewidth=1.2, label="against references")
    summary = report.summary()
    if summary["mean"] is not None:
        axes.axhline(summary["mean"], color="grey", linestyle="--", linewidth=0.8, label=f"mean {summary['mean']:.4f}")
    threshold = report.segment_threshold()
    if threshold is not None:
        axes.axhline(
            threshold.value,
            color=WORST,
            linestyle=":",
            linewidth=1.0,
            label=f"threshold {threshold.value:.4f} ({threshold.rule})",
        )
    shown = [*report.scores, *report.reference_scores, *([threshold.value] if threshold else [])]
    axes.set_ylim(*score_axis_limits(shown))
    axes.ticklabel_format(axis="y", style="plain", useOffset=False)  # 0.5012, not 0.0012 + 5e-1

    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0  # one frame's width
    for rank, segment in enumerate(report.worst_segments(), start=1):
        axes.axvspan(
            segment.start_time,
            segment.end_time + step,
            color=WORST,
            alpha=0.16,
            label="worst segments" if rank == 1 else None,
        )
        axes.annotate(
            f"#{rank}",
            (segment.start_time, 0.93),
            xycoords=("data", "axes fraction"),
            color=WORST,
            fontsize=8,
            fontweight="bold",
        )
    for number, (start, end, what) in enumerate(marked):
        # A strip along the bottom, in the margin below the lowest score, labelled inside.
        axes.axvspan(
            start,
            end,
            ymin=0,
            ymax=0.07,
            color=KNOWN,
            alpha=0.45,
            label="known degradation (demo)" if number == 0 else None,
        )
        axes.annotate(
            what,
            ((start + end) / 2, 0.015),
            xycoords=("data", "axes fraction"),
            ha="center",
            color="#7f3f00",
            fontsize=7,
        )

    title = Path(report.source).name
    figure.suptitle(title if report.status == "complete" else f"{title} ({report.status})", fontsize=11)
    axes.set_title(subtitle(report), fontsize=8, color="#444444")
    axes.set_xlabel("time (s)")
    axes.set_ylabel("quality (higher is better)")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=5, fontsize=8, frameon=False)
    return figure


def subtitle(report: VideoReport) -> str:
    """Which model scored the video, on which backend, and how many frames."""
    metadata = report.metadata
    parts = [
        f"model {metadata.get('model', '?')}",
        f"backend {metadata.get('backend', '?')}",
        f"{len(report)} frames scored",
    ]
    if report.failures:
        parts.append(f"{len(report.failures)} failed")
    return " | ".join(parts)


def render_plot(report: VideoReport, marked: Sequence[Marked] = ()) -> bytes:
    """The plot as PNG bytes."""
    buffer = io.BytesIO()
    score_figure(report, marked).savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def plot_scores(report: VideoReport, path: Path, marked: Sequence[Marked] = ()) -> None:
    path.write_bytes(render_plot(report, marked))
