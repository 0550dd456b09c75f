"""Fit a quality regressor on a frozen encoder's features of your own labelled images.

    python -m training.evaluation.fit_regressor --weights enc.safetensors \\
        --images my_images/ --scores scores.csv -o my.regressor.safetensors

scores.csv has a header with columns `image` (a path relative to --images) and
`score`, optionally `group` (e.g. the reference content: validation folds never
split a group). The output works with `python -m arniqa_edge --regressor`.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from arniqa_edge.backends import BACKEND_NAMES
from arniqa_edge.cli_conventions import (
    HelpFormatter,
    add_output_argument,
    add_verbosity_arguments,
    add_weights_argument,
    configure_logging,
    progress_disable,
)
from arniqa_edge.errors import ArniqaEdgeError
from arniqa_edge.features import PROTOCOLS, FeatureExtractor
from arniqa_edge.models import get_model_config, list_models
from arniqa_edge.regressor import DATASET_SCALES, LinearRegressor, ScoreScale

from .regression import fit_ridge

log = logging.getLogger(__name__)


def read_scores(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"image", "score"} <= set(rows[0]):
        raise ValueError(f"{path}: needs a header with columns 'image' and 'score' (optional 'group')")
    return rows


def extract_features(extractor: FeatureExtractor, paths: list[Path], desc: str = "features") -> np.ndarray:
    """(N * views, 2F) features; batches of the extractor's batch size (same-sized images share a call)."""
    out = []
    with tqdm(total=len(paths), desc=desc, unit="img", disable=progress_disable()) as bar:
        for start in range(0, len(paths), extractor.batch_size):
            chunk = paths[start : start + extractor.batch_size]
            out.extend(extractor.embed_batch(chunk))
            bar.update(len(chunk))
    return np.concatenate(out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluation.fit_regressor",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--model", default="arniqa-lite0", choices=list_models(), help="model of the --weights")
    add_weights_argument(parser, "encoder weights (.safetensors or official ARNIQA.pth)")
    parser.add_argument("--images", type=Path, required=True, help="folder the 'image' column is relative to")
    parser.add_argument("--scores", type=Path, required=True, help="CSV with columns image,score[,group]")
    add_output_argument(parser, "output .safetensors regressor", required=True, type=Path)
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument(
        "--dataset",
        choices=sorted(DATASET_SCALES),
        help="take the label range and direction of a known dataset instead (default: none)",
    )
    scale.add_argument(
        "--range",
        nargs=2,
        type=float,
        metavar=("LOW", "HIGH"),
        help="label range mapped to [0, 1] (default: min and max of the labels)",
    )
    parser.add_argument("--lower-is-better", action="store_true", help="labels are DMOS-like (lower = better)")
    parser.add_argument(
        "--protocol",
        default="whole",
        choices=list(PROTOCOLS),
        help="views per image: whole (full + half scale) or five_crop (the paper's)",
    )
    parser.add_argument(
        "--backend",
        default="auto",
        choices=BACKEND_NAMES,
        help="inference backend; auto picks the fastest that runs here",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--batch-size", type=int, default=16, help="images per backend call")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds for choosing alpha")
    add_verbosity_arguments(parser)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args)
    try:
        rows = read_scores(args.scores)
        labels = np.array([float(r["score"]) for r in rows])
        groups = [r["group"] for r in rows] if "group" in rows[0] else None
        config = get_model_config(args.model)
        extractor = FeatureExtractor(
            config,
            args.weights,
            backend=args.backend,
            device=args.device,
            protocol=args.protocol,
            batch_size=args.batch_size,
        )
        features = extract_features(extractor, [args.images / r["image"] for r in rows])
    except (ArniqaEdgeError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    views = extractor.views_per_image
    fit = fit_ridge(features.reshape(len(rows), views, -1), labels, groups=groups, folds=args.folds)
    if args.dataset:
        score_scale = DATASET_SCALES[args.dataset]
    else:
        low, high = args.range if args.range else (labels.min(), labels.max())
        score_scale = ScoreScale(float(low), float(high), higher_is_better=not args.lower_is_better)
    regressor = LinearRegressor(
        fit.weight,
        fit.bias,
        score_scale,
        {
            "model": config.name,
            "alpha": f"{fit.alpha:.6g}",
            "cv_srcc": f"{fit.cv_srcc:.4f}",
            "n_images": str(len(rows)),
            "protocol": args.protocol,
            "labels": args.scores.name,
        },
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    regressor.save(args.output)
    print(f"wrote {args.output}: {len(rows)} images, alpha={fit.alpha:.4g}, cross-validated SRCC={fit.cv_srcc:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
