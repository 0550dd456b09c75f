"""`python -m arniqa_edge IMAGE [IMAGE ...]` (also `arniqa-edge`): score image files.

Each row is written and flushed as soon as its image is scored (text, --csv,
--jsonl; --json writes one array, closed even when the run is interrupted).

Exit status: 0 when every image was scored, 1 when some could not be (each gets
its own error line or row and the others are still scored), 2 when nothing could
start (bad options, missing or damaged or mismatched weights, unavailable
backend), 130 when interrupted (Ctrl-C): the rows written so far are kept.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Iterator, Sequence

from . import __version__
from .cli_options import add_batching_arguments, add_model_arguments, positive_int
from .cli_rows import FIELDS, RowWriter, fail_row, new_row, note_warnings, print_rows, set_prediction
from .errors import ArniqaEdgeError
from .imageio import read_image_and_warnings
from .memory import allocation_failures_as
from .scorer import Scorer

__all__ = ["FIELDS", "build_parser", "fail_row", "main", "new_row", "print_rows", "score_files", "set_prediction"]

log = logging.getLogger("arniqa_edge")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m arniqa_edge",
        description="Score the quality of images with ARNIQA: a number in [0, 1], higher is better.",
        epilog="Example: python -m arniqa_edge photo.jpg frames/*.png --json. Exit status: 0 all scored, 1 some "
               "files failed (their rows say why), 2 nothing could start (bad options or weights), 130 "
               "interrupted (the rows written so far are complete).",
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (JPEG, PNG, WebP, BMP, TIFF, ...)")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true",
                     help="print a JSON array, one object per image: path, score, raw_score, error, warning "
                          "(default: aligned text)")
    fmt.add_argument("--jsonl", action="store_true",
                     help="print JSON Lines: one object per image and line, as it is scored (default: aligned text)")
    fmt.add_argument("--csv", action="store_true",
                     help="print CSV with columns path,score,raw_score,error,warning (default: aligned text)")
    add_model_arguments(parser)
    parser.add_argument("--batch-size", type=positive_int, default=8, help="most images per backend call (default: 8)")
    add_batching_arguments(parser)
    reference = parser.add_argument_group(
        "against references (CVRKD)", "score against high-quality images of any content, e.g. golden frames of "
        "the same camera, instead of on the image alone; --backend (auto, onnxruntime or torch) and --device apply")
    reference.add_argument("--reference", nargs="+", metavar="REF",
                           help="the reference images (put the option after the images); needs --reference-model")
    reference.add_argument("--reference-model", metavar="PATH",
                           help="CVRKD student: .safetensors from python -m training.cvrkd.train (torch), or its "
                                "graphs from python -m training.cvrkd.export (onnxruntime, no torch): "
                                "<stem>.maps.onnx with <stem>.score.onnx beside it, or their folder")
    parser.add_argument("-v", "--verbose", action="store_true", help="log which backend and device run")
    parser.add_argument("--version", action="version", version=f"arniqa-edge {__version__}")
    return parser


def output_format(args: argparse.Namespace) -> str:
    return "json" if args.json else "jsonl" if getattr(args, "jsonl", False) else "csv" if args.csv else "text"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.reference or args.reference_model:
            from .reference.cli import score_against_references

            return score_against_references(args)
        return _score_images(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _score_images(args: argparse.Namespace) -> int:
    try:
        scorer = Scorer(model=args.model, weights=args.weights, regressor=args.regressor, backend=args.backend,
                        device=args.device, protocol=args.protocol, batch_size=args.batch_size,
                        max_batch_pixels=args.max_batch_pixels, memory_budget=args.memory_budget)
    except KeyboardInterrupt:
        print("error: interrupted while loading the model; nothing was scored", file=sys.stderr)
        return 130
    except ArniqaEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log.info("scoring with %r", scorer)

    writer = RowWriter(output_format(args), sys.stdout, args.images)
    try:
        for row in score_files(scorer, args.images):
            writer.write(row)
    except KeyboardInterrupt:
        _close_despite_interrupts(writer)
        print(f"error: interrupted after {writer.written} of {len(args.images)} images (their rows are written)",
              file=sys.stderr)
        return 130
    writer.close()
    return 1 if writer.failed else 0


def score_files(scorer: Scorer, paths: Sequence[str]) -> Iterator[dict]:
    """The rows of `paths`, in order, each as soon as it is scored.

    Consecutive images of one size share backend calls, as many as
    `scorer.batch_limit` allows (count, pixels, memory budget); a file that
    fails gets its own error and the rest go on.
    """
    pending: list[tuple[dict, object]] = []
    for path in paths:
        row = new_row(path)
        try:
            with allocation_failures_as("reading it", path):
                image, damage = read_image_and_warnings(path, max_pixels=scorer.max_pixels)
        except ArniqaEdgeError as exc:
            yield from _score_pending(scorer, pending)  # rows stay in input order
            fail_row(row, exc)
            yield row
            continue
        note_warnings(row, damage)
        if pending and pending[0][1].shape != image.shape:
            yield from _score_pending(scorer, pending)
        pending.append((row, image))
        if len(pending) >= scorer.batch_limit(*image.shape[:2]):
            yield from _score_pending(scorer, pending)
    yield from _score_pending(scorer, pending)


def _score_pending(scorer: Scorer, pending: list) -> Iterator[dict]:
    """Score the loaded images of one size in one call (one by one if it fails, to find which), then forget them."""
    if not pending:
        return
    try:
        predictions = _predict(scorer, pending)
    except ArniqaEdgeError as exc:
        if len(pending) == 1:
            predictions = [exc]
        else:
            predictions = []
            for loaded in pending:
                try:
                    predictions.extend(_predict(scorer, [loaded]))
                except ArniqaEdgeError as single:
                    predictions.append(single)
    for (row, _), prediction in zip(pending, predictions):
        if isinstance(prediction, Exception):
            fail_row(row, prediction)
        else:
            set_prediction(row, prediction)
        yield row
    pending.clear()


def _predict(scorer: Scorer, loaded: list) -> list:
    # Decoded files are all BGR (imageio.read_image), so one channel order fits the batch.
    return scorer.predict_batch([image for _, image in loaded], channels="bgr",
                                names=[row["path"] for row, _ in loaded])


def _close_despite_interrupts(writer: RowWriter) -> None:
    """End the output even if Ctrl-C is pressed again meanwhile: an unclosed JSON array is not JSON."""
    while True:
        try:
            writer.close()
            return
        except KeyboardInterrupt:
            continue


if __name__ == "__main__":
    raise SystemExit(main())
