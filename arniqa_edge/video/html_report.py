"""One self-contained HTML page about a scored video, for an operator to read or mail on.

The plot, the pooled metrics, the worst segments with a thumbnail of each one's
worst frame, the failed frames and, for the demo, the intervals degraded on
purpose. Images are embedded as base64 data URIs and the styles are inline: the
page loads nothing from anywhere, so it reads the same offline, in a mail, or
years later.
"""

from __future__ import annotations

import base64
import datetime
import html
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from .plot import Marked, subtitle
from .report import VideoReport
from .summary import frame_list
from .thumbnails import Thumbnail

#: The pooled statistics shown, in this order (all of `pooled_summary`'s).
STATISTICS = ("min", "max", "mean", "harmonic_mean", "std", "p1", "p5", "p10", "p25", "p50", "p75", "p95")
STATUS_COLOURS = {"complete": "#2e7d32", "partial": "#ef6c00", "ended": "#ef6c00", "running": "#1565c0"}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px auto; max-width: 1100px;
       padding: 0 16px; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 4px; word-break: break-all; }
h2 { font-size: 1.1em; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.subtitle { color: #555; margin-top: 0; }
.status { display: inline-block; padding: 2px 10px; border-radius: 10px; color: #fff; font-size: 0.85em; }
.message { color: #b71c1c; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: right; vertical-align: middle; }
th { background: #f5f5f5; }
td.name, th.name { text-align: left; }
.plot { max-width: 100%; height: auto; border: 1px solid #eee; }
.thumb { display: block; border: 1px solid #ccc; }
.note { color: #666; font-size: 0.85em; }
"""


def render_html(
    report: VideoReport,
    plot_png: bytes | None = None,
    plot_note: str = "",
    thumbnails: Sequence[Thumbnail] = (),
    marked: Sequence[Marked] = (),
) -> str:
    """The page. plot_png: the score plot (plot_note says why there is none); thumbnails: frames kept
    by a `ThumbnailKeeper`, each worst segment shows its lowest; marked: known intervals (the demo's)."""
    name = Path(report.source).name or report.source
    sections = [
        f"<h1>{_text(name)} <span class='status' style='background:{STATUS_COLOURS.get(report.status, '#c62828')}'>"
        f"{_text(report.status)}</span></h1>",
        f"<p class='subtitle'>{_text(subtitle(report))}</p>",
        f"<p class='message'>{_text(report.message)}</p>" if report.message else "",
        _facts(report),
        "<h2>Score over time</h2>",
        _image(plot_png, "image/png", "score over time", "plot")
        if plot_png
        else f"<p class='note'>{_text(plot_note or 'no plot')}</p>",
        "<h2>Pooled metrics</h2>",
        _pooled_table(report),
        "<h2>Worst segments</h2>",
        _segments(report, thumbnails),
        _marked(marked),
        _failed(report),
        f"<p class='note'>arniqa-edge {_text(__version__)}, "
        f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}. This page is self-contained: it loads "
        "nothing from elsewhere.</p>",
    ]
    body = "\n".join(section for section in sections if section)
    return (
        f"<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<title>{_text(name)}: video quality report</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _facts(report: VideoReport) -> str:
    metadata = report.metadata
    threshold = report.segment_threshold()
    duration = report.timestamps[-1] if len(report) else None
    rows = [
        ("source", report.source),
        ("frames", f"{len(report)} scored" + (f", {len(report.failures)} failed" if report.failures else "")),
        (
            "video",
            _join(
                f"{metadata['width']}x{metadata['height']}" if metadata.get("width") else None,
                f"{metadata['source_fps']:.3g} fps" if metadata.get("source_fps") else None,
                f"{duration:.2f} s scored" if duration is not None else None,
            ),
        ),
        ("scoring speed", f"{report.scoring_fps():.2f} frames/s" if report.scoring_fps() else None),
        ("low when", threshold.describe() if threshold else None),
    ]
    cells = "".join(
        f"<tr><th class='name'>{_text(label)}</th><td class='name'>{_text(value)}</td></tr>"
        for label, value in rows
        if value
    )
    return f"<table>{cells}</table>"


def _pooled_table(report: VideoReport) -> str:
    if not len(report):
        return "<p class='note'>no frame scored</p>"
    header = "".join(f"<th>{name}</th>" for name in STATISTICS)
    rows = "".join(
        f"<tr><td class='name'>{_text(metric)}</td>"
        + "".join(f"<td>{_number(values[name])}</td>" for name in STATISTICS)
        + "</tr>"
        for metric, values in report.pooled_metrics().items()
    )
    return f"<table><tr><th class='name'>metric</th>{header}</tr>{rows}</table>"


def _segments(report: VideoReport, thumbnails: Sequence[Thumbnail]) -> str:
    segments = report.worst_segments()
    if not segments:
        return (
            "<p class='note'>"
            + ("none asked for (--worst 0)" if report.worst_count == 0 else "no stretch scored below the threshold")
            + "</p>"
        )
    rows = []
    for rank, segment in enumerate(segments, start=1):
        inside = [t for t in thumbnails if segment.start_frame <= t.index <= segment.end_frame]
        lowest = min(inside, key=lambda t: t.score, default=None)
        picture = (
            (
                _image(lowest.jpeg, "image/jpeg", f"frame {lowest.index}", "thumb")
                + f"<div class='note'>frame {lowest.index} at {lowest.timestamp:.2f} s: "
                f"{lowest.score:.4f}</div>"
            )
            if lowest
            else "<span class='note'>no thumbnail kept</span>"
        )
        rows.append(
            f"<tr><td>#{rank}</td><td>{segment.start_time:.2f}-{segment.end_time:.2f} s</td>"
            f"<td>{segment.start_frame}-{segment.end_frame}</td><td>{segment.frames}</td>"
            f"<td>{_number(segment.mean)}</td><td>{_number(segment.min)}</td>"
            f"<td class='name'>{picture}</td></tr>"
        )
    return (
        "<table><tr><th>rank</th><th>time</th><th>frames</th><th>scored</th><th>mean</th><th>min</th>"
        f"<th class='name'>worst frame</th></tr>{''.join(rows)}</table>"
    )


def _marked(marked: Sequence[Marked]) -> str:
    if not marked:
        return ""
    items = "".join(f"<li>{start:g}-{end:g} s: {_text(what)}</li>" for start, end, what in marked)
    return f"<h2>Degraded on purpose (demo video)</h2><ul>{items}</ul>"


def _failed(report: VideoReport) -> str:
    if not report.failures:
        return ""
    reasons = sorted({error for _, _, error in report.failures})
    return (
        f"<h2>Frames not scored</h2><p>{_text(frame_list([index for index, _, _ in report.failures], 20))}: "
        f"{_text('; '.join(reasons))}</p>"
    )


def _image(data: bytes, mime: str, alt: str, css_class: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f"<img class='{css_class}' alt='{_text(alt)}' src='data:{mime};base64,{encoded}'>"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"  # the files keep all decimals; a reader needs fewer


def _join(*parts: str | None) -> str:
    return ", ".join(part for part in parts if part)


def _text(value) -> str:
    return html.escape(str(value), quote=True)
