"""What the video scorer writes for people to read: worst segments, pooled metrics, the CSV and JSON names,
the plot and the HTML report. Synthetic scores, no model: seconds."""

import base64
import csv
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import cv2
import numpy as np
import pytest
from video_helpers import base_frame

from arniqa_edge.pipeline import ScoredFrame
from arniqa_edge.video import VideoReport, pooled_summary, segment_threshold, worst_segments
from arniqa_edge.video.cli import build_parser
from arniqa_edge.video.demo import degraded_intervals, distortion_at
from arniqa_edge.video.plot import score_axis_limits, score_figure
from arniqa_edge.video.report import frame_fields
from arniqa_edge.video.sinks import CsvSink, HtmlReportSink, JsonSink

FPS = 15.0
DEMO_MARKS = degraded_intervals()


def demo_like_scores(seed: int = 0) -> np.ndarray:
    """What the demo looks like to the baseline model: ~0.42 when sharp, 0.33 blurred, 0.39 noisy, 8 s at 15 fps."""
    rng = np.random.default_rng(seed)
    drop = {"none": 0.0, "blur": 0.09, "noise": 0.03}
    return np.array([0.42 - drop[distortion_at(i / FPS)] + rng.normal(0, 0.004) for i in range(120)])


def segments_of(scores, threshold=None, **options):
    indices = list(range(len(scores)))
    times = [i / FPS for i in indices]
    return worst_segments(indices, times, scores, segment_threshold(scores, threshold), **options)


# -- worst segments ---------------------------------------------------------------------------------------------


def test_worst_segments_are_the_degraded_stretches_merged_and_ranked():
    scores = demo_like_scores()
    blur, noise = segments_of(scores)  # the relative threshold finds both, and nothing in the sharp stretches
    assert (blur.start_frame, blur.end_frame) == (38, 67)  # 2.53-4.47 s: one segment, not two halves
    assert (noise.start_frame, noise.end_frame) == (83, 104)  # 5.53-6.93 s
    assert blur.frames == 30 and blur.min <= blur.mean < noise.mean
    assert blur.worst_frame == 38 + int(np.argmin(scores[38:68]))


def test_a_dip_interrupted_by_a_better_frame_stays_one_segment():
    scores = np.full(60, 0.8)
    scores[10:20] = scores[21:30] = 0.5  # frame 20 scores well in the middle of a blur
    scores[45:50] = 0.5  # another dip, 1 s after the first: a segment of its own
    segments = segments_of(scores, threshold=0.6)
    assert [(s.start_frame, s.end_frame, s.frames) for s in segments] == [(10, 29, 20), (45, 49, 5)]
    assert segments[0].mean == pytest.approx((19 * 0.5 + 0.8) / 20)
    apart = segments_of(scores, threshold=0.6, merge_gap=0.0)
    assert [(s.start_frame, s.end_frame) for s in apart] == [(10, 19), (21, 29), (45, 49)]


def test_segments_rank_by_the_quality_they_lost():
    scores = np.full(100, 0.9)
    scores[10:13] = 0.6  # short and deep: lost 3 x 0.2
    scores[40:70] = 0.75  # long and shallow: lost 30 x 0.05
    scores[85] = 0.7  # one frame: lost 0.1
    segments = segments_of(scores, threshold=0.8, count=2)
    assert [(s.start_frame, s.end_frame) for s in segments] == [(40, 69), (10, 12)]


def test_relative_threshold_follows_the_clip_and_ignores_steady_noise():
    steady = 0.4 + np.random.default_rng(1).normal(0, 0.005, 600)
    assert segments_of(steady) == []  # nothing stands out: no "worst" stretch made of noise
    threshold = segment_threshold(demo_like_scores())
    assert threshold.rule == "relative" and 0.41 < threshold.median < 0.425
    assert threshold.noise == pytest.approx(0.004, rel=0.25)  # the jitter, not the dips
    assert threshold.value == pytest.approx(threshold.median - 4 * threshold.noise)
    scaled = segment_threshold(demo_like_scores() * 2)  # the same clip from a model with twice the range
    assert scaled.value == pytest.approx(2 * threshold.value)
    assert segment_threshold([]) is None and segments_of([]) == []
    still = segment_threshold([0.5] * 50 + [0.4999] * 10)  # no jitter at all: a dip must still be visible
    assert still.value == pytest.approx(0.5 - 0.001) and segments_of([0.5] * 50 + [0.4999] * 10) == []


