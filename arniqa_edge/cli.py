"""`python -m arniqa_edge IMAGE [IMAGE ...]` (also `arniqa-edge`): score image files.

Exit status: 0 when every image was scored, 1 when some could not be (each gets
its own error line or row and the others are still scored), 2 when nothing could
start (bad options, missing weights, unavailable backend).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from typing import Sequence

from . import __version__
from .cli_options import add_model_arguments, positive_int
from .errors import ArniqaEdgeError
from .imageio import load_image
from .scorer import Scorer

log = logging.getLogger("arniqa_edge")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m arniqa_edge",
        description="Score the quality of images with ARNIQA: a number in [0, 1], higher is better.",
        epilog="Example: python -m arniqa_edge photo.jpg frames/*.png --json",
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (JPEG, PNG, WebP, BMP, TIFF, ...)")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true",
                     help="print a JSON list, one object per image: path, score, raw_score, error")
    fmt.add_argument("--csv", action="store_true", help="print CSV with columns path,score,raw_score,error")
    add_model_arguments(parser)
    parser.add_argument("--batch-size", type=positive_int, default=8, help="images per backend call (default: 8)")
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.reference or args.reference_model:
        from .reference.cli import score_against_references

        return score_against_references(args)
    try:
        scorer = Scorer(model=args.model, weights=args.weights, regressor=args.regressor, backend=args.backend,
                        device=args.device, protocol=args.protocol, batch_size=args.batch_size)
    except ArniqaEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log.info("scoring with %r", scorer)

    rows = _score_files(scorer, args.images)
    print_rows(rows, "json" if args.json else "csv" if args.csv else "text")
    return 1 if any(row["error"] for row in rows) else 0


def _score_files(scorer: Scorer, paths: Sequence[str]) -> list[dict]:
    """Score in chunks of the batch size; a file that fails gets its own error and the rest go on."""
    rows = [new_row(path) for path in paths]
    for start in range(0, len(rows), scorer.batch_size):
        chunk = rows[start:start + scorer.batch_size]
        loaded = []
        for row in chunk:
            try:
                loaded.append((row, load_image(row["path"], max_pixels=scorer.max_pixels)))
            except ArniqaEdgeError as exc:
                fail_row(row, exc)
        try:
            predictions = _predict_same_channels(scorer, [image for _, image in loaded])
        except ArniqaEdgeError:  # find out which file it was, one at a time
            predictions = []
            for row, image in loaded:
                try:
                    predictions.extend(_predict_same_channels(scorer, [image]))
                except ArniqaEdgeError as exc:
                    fail_row(row, exc)
                    predictions.append(None)
        for (row, _), prediction in zip(loaded, predictions):
            if prediction is not None:
                set_prediction(row, prediction)
    return rows


def _predict_same_channels(scorer: Scorer, images: list) -> list:
    # Decoded files are all BGR (imageio.read_image), so one channel order fits the chunk.
    return scorer.predict_batch([frame for frame, _ in images], channels="bgr")


def new_row(path: str) -> dict:
    """One result row of the image CLIs (text, --json, --csv)."""
    return {"path": path, "score": None, "raw_score": None, "error": None}


def set_prediction(row: dict, prediction) -> None:
    row.update(score=round(prediction.score, 6), raw_score=round(prediction.raw_score, 6))


def fail_row(row: dict, exc: Exception) -> None:
    row["error"] = str(exc)
    print(f"error: {exc}", file=sys.stderr)


def print_rows(rows: list[dict], fmt: str) -> None:
    if fmt == "json":
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=["path", "score", "raw_score", "error"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        width = max(len(r["path"]) for r in rows)
        for row in rows:
            value = f"{row['score']:.4f}" if row["error"] is None else "error"
            print(f"{row['path']:<{width}}  {value}")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
