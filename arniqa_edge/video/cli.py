"""`python -m arniqa_edge.video SOURCE`: score the frames of a video, a stream or a camera.

Writes `<name>.scores.csv` (frame, timestamp, score, raw_score) and a VMAF-style
`<name>.scores.json` (per-frame metrics, pooled summary, worst segments) next to
a video file or in --out-dir; optionally an annotated video and a PNG plot.
Outputs are written as frames are scored: Ctrl-C or a truncated file keeps
everything scored so far.

With --reference-dir DIR --reference-model CVRKD every frame is also scored
against the known-good images in DIR (encoded once at the start): a
`reference_score` (and `reference_raw_score`) column, a `reference` metric per
frame and in the pooled metrics of the JSON, a second line in the plot and the
caption. The worst segments stay those of the no-reference score.

Exit status: 0 when the whole source was scored; 1 when it ended early
(truncated or corrupt file) or failed midway; 130 on Ctrl-C or SIGTERM; 2 when
nothing could start (bad options, missing weights, a source that cannot be opened).
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
from pathlib import Path
from typing import Sequence

from .. import __version__
from ..cli_options import add_model_arguments, add_reference_arguments, open_golden_references, positive_int
from ..errors import ArniqaEdgeError
from ..golden import GoldenReferences
from ..scorer import Scorer
from ..sources import source_kind
from .demo import SEGMENTS, make_demo_video
from .reader import VideoReader
from .report import VideoReport
from .run import run_video
from .sinks import AnnotatedVideoSink, CsvSink, JsonSink, PlotSink

log = logging.getLogger("arniqa_edge.video")

EXIT_STATUS = {"complete": 0, "truncated": 1, "failed": 1, "interrupted": 130}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m arniqa_edge.video",
        description="Score the quality of every frame (or every Nth) of a video with ARNIQA: "
                    "per-frame CSV and JSON, a pooled summary, the worst segments.",
        epilog="Examples:\n"
               "  python -m arniqa_edge.video clip.mp4 --plot --annotate\n"
               "  python -m arniqa_edge.video rtsp://camera/stream --fps 2 --max-frames 600 --out-dir qa/\n"
               "  python -m arniqa_edge.video clip.mp4 --reference-dir golden/ --reference-model STUDENT.safetensors\n"
               "  python -m arniqa_edge.video --demo --weights ENC.safetensors --regressor REG.safetensors",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", nargs="?",
                        help="video file, rtsp:// or http(s):// URL, camera index (0) or GStreamer pipeline")
    parser.add_argument("--demo", action="store_true",
                        help="make a sample video (a pan over a photo with a blurred and a noisy stretch) "
                             "in --out-dir (default: arniqa_demo/) and score it with every output on")

    sampling = parser.add_argument_group("which frames")
    choice = sampling.add_mutually_exclusive_group()
    choice.add_argument("--stride", type=positive_int, default=1, help="score every Nth frame (default: 1)")
    choice.add_argument("--fps", type=_positive_float, help="score this many frames per second of video")
    sampling.add_argument("--max-frames", type=positive_int, help="stop after scoring this many frames")

    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("--out-dir", type=Path,
                         help="directory of the outputs (default: beside a video file, else the current one)")
    outputs.add_argument("--name", help="stem of the output names (default: the video's; e.g. NAME.scores.csv)")
    outputs.add_argument("--no-csv", dest="csv", action="store_false", help="do not write NAME.scores.csv")
    outputs.add_argument("--no-json", dest="json", action="store_false", help="do not write NAME.scores.json")
    outputs.add_argument("--annotate", action="store_true",
                         help="write NAME.annotated.avi: the scored frames with their score drawn on")
    outputs.add_argument("--plot", action="store_true",
                         help="write NAME.scores.png: score over time, worst segments shaded (needs matplotlib)")
    outputs.add_argument("--segment-seconds", type=_positive_float, default=1.0,
                         help="length of a worst segment (default: 1.0)")
    outputs.add_argument("--worst", type=int, default=3, help="how many worst segments to report (default: 3)")
    outputs.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")

    model = parser.add_argument_group("model")
    add_model_arguments(model)
    model.add_argument("--batch-size", type=positive_int, default=None,
                       help="frames per backend call (default: 8 on a GPU; on a CPU as many as make ~1 MP, "
                            "so one frame from 720p up)")

    add_reference_arguments(parser.add_argument_group("against golden references (CVRKD)"))

    parser.add_argument("-v", "--verbose", action="store_true", help="log the backend, the source and each output")
    parser.add_argument("--version", action="version", version=f"arniqa-edge {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.demo == bool(args.source):
        parser.error("give a SOURCE to score, or --demo")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        golden = open_golden_references(args)
        scorer = Scorer(model=args.model, weights=args.weights, regressor=args.regressor, backend=args.backend,
                        device=args.device, protocol=args.protocol, batch_size=args.batch_size or 8)
        if args.demo:
            _make_demo(args)
        reader = VideoReader(args.source, stride=args.stride, fps=args.fps, max_frames=args.max_frames)
        stem = _output_stem(args)
        report = VideoReport(args.source, metadata=_metadata(scorer, reader, golden),
                             segment_frames=max(1, round(args.segment_seconds * (reader.output_fps or 1))),
                             worst_count=args.worst, with_reference=golden is not None)
        sinks, paths = _open_sinks(args, stem, report, reader)
    except (ArniqaEdgeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log.info("scoring %s (%dx%d, %.3g fps) with %r", args.source, reader.info.width, reader.info.height,
             reader.info.fps, scorer)

    with _sigterm_as_interrupt():
        run_video(scorer, reader, report, sinks, progress=args.progress, keep_images=args.annotate,
                  batch_size=args.batch_size, reference=golden.predict if golden else None)
    _print_outcome(report, paths)
    return EXIT_STATUS[report.status]


def _make_demo(args) -> None:
    args.out_dir = args.out_dir or Path("arniqa_demo")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    args.source = str(make_demo_video(args.out_dir / "demo.avi"))
    args.annotate = args.plot = True
    print(f"made {args.source}: " + ", ".join(
        f"{s.start:g}-{s.end:g}s {'sharp' if s.distortion == 'none' else s.distortion}" for s in SEGMENTS))


def _output_stem(args) -> Path:
    if source_kind(args.source) == "file":
        default_dir, name = Path(args.source).resolve().parent, Path(args.source).stem
    else:  # a URL, a camera or a pipeline: a file-name-safe version of it, in the current directory
        default_dir, name = Path.cwd(), re.sub(r"[^A-Za-z0-9_.-]+", "_", args.source).strip("_.")[:80] or "stream"
    out_dir = args.out_dir or default_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir / (args.name or name)


def _metadata(scorer: Scorer, reader: VideoReader, golden: GoldenReferences | None) -> dict:
    info = reader.info
    metadata = {"model": scorer.config.name, "backend": scorer.backend.describe(), "protocol": scorer.protocol,
                "width": info.width, "height": info.height, "source_fps": info.fps,
                "source_frames": info.frame_count, "stride": reader.stride, "sample_fps": reader.fps}
    if golden is not None:
        metadata["references"] = golden.describe()
    return metadata


def _open_sinks(args, stem: Path, report: VideoReport, reader: VideoReader):
    planned = [
        (args.csv, ".scores.csv", lambda path: CsvSink(path, with_reference=report.with_reference)),
        (args.json, ".scores.json", lambda path: JsonSink(path, report)),
        (args.annotate, ".annotated.avi", lambda path: AnnotatedVideoSink(path, reader.output_fps)),
        (args.plot, ".scores.png", PlotSink),
    ]
    sinks, paths = [], []
    for wanted, suffix, make in planned:
        if wanted:
            path = stem.with_name(stem.name + suffix)
            sinks.append(make(path))
            paths.append(path)
    return sinks, paths


class _sigterm_as_interrupt:
    """SIGTERM (e.g. from a service manager) ends the run like Ctrl-C: outputs finished, status 130."""

    def __enter__(self):
        self._previous = signal.signal(signal.SIGTERM, self._raise)

    def __exit__(self, *exc):
        signal.signal(signal.SIGTERM, self._previous)

    @staticmethod
    def _raise(signum, frame):
        raise KeyboardInterrupt


def _print_outcome(report: VideoReport, paths: Sequence[Path]) -> None:
    summary = report.summary()
    if summary.get("frames"):
        print(f"{report.source}: {summary['frames']} frames scored; mean {summary['mean']:.3f}, "
              f"harmonic mean {summary['harmonic_mean']:.3f}, min {summary['min']:.3f}, p5 {summary['p5']:.3f}")
        if report.with_reference:
            against = report.reference_summary()
            print(f"  against {len(report.metadata['references']['images'])} references: mean "
                  f"{against['mean']:.3f}, harmonic mean {against['harmonic_mean']:.3f}, min {against['min']:.3f}, "
                  f"p5 {against['p5']:.3f}")
        for rank, segment in enumerate(report.worst_segments(), start=1):
            print(f"  worst #{rank}: {segment.start_time:.2f}-{segment.end_time:.2f}s "
                  f"(frames {segment.start_frame}-{segment.end_frame}), mean {segment.mean_score:.3f}")
    else:
        print(f"{report.source}: no frame scored")
    for path in paths:
        if path.exists():
            print(f"  wrote {path}")
    if report.status != "complete":
        print(f"error: {report.message}; the outputs hold the {len(report)} frames scored before that",
              file=sys.stderr)


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value
