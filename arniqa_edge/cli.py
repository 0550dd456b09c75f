"""`arniqa-edge score IMAGE|FOLDER|PATTERN|- ...` (also `python -m arniqa_edge`): score image files.

Folders, glob patterns and lists of paths (stdin or --from-file) are expanded
first (`cli_inputs`). Each row is written and flushed as soon as its image is
scored (text, --csv, --jsonl; --json writes one array, closed even when the run
is interrupted); --sort holds the rows back until all are scored. A summary
ends text output on stderr (`cli_summary`).

Exit status: 0 when every image was scored, 1 when some could not be (each gets
its own error line or row and the others are still scored), 2 when nothing could
start (bad options, an unreadable list, missing or damaged or mismatched weights,
unavailable backend), 3 when all were scored but some below --threshold, 130 when
interrupted (Ctrl-C): the rows written so far are kept.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable, Iterator, Sequence

from . import __version__
from .cli_conventions import HelpFormatter, add_verbosity_arguments, configure_logging
from .cli_inputs import InputListError, InputProblem, expand_inputs, input_path
from .cli_options import REFERENCE_MODEL_HELP, add_batching_arguments, add_model_arguments, positive_int, scorer_options
from .cli_rows import FIELDS, RowWriter, fail_row, new_row, note_warnings, print_rows, set_prediction
from .cli_summary import below_threshold, format_summary, sort_rows, summarize
from .errors import ArniqaEdgeError, InputImageError
from .imageio import read_image_and_warnings
from .memory import allocation_failures_as
from .scorer import Scorer

__all__ = [
    "FIELDS",
    "build_parser",
    "fail_row",
    "main",
    "new_row",
    "print_rows",
    "problem_row",
    "score_files",
    "score_inputs",
    "set_prediction",
    "write_rows",
]

log = logging.getLogger("arniqa_edge")

#: Exit statuses, as the epilog's table states them.
EXIT_OK, EXIT_FAILED_FILES, EXIT_CANNOT_START, EXIT_BELOW_THRESHOLD, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

EPILOG = """\
inputs:
  An IMAGE may be a file; a folder (its image files, sorted; other files are skipped;
  --recursive takes those of its subfolders too); a glob pattern, also when the shell
  left it unexpanded ('shots/**/*.jpg', ** for any depth); or - for a list of paths
  on stdin, one a line (so is --from-file LIST).

output:
  One row per image on stdout, in input order, each written as soon as the image is
  scored. --sort holds every row back until all images are scored, then writes them
  sorted. Errors, warnings, the summary and the --threshold verdict go to stderr.

