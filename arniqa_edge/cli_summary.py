"""The end of an image CLI's run: the rows in --sort order, the summary on stderr, the --threshold verdict.

    summary: 40 images, 39 scored, 1 failed
    score: mean 0.6120  min 0.2100  p10 0.3521  p25 0.5000  median 0.6400  p75 0.7411  p90 0.8130  max 0.9020
    worst 3:
      0.2100  shots/0012.jpg
      0.3380  shots/0031.jpg
      0.3501  shots/0007.jpg

Percentiles interpolate linearly between the closest ranks (numpy's default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: Percentiles the summary reports between min and max, with their labels.
PERCENTILES = {"p10": 10, "p25": 25, "median": 50, "p75": 75, "p90": 90}


@dataclass
class Summary:
    images: int
    failed: int
    #: mean, min, the PERCENTILES, max (empty when nothing was scored)
    statistics: dict[str, float] = field(default_factory=dict)
    #: (score, path) of the lowest scores, lowest first
    worst: list[tuple[float, str]] = field(default_factory=list)

    @property
    def scored(self) -> int:
        return self.images - self.failed


def summarize(rows: Sequence[dict], worst: int = 5) -> Summary:
    scored = [(row["score"], str(row["path"])) for row in rows if row["error"] is None]
    summary = Summary(images=len(rows), failed=len(rows) - len(scored))
    if scored:
        scores = np.array([score for score, _ in scored], dtype=np.float64)
        summary.statistics = {
            "mean": float(scores.mean()),
            "min": float(scores.min()),
            **{name: float(np.percentile(scores, q)) for name, q in PERCENTILES.items()},
            "max": float(scores.max()),
        }
        summary.worst = sorted(scored)[:worst]
    return summary


def format_summary(summary: Summary) -> str:
    lines = [f"summary: {summary.images} images, {summary.scored} scored, {summary.failed} failed"]
    if summary.statistics:
        lines.append("score: " + "  ".join(f"{name} {value:.4f}" for name, value in summary.statistics.items()))
    if summary.worst:
        lines.append(f"worst {len(summary.worst)}:")
        lines.extend(f"  {score:.4f}  {path}" for score, path in summary.worst)
    return "\n".join(lines) + "\n"


def below_threshold(rows: Sequence[dict], threshold: float) -> list[dict]:
    """The scored rows whose score is under `threshold` (failed rows have no score to compare)."""
    return [row for row in rows if row["error"] is None and row["score"] < threshold]


def sort_rows(rows: Sequence[dict], key: str) -> list[dict]:
    """--sort name: by path; --sort score: lowest score first, the files that failed last (by path)."""
    if key == "name":
        return sorted(rows, key=lambda row: str(row["path"]))
    return sorted(rows, key=lambda row: (row["error"] is not None, row["score"] or 0.0, str(row["path"])))
