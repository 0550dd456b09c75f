"""PNG plot of a video's score (and its score against references) over time, worst segments shaded.
Needs matplotlib."""

from __future__ import annotations

from pathlib import Path

from ..errors import ArniqaEdgeError
from .report import VideoReport


def plot_scores(report: VideoReport, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed on a server or a Jetson
        import matplotlib.pyplot as plt
    except ImportError:
        raise ArniqaEdgeError("the score plot needs matplotlib: pip install matplotlib") from None

    figure, axes = plt.subplots(figsize=(10, 3.6), dpi=120)
    try:
        axes.plot(report.timestamps, report.scores, color="#1f77b4", linewidth=1.2, label="frame score")
        if report.with_reference:
            axes.plot(report.timestamps, report.reference_scores, color="#2ca02c", linewidth=1.2,
                      label="against references")
        summary = report.summary()
        if "mean" in summary:
            axes.axhline(summary["mean"], color="grey", linestyle="--", linewidth=0.8,
                         label=f"mean {summary['mean']:.3f}")
        for rank, segment in enumerate(report.worst_segments(), start=1):
            axes.axvspan(segment.start_time, max(segment.end_time, segment.start_time + 1e-3), color="#d62728",
                         alpha=0.18, label="worst segments" if rank == 1 else None)
            axes.annotate(f"#{rank}", (segment.start_time, 0.02), color="#d62728", fontsize=8)
        axes.set_ylim(0, 1)
        axes.set_xlabel("time (s)")
        axes.set_ylabel("quality (higher is better)")
        title = Path(report.source).name
        axes.set_title(title if report.status == "complete" else f"{title} ({report.status})")
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right", fontsize=8)
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
