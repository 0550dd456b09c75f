"""`python -m arniqa_edge.video SOURCE`: score the frames of a video, a stream or a camera.

Writes `<name>.scores.csv` (frameNum, timestamp, arniqa, arniqa_raw, error) and
a VMAF-style `<name>.scores.json` (the same names per frame; pooled metrics,
worst segments) next to a video file or in -o/--output DIR; optionally an annotated
video, a PNG plot and a self-contained HTML report (plot, summary, thumbnails of
the worst frames) to mail on. Frames are timed by the container's timestamps
when it has them (variable frame rates, streams).

The worst segments are the stretches where the score drops below a threshold,
merged across short gaps and ranked by how much quality they lost. The threshold
is relative to the clip (its median score - 4 x the score's frame-to-frame noise,
and at least 0.001 below the median), so it finds the dips whatever the range of
the model's scores; --threshold sets one instead.

Outputs are written as frames are scored: Ctrl-C or a truncated file keeps
everything scored so far. A frame that cannot be decoded or scored is skipped,
counted and listed (an `error` column in the CSV, `failed_frames` in the JSON);
--max-consecutive-failures of them in a row end the run. An output that cannot
be written (a full disk) stops the run: the other outputs are finished, the JSON
says "failed" and why. Credentials in a URL (user:password@) are never shown,
stored or used in a file name.

With --reference-dir DIR --reference-model CVRKD every frame is also scored
against the known-good images in DIR (encoded once at the start): a `reference`
(and `reference_raw`) metric per frame in the CSV and the JSON, pooled in the
JSON, a second line in the plot and the caption. The worst segments stay those
of the no-reference score.

Exit status: 0 when the whole source was scored; 1 when frames failed, it ended
early (a truncated or corrupt file or stream, a live stream that stopped) or
failed midway (an output that cannot be written), the results so far kept; 130
on Ctrl-C or SIGTERM, also while the model loads; 2 when nothing could start
(bad options, missing weights, a source that cannot be opened).
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from ..cli_conventions import HelpFormatter, add_output_argument, add_verbosity_arguments, configure_logging
from ..cli_options import (
    add_batching_arguments,
    add_model_arguments,
    add_reference_arguments,
    open_golden_references,
    positive_int,
    scorer_options,
)
from ..cvrkd.golden import GoldenReferences
from ..errors import ArniqaEdgeError
from ..redact import redact
from ..scorer import Scorer
from ..sources import source_kind
from .demo import SEGMENTS, degraded_intervals, make_demo_video
from .reader import MAX_CONSECUTIVE_FAILURES, VideoReader
from .report import VideoReport
from .run import run_video
from .signals import interrupt_guard
from .sinks import AnnotatedVideoSink, CsvSink, HtmlReportSink, JsonSink, PlotSink
from .summary import MERGE_GAP, MIN_DROP, THRESHOLD_SIGMAS

log = logging.getLogger("arniqa_edge.video")

EXIT_STATUS = {"complete": 0, "partial": 1, "truncated": 1, "ended": 1, "failed": 1, "interrupted": 130}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m arniqa_edge.video",
        description="Score the quality of every frame (or every Nth) of a video with ARNIQA: "
        "per-frame CSV and JSON, a pooled summary, the worst segments.",
        epilog="examples:\n"
        "  %(prog)s clip.mp4 --report --annotate\n"
        "  %(prog)s rtsp://camera/stream --fps 2 --max-frames 600 -o qa/\n"
        "  %(prog)s clip.mp4 --reference-dir golden/ --reference-model STUDENT.safetensors\n"
        "  %(prog)s --demo --weights ENC.safetensors --regressor REG.safetensors\n",
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "source",
        nargs="?",
        metavar="SOURCE",
        help="video file, rtsp:// or http(s):// URL, camera index (0) or GStreamer pipeline",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="make a sample video (a pan over a photo with a blurred and a noisy stretch) "
        "in -o/--output (default: arniqa_demo/) and score it with every output on; the plot "
        "and the report mark the stretches degraded on purpose",
    )

    sampling = parser.add_argument_group("which frames")
    choice = sampling.add_mutually_exclusive_group()
    choice.add_argument("--stride", type=positive_int, default=1, metavar="N", help="score every Nth frame")
    choice.add_argument(
        "--fps",
        type=_positive_float,
        help="score this many frames per second of video (default: every --stride-th frame)",
    )
    sampling.add_argument(
        "--max-frames", type=positive_int, metavar="N", help="stop after scoring this many frames (default: no limit)"
    )
    sampling.add_argument(
        "--max-consecutive-failures",
        type=positive_int,
        default=MAX_CONSECUTIVE_FAILURES,
        metavar="N",
        help="frames that cannot be decoded or scored are skipped and listed; stop after this "
        "many in a row (default: %(default)s, about a second of video)",
    )

    outputs = parser.add_argument_group("outputs")
    add_output_argument(
        outputs,
        "directory of the outputs (default: beside a video file, else the current one; arniqa_demo/ with --demo)",
        aliases=("--out-dir",),
        type=Path,
        metavar="DIR",
    )
    outputs.add_argument("--name", help="stem of the output names (default: the video's; e.g. NAME.scores.csv)")
    outputs.add_argument("--no-csv", dest="csv", action="store_false", help="do not write NAME.scores.csv")
    outputs.add_argument("--no-json", dest="json", action="store_false", help="do not write NAME.scores.json")
    outputs.add_argument(
        "--annotate", action="store_true", help="write NAME.annotated.avi: the scored frames with their score drawn on"
    )
    outputs.add_argument(
        "--plot",
        action="store_true",
        help="write NAME.scores.png: score over time, worst segments shaded (needs matplotlib)",
    )
    outputs.add_argument(
        "--report",
        action="store_true",
        help="write NAME.report.html: plot, summary and thumbnails of the worst frames in one "
        "self-contained page, to read anywhere or mail on",
    )
    outputs.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bar (by default there is one on stderr when it is a terminal; none with -q)",
    )

    segments = parser.add_argument_group("worst segments")
    segments.add_argument(
        "--threshold",
        type=_score,
        metavar="SCORE",
        help="a frame is low below this score (default: relative to the clip: its median "
        f"score - {THRESHOLD_SIGMAS:g} x the score's frame-to-frame noise, a robust standard "
        f"deviation of successive differences; at least {MIN_DROP:g} below the median)",
    )
    segments.add_argument(
        "--merge-gap",
        type=_non_negative_float,
        default=MERGE_GAP,
        metavar="SECONDS",
        help="low stretches at most this far apart are one segment (default: %(default)s)",
    )
    segments.add_argument(
        "--worst",
        type=_non_negative_int,
        default=3,
        metavar="N",
        help="how many worst segments to report, the one that lost the most quality first (default: %(default)s)",
    )

    model = parser.add_argument_group("model")
    add_model_arguments(model)
    model.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        metavar="N",
        help="frames per backend call (default: 8 on a GPU; on a CPU as many as make ~1 MP, so one frame from 720p up)",
    )
    add_batching_arguments(model)

    add_reference_arguments(parser.add_argument_group("against golden references (CVRKD)"))

    add_verbosity_arguments(parser, default="warning")
    # -v: the former way to see the backend, the source and each output (= --log-level info)
    parser.add_argument("-v", "--verbose", dest="log_level", action="store_const", const="info", help=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"arniqa-edge {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.demo == bool(args.source):
        parser.error("give a SOURCE to score, or --demo")
    configure_logging(args, fmt="%(levelname)s %(name)s: %(message)s")
    with interrupt_guard() as guard:
        try:
            started = _start(args)
            if guard.interrupted:  # a Ctrl-C that Python dropped while loading the model
                raise KeyboardInterrupt
        except KeyboardInterrupt:  # Ctrl-C while the model loads: nothing scored yet
            print("error: interrupted while starting (loading the model, opening the source)", file=sys.stderr)
            return 130
        except (ArniqaEdgeError, OSError) as exc:
            print(f"error: {redact(str(exc))}", file=sys.stderr)
            return 2
        scorer, reader, report, golden, sinks, paths = started
        log.info(
            "scoring %s (%dx%d, %.3g fps) with %r",
            report.source,
            reader.info.width,
            reader.info.height,
            reader.info.fps,
            scorer,
        )
        run_video(
            scorer,
            reader,
            report,
            sinks,
            progress=args.progress and not args.quiet,
            keep_images=args.annotate or args.report,
            batch_size=args.batch_size,
            reference=golden.predict if golden else None,
        )
    _print_outcome(report, paths)
    return EXIT_STATUS[report.status]


def _start(args):
    """The scorer, the reader, the report and the open sinks; raises what keeps the run from starting."""
    golden = open_golden_references(args)
    scorer = Scorer(**scorer_options(args), protocol=args.protocol, batch_size=args.batch_size or 8)
    if args.demo:
        _make_demo(args)
    reader = VideoReader(
        args.source,
        stride=args.stride,
        fps=args.fps,
        max_frames=args.max_frames,
        max_failures=args.max_consecutive_failures,
    )
    stem = _output_stem(args)
    report = VideoReport(
        redact(args.source),
        metadata=_metadata(scorer, reader, golden),
        threshold=args.threshold,
        merge_gap=args.merge_gap,
        worst_count=args.worst,
        with_reference=golden is not None,
    )
    sinks, paths = _open_sinks(args, stem, report, reader)
    return scorer, reader, report, golden, sinks, paths


def _make_demo(args) -> None:
    args.output = args.output or Path("arniqa_demo")
    args.output.mkdir(parents=True, exist_ok=True)
    args.source = str(make_demo_video(args.output / "demo.avi"))
    args.annotate = args.plot = args.report = True
    print(
        f"made {args.source}: "
        + ", ".join(f"{s.start:g}-{s.end:g}s {'sharp' if s.distortion == 'none' else s.distortion}" for s in SEGMENTS)
    )


def _output_stem(args) -> Path:
    if source_kind(args.source) == "file":
        default_dir, name = Path(args.source).resolve().parent, Path(args.source).stem
    else:  # a URL, a camera or a pipeline: a file-name-safe version of it (no password), in the current directory
        default_dir = Path.cwd()
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", redact(args.source)).strip("_.")[:80] or "stream"
    out_dir = args.output or default_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir / (args.name or name)


def _metadata(scorer: Scorer, reader: VideoReader, golden: GoldenReferences | None) -> dict:
    info = reader.info
    metadata = {
        "model": scorer.config.name,
        "backend": scorer.backend.describe(),
        "protocol": scorer.protocol,
        "width": info.width,
        "height": info.height,
        "source_fps": info.fps,
        "source_frames": info.frame_count,
        "stride": reader.stride,
        "sample_fps": reader.fps,
    }
    if golden is not None:
        metadata["references"] = golden.describe()
    return metadata


def _open_sinks(args, stem: Path, report: VideoReport, reader: VideoReader):
    # The JSON goes last: it is closed after the others, so its status names any output that failed.
    marked = degraded_intervals() if args.demo else []
    planned = [
        (args.csv, ".scores.csv", lambda path: CsvSink(path, with_reference=report.with_reference)),
        (args.annotate, ".annotated.avi", lambda path: AnnotatedVideoSink(path, reader.output_fps)),
        (args.plot, ".scores.png", lambda path: PlotSink(path, marked)),
        (args.report, ".report.html", lambda path: HtmlReportSink(path, marked)),
        (args.json, ".scores.json", lambda path: JsonSink(path, report)),
    ]
    sinks, paths = [], []
    for wanted, suffix, make in planned:
        if wanted:
            path = stem.with_name(stem.name + suffix)
            sinks.append(make(path))
            paths.append(path)
    return sinks, paths


def _print_outcome(report: VideoReport, paths: Sequence[Path]) -> None:
    summary = report.summary()
    failed = f", {len(report.failures)} failed" if report.failures else ""
    if len(report):
        print(
            f"{report.source}: {len(report)} frames scored{failed}; mean {summary['mean']:.3f}, "
            f"harmonic mean {summary['harmonic_mean']:.3f}, min {summary['min']:.3f}, p5 {summary['p5']:.3f}"
        )
        if report.with_reference:
            against = report.reference_summary()
            print(
                f"  against {len(report.metadata['references']['images'])} references: mean "
                f"{against['mean']:.3f}, harmonic mean {against['harmonic_mean']:.3f}, min {against['min']:.3f}, "
                f"p5 {against['p5']:.3f}"
            )
        segments = report.worst_segments()
        if report.worst_count:
            print(f"  low: {report.segment_threshold().describe()}" + ("" if segments else "; no frame is"))
        for rank, segment in enumerate(segments, start=1):
            print(
                f"  worst #{rank}: {segment.start_time:.2f}-{segment.end_time:.2f}s "
                f"(frames {segment.start_frame}-{segment.end_frame}), mean {segment.mean:.4f}, "
                f"min {segment.min:.4f}"
            )
    else:
        print(f"{report.source}: no frame scored{failed}")
    for path in paths:
        if str(path) in report.failed_outputs:
            print(f"  incomplete {path}")
        elif path.exists():
            print(f"  wrote {path}")
    if report.status == "partial":
        print(f"error: {report.message}; the outputs list them beside the {len(report)} frames scored", file=sys.stderr)
    elif report.status != "complete":
        print(f"error: {report.message}; the outputs hold the {len(report)} frames scored before that", file=sys.stderr)


def _positive_float(text: str) -> float:
    return _finite_float(text, lambda value: value > 0, "> 0")


def _non_negative_float(text: str) -> float:
    return _finite_float(text, lambda value: value >= 0, ">= 0")


def _score(text: str) -> float:
    return _finite_float(text, lambda value: 0 <= value <= 1, "in 0..1 (scores are)")


def _finite_float(text: str, accept, condition: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and accept(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number {condition}, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value