examples:
  %(prog)s photo.jpg frames/*.png --json
  %(prog)s shots/ --recursive --sort score
  find shots -name '*.jpg' -newer last-run | %(prog)s - --csv
  %(prog)s 'uploads/*.jpg' --threshold 0.4 --no-summary || echo "some uploads are too poor"

exit status:
  0    every image was scored (and none below --threshold)
  1    some files could not be scored: each has an error row and an error line on stderr
  2    nothing could start: bad options, an unreadable --from-file list, missing, damaged
       or mismatched weights, an unavailable backend
  3    every file was scored, and at least one scored below --threshold
  130  interrupted (Ctrl-C): the rows written so far are complete
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m arniqa_edge",
        formatter_class=HelpFormatter,
        epilog=EPILOG,
        description="Score the quality of images with ARNIQA: a number in [0, 1], higher is better.",
    )
    parser.add_argument(
        "images",
        nargs="*",
        metavar="IMAGE",
        help="image files (JPEG, PNG, WebP, BMP, TIFF, ...), folders, glob patterns, or - to read "
        "a list of paths from stdin",
    )
    parser.add_argument(
        "-r", "--recursive", action="store_true", help="also score the images in the subfolders of the folders given"
    )
    parser.add_argument(
        "--from-file",
        action="append",
        metavar="LIST",
        help="also score the paths listed in LIST, one a line (- for stdin); repeatable",
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument(
        "--json",
        action="store_true",
        help="print a JSON array, one object per image: path, score, raw_score, error, warning (default: aligned text)",
    )
    fmt.add_argument(
        "--jsonl",
        action="store_true",
        help="print JSON Lines: one object per image and line, as it is scored (default: aligned text)",
    )
    fmt.add_argument(
        "--csv",
        action="store_true",
        help="print CSV with columns path,score,raw_score,error,warning (default: aligned text)",
    )
    report = parser.add_argument_group("sorting, summary and quality gate")
    report.add_argument(
        "--sort",
        choices=("name", "score"),
        help="write the rows sorted by path, or by score (lowest first, failed files last); the "
        "rows then all come at the end, once every image is scored (default: input order, "
        "each row as soon as it is scored)",
    )
    report.add_argument(
        "--summary",
        action=argparse.BooleanOptionalAction,
        help="end with a summary on stderr: how many images were scored and failed, mean, min, "
        "percentiles, max, the worst files (default: on for text output, off for --json, "
        "--jsonl, --csv and with --quiet)",
    )
    report.add_argument(
        "--worst", type=positive_int, default=5, metavar="N", help="files listed as the worst in the summary"
    )
    report.add_argument(
        "--threshold",
        type=unit_score,
        metavar="T",
        help="quality gate: exit with status 3 when any image scores below T (in [0, 1]) (default: no gate)",
    )
    add_model_arguments(parser)
    parser.add_argument("--batch-size", type=positive_int, default=8, help="most images per backend call")
    add_batching_arguments(parser)
    reference = parser.add_argument_group(
        "against references (CVRKD)",
        "score against high-quality images of any content, e.g. golden frames of "
        "the same camera, instead of on the image alone; --backend and --device apply",
    )
    reference.add_argument(
        "--reference",
        nargs="+",
        metavar="REF",
        help="the reference images (put the option after the images); scored with --reference-model (default: the shipped CVRKD student)",
    )
    reference.add_argument("--reference-model", metavar="PATH", help=REFERENCE_MODEL_HELP)
    add_verbosity_arguments(parser, default="warning")
    # -v: the scorer's former way to see which backend and device run
    parser.add_argument("-v", "--verbose", dest="log_level", action="store_const", const="info", help=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"arniqa-edge {__version__}")
    return parser


def unit_score(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"scores are in [0, 1]; got {text}")
    return value


def output_format(args: argparse.Namespace) -> str:
    return "json" if args.json else "jsonl" if getattr(args, "jsonl", False) else "csv" if args.csv else "text"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.images and not args.from_file:
        parser.error(
            "no images given: name files, folders or patterns, - to read a list from stdin, or --from-file LIST"
        )
    configure_logging(args, fmt="%(levelname)s %(name)s: %(message)s")
    try:
        try:
            inputs = expand_inputs(args.images, args.from_file or (), recursive=args.recursive)
        except InputListError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_CANNOT_START
        if not inputs:
            print("error: no images to score: the list of paths was empty", file=sys.stderr)
            return EXIT_CANNOT_START
        if args.reference or args.reference_model:
            from .cvrkd.cli import score_against_references

            return score_against_references(args, inputs)
        return _score_images(args, inputs)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _score_images(args: argparse.Namespace, inputs: list) -> int:
    try:
        scorer = Scorer(**scorer_options(args), protocol=args.protocol, batch_size=args.batch_size)
    except KeyboardInterrupt:
        print("error: interrupted while loading the model; nothing was scored", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ArniqaEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    log.info("scoring with %r", scorer)
    return write_rows(score_inputs(scorer, inputs), args, inputs)


def write_rows(rows: Iterable[dict], args: argparse.Namespace, inputs: Sequence) -> int:
    """Write the rows in the format, order and with the summary that `args` ask for; the exit status.

    Without --sort each row is written as it comes; with it, all are held and written
    sorted at the end (or at Ctrl-C: those scored so far). Then the summary and the
    --threshold verdict on stderr.
    """
    writer = RowWriter(output_format(args), sys.stdout, [input_path(item) for item in inputs])
    done: list[dict] = []
    try:
        for row in rows:
            done.append(row)
            if not args.sort:
                writer.write(row)
    except KeyboardInterrupt:
        _finish_despite_interrupts(writer, sort_rows(done, args.sort) if args.sort else [])
        print(f"error: interrupted after {len(done)} of {len(inputs)} images (their rows are written)", file=sys.stderr)
        return EXIT_INTERRUPTED
    _finish_despite_interrupts(writer, sort_rows(done, args.sort) if args.sort else [])

    show_summary = args.summary if args.summary is not None else writer.fmt == "text" and not args.quiet
    if show_summary:
        sys.stderr.write(format_summary(summarize(done, args.worst)))
    low = below_threshold(done, args.threshold) if args.threshold is not None else []
    if low:
        print(
            f"threshold: {len(low)} of {len(done) - writer.failed} scored images are below {args.threshold:g}",
            file=sys.stderr,
        )
    return EXIT_FAILED_FILES if writer.failed else EXIT_BELOW_THRESHOLD if low else EXIT_OK


def problem_row(problem: InputProblem) -> dict:
    """The error row of an argument that names no image (an empty folder, a pattern that matches nothing)."""
    row = new_row(problem.path)
    fail_row(row, InputImageError(problem.message))
    return row


def score_inputs(scorer: Scorer, inputs: Sequence) -> Iterator[dict]:
    """The rows of expanded `inputs` (paths and `InputProblem`s), in order, each as soon as it is scored."""
    paths: list[str] = []
    for item in inputs:
        if isinstance(item, InputProblem):
            yield from score_files(scorer, paths)  # rows stay in input order
            paths = []
            yield problem_row(item)
        else:
            paths.append(item)
    yield from score_files(scorer, paths)


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
    return scorer.predict_batch(
        [image for _, image in loaded], channels="bgr", names=[row["path"] for row, _ in loaded]
    )


def _finish_despite_interrupts(writer: RowWriter, rows: Sequence[dict]) -> None:
    """Write `rows` and end the output even if Ctrl-C is pressed again meanwhile: an unclosed JSON array is
    not JSON. A row is written whole or not at all (`RowWriter`), so none is written twice."""
    start = writer.written
    while True:
        try:
            while writer.written - start < len(rows):
                writer.write(rows[writer.written - start])
            writer.close()
            return
        except KeyboardInterrupt:
            continue


if __name__ == "__main__":
    raise SystemExit(main())