def test_a_blur_no_deeper_than_the_content_varies_is_found():
    # A model with a tiny range (0.500-0.505) on a pan: the content moves the score as much as the blur,
    # so the blur is no outlier of the scores' distribution, but it is a clear drop in time.
    rng = np.random.default_rng(2)
    times = np.arange(120) / FPS
    scores = 0.503 + 0.0008 * np.sin(2 * np.pi * times / 3) + rng.normal(0, 0.0002, 120)
    scores[38:68] -= 0.0022  # 2.5-4.5 s blurred
    deviation = np.abs(scores - np.median(scores))
    assert np.median(scores) - scores[38:68].max() < 3 * 1.4826 * np.median(deviation)  # "median - 3 MAD" misses
    [blur] = segments_of(scores, count=1)
    assert (blur.start_frame, blur.end_frame) == (38, 67)


def test_absolute_threshold_overrides_the_clip():
    scores = demo_like_scores()
    [blur] = segments_of(scores, threshold=0.35)
    assert (blur.start_frame, blur.end_frame) == (38, 67)
    assert segment_threshold(scores, 0.35).to_dict() == {"value": 0.35, "rule": "absolute"}
    assert segments_of(scores, threshold=0.1) == []


def test_segment_options_on_the_command_line():
    args = build_parser().parse_args(
        ["clip.avi", "--threshold", "0.35", "--merge-gap", "1", "--worst", "5", "--report"]
    )
    assert (args.threshold, args.merge_gap, args.worst, args.report) == (0.35, 1.0, 5, True)
    defaults = build_parser().parse_args(["clip.avi"])
    assert (defaults.threshold, defaults.merge_gap, defaults.worst, defaults.report) == (None, 0.5, 3, False)


@pytest.mark.parametrize(
    "option, value", [("--threshold", "1.5"), ("--threshold", "nan"), ("--merge-gap", "-1"), ("--worst", "-2")]
)
def test_bad_segment_options_are_argparse_errors(option, value, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["clip.avi", option, value])
    assert exit_.value.code == 2 and option in capsys.readouterr().err


# -- pooled metrics, JSON and CSV --------------------------------------------------------------------------------


def test_pooled_summary_is_vmafs_rounded_and_without_the_count():
    summary = pooled_summary([0.5, 1.0, 0.0, 0.5, 1 / 3])
    assert list(summary)[:4] == ["min", "max", "mean", "harmonic_mean"]  # VMAF's pooled metrics, its order
    assert "frames" not in summary and all(isinstance(value, float) for value in summary.values())
    assert summary["mean"] == round(np.mean([0.5, 1.0, 0.0, 0.5, 1 / 3]), 6) and summary["p50"] == 0.5
    assert summary["harmonic_mean"] == pytest.approx(
        1 / np.mean(1 / (np.array([0.5, 1.0, 0.0, 0.5, 1 / 3]) + 1)) - 1, abs=1e-6
    )
    assert all(value == round(value, 6) for value in summary.values())
    assert set(pooled_summary([]).values()) == {None}
    assert pooled_summary([-1.5, 2.0])["harmonic_mean"] is None  # undefined, as a raw score can make it


def synthetic_run(tmp_path, with_reference=False, images=False, sinks=()):
    """A demo-like report of 120 frames (frame 50 failed), fed to `sinks` (made with the report)."""
    report = VideoReport(
        str(tmp_path / "demo.avi"),
        with_reference=with_reference,
        metadata={
            "model": "arniqa-lite0",
            "backend": "onnxruntime fp32 on cpu (CPUExecutionProvider)",
            "width": 160,
            "height": 120,
            "source_fps": FPS,
        },
    )
    opened = [make(report) for make in sinks]
    picture = base_frame()
    for index, score in enumerate(demo_like_scores()):
        reference = dict(reference_score=score + 0.1, reference_raw_score=1 + 4 * score) if with_reference else {}
        frame = ScoredFrame(
            index, index / FPS, score, 1 + 4 * score, image=picture.copy() if images else None, **reference
        )
        if index == 50:
            frame = ScoredFrame(index, index / FPS, float("nan"), float("nan"), error="undecodable frame")
        report.add(frame)
        for sink in opened:
            sink.add(frame)
    report.finish("partial", "1 frame could not be decoded or scored (frame 50)")
    for sink in opened:
        sink.close(report)
    return report


def test_csv_and_json_name_a_frame_the_same_way(tmp_path):
    synthetic_run(
        tmp_path,
        with_reference=True,
        sinks=[lambda r: CsvSink(tmp_path / "s.csv", with_reference=True), lambda r: JsonSink(tmp_path / "s.json", r)],
    )
    with open(tmp_path / "s.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    document = json.loads((tmp_path / "s.json").read_text())
    header = list(rows[0])
    assert (
        header
        == list(frame_fields(True))
        == ["frameNum", "timestamp", "arniqa", "arniqa_raw", "reference", "reference_raw", "error"]
    )
    frame = document["frames"][3]
    assert [name for name in frame if name != "metrics"] + list(frame["metrics"]) + ["error"] == header
    assert list(document["failed_frames"][0]) == ["frameNum", "timestamp", "error"]
    assert list(document["pooled_metrics"]) == ["arniqa", "arniqa_raw", "reference", "reference_raw"]
    assert rows[3]["frameNum"] == "3" and rows[3]["arniqa"] == f"{frame['metrics']['arniqa']:.6f}"
    assert rows[50]["error"] == "undecodable frame" and rows[50]["arniqa"] == ""


def test_json_has_vmafs_top_level_fps_counts_apart_and_raw_scores_pooled(tmp_path):
    report = synthetic_run(tmp_path, sinks=[lambda r: JsonSink(tmp_path / "s.json", r)])
    document = json.loads((tmp_path / "s.json").read_text())
    assert list(document)[:2] == ["version", "fps"]  # as VMAF's: the scoring speed, frames per second
    assert document["fps"] > 0 and document["source_fps"] == FPS
    assert document["frames_scored"] == 119 and document["frames_failed"] == 1
    pooled = document["pooled_metrics"]
    assert set(pooled) == {"arniqa", "arniqa_raw"} and "frames" not in pooled["arniqa"]
    assert pooled["arniqa_raw"]["mean"] == pytest.approx(1 + 4 * pooled["arniqa"]["mean"], abs=1e-5)
    assert all(value == round(value, 6) for stats in pooled.values() for value in stats.values())
    [blur, noise] = document["worst_segments"]
    assert set(blur) == {"start_frame", "end_frame", "start_time", "end_time", "frames", "mean", "min", "worst_frame"}
    assert (blur["start_frame"], blur["end_frame"], blur["frames"]) == (38, 67, 29)  # frame 50 failed
    assert document["worst_segments_threshold"] == report.segment_threshold().to_dict()
    assert document["worst_segments_threshold"]["rule"] == "relative"


# -- the plot ----------------------------------------------------------------------------------------------------


def test_axis_shows_the_signal_and_never_a_flat_line():
    bottom, top = score_axis_limits([0.32, 0.36, 0.42])
    assert 0.30 < bottom < 0.32 and 0.42 < top < 0.44  # 10% margin each side, not 0..1
    bottom, top = score_axis_limits([0.5002, 0.5044])  # a model with a tiny range fills the plot too
    assert 0.4997 < bottom < 0.5002 and 0.5044 < top < 0.5049
    for constant in (0.4, 0.0, 1.0):
        bottom, top = score_axis_limits([constant] * 10)
        assert top - bottom >= 0.001 - 1e-9 and bottom <= constant <= top and 0 <= bottom and top <= 1
    assert score_axis_limits([0.0, 1.0]) == (0.0, 1.0)


def test_plot_has_the_model_the_threshold_the_segments_and_the_demo_marks(tmp_path):
    report = synthetic_run(tmp_path)
    figure = score_figure(report, DEMO_MARKS)
    axes = figure.axes[0]
    bottom, top = axes.get_ylim()
    assert 0.30 < bottom and top < 0.45  # the demo's 0.32-0.43 fills the plot
    assert "arniqa-lite0" in axes.get_title() and "onnxruntime" in axes.get_title()
    texts = [text.get_text() for text in axes.texts]
    assert {"#1", "#2", "blur", "noise"} <= set(texts)
    labels = axes.get_legend_handles_labels()[1]
    assert "known degradation (demo)" in labels and "worst segments" in labels
    assert any(re.fullmatch(r"threshold 0\.\d{4} \(relative\)", label) for label in labels)


# -- the HTML report ---------------------------------------------------------------------------------------------


class Page(HTMLParser):
    """Every tag with its attributes, the text, and the table cells."""

    def __init__(self):
        super().__init__()
        self.tags, self.text, self.cells = [], [], []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_cell = tag in ("td", "th")
        if self._in_cell:
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_cell:
            self.cells[-1] += data


@pytest.fixture(scope="module")
def html_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    report = synthetic_run(
        folder, images=True, sinks=[lambda r: HtmlReportSink(folder / "demo.report.html", DEMO_MARKS)]
    )
    page = Page()
    page.feed((folder / "demo.report.html").read_text(encoding="utf-8"))
    return folder / "demo.report.html", page, report


def test_html_report_is_self_contained(html_report):
    path, page, _ = html_report
    references = [
        value
        for _, attrs in page.tags
        for name, value in attrs.items()
        if name in ("src", "href", "srcset", "action", "data", "poster")
    ]
    assert references and all(value.startswith("data:image/") for value in references)
    assert not [tag for tag, _ in page.tags if tag in ("script", "link", "iframe", "object", "embed")]
    assert not re.search(r"https?://|url\(|@import", path.read_text(encoding="utf-8"), flags=re.I)


def test_html_report_embeds_the_plot_and_a_thumbnail_per_worst_segment(html_report):
    _, page, report = html_report
    images = [attrs for tag, attrs in page.tags if tag == "img"]
    decoded = []
    for attrs in images:
        header, data = attrs["src"].split(",", 1)
        pixels = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)
        assert pixels is not None and pixels.size, f"{header}: does not decode"
        decoded.append((header, pixels.shape))
    assert [header for header, _ in decoded] == [
        "data:image/png;base64",
        "data:image/jpeg;base64",
        "data:image/jpeg;base64",
    ]  # the plot, then 2 worst frames
    assert decoded[1][1] == (120, 160, 3)  # the frame, at most 240 px wide
    segments = report.worst_segments()
    for segment in segments:
        assert f"frame {segment.worst_frame} at {segment.worst_frame / FPS:.2f} s: {segment.min:.4f}" in "".join(
            page.text
        )


def test_html_report_has_the_summary_the_model_and_what_went_wrong(html_report):
    _, page, report = html_report
    text = " ".join(page.text)
    assert "arniqa-lite0" in text and "onnxruntime" in text and "partial" in text
    assert "frame 50: undecodable frame" in text and "5.5-7 s: noise" in text
    cells = page.cells
    row = cells.index("arniqa")
    assert cells[row + 1 : row + 4] == [f"{report.summary()[name]:.4f}" for name in ("min", "max", "mean")]
    assert "arniqa_raw" in cells and report.segment_threshold().describe() in cells


@pytest.mark.skipif(not shutil.which("chromium"), reason="renders only where Chromium is installed")
def test_html_report_renders_in_headless_chromium(html_report, tmp_path):
    path, _, _ = html_report
    screenshot = tmp_path / "report.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={screenshot}",
            "--window-size=1200,1600",
            path.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    picture = cv2.imread(str(screenshot))
    assert picture.shape[:2] == (1600, 1200)
    assert picture.std() > 20  # a page with a plot and pictures, not a blank one
