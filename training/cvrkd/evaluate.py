"""Evaluate CVRKD networks on the KADID proxy of held-out content, beside the NR scorer.

    python -m training.cvrkd.evaluate --content ../shared/data/pristine/val --images 20 \\
        runs/cvrkd/teacher/model.safetensors runs/cvrkd/student/model.safetensors \\
        runs/cvrkd/student-nodistill/model.safetensors \\
        --nr-weights lite0.safetensors --nr-regressor lite0.regressor.safetensors -o runs/cvrkd/table.md

    python -m training.cvrkd.evaluate --cache runs/cvrkd/cache-val --content ../shared/data/pristine/val \\
        --images 30 runs/cvrkd/*/model.safetensors --nr-shipped -o benchmarks/results/cvrkd-proxy.md

Every content image gets every graded distortion (label: KADID's mean MOS); the
non-aligned reference of content i is content i + 1. Each network is scored with
the aligned pristine reference (FR) and with the non-aligned one (NAR); the NR
scorer (ARNIQA encoder + regressor) sees the distorted image alone. Reported: SRCC
and PLCC against the labels. With `--cache` (an eval cache of
`training.cvrkd.cache` made from the same --content and --images) the networks
run from the cached backbone levels: the same numbers, minutes faster. A .json
with the same rows is written beside the -o table.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from arniqa_edge.cli_conventions import HelpFormatter, add_output_argument, add_verbosity_arguments, configure_logging
from arniqa_edge.cvrkd.weights import load_cvrkd

from ..evaluation.kadid_proxy import DEFAULT_LABELS
from ..evaluation.protocols import Correlations, correlations
from .cache import PoolCache
from .cached import evaluate_cached
from .data import (
    EvalItem,
    GradedDistortion,
    distort,
    evaluation_batches,
    evaluation_items,
    graded_distortions,
    item_rng,
    load_content,
)

REFERENCES = ("fr", "nar")


@dataclass(frozen=True)
class Row:
    name: str
    reference: str  #: "fr", "nar" or "none" (NR)
    result: Correlations


def predict(
    net,
    content: Sequence[np.ndarray],
    items: Sequence[EvalItem],
    reference: str,
    batch_size: int,
    device: str | torch.device = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """(predictions, labels) of `net` on `items`, with the aligned ("fr") or other-content ("nar") reference."""
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}, got {reference!r}")
    net.eval()
    predictions, labels = [], []
    with torch.inference_mode():
        for batch in evaluation_batches(content, items, net.config.crops, net.config.crop_size, batch_size):
            output = net(batch["lq"].to(device), batch[reference].to(device))
            predictions.append(output.score.float().cpu().numpy())
            labels.append(batch["score"].numpy())
    return np.concatenate(predictions), np.concatenate(labels)


def evaluate_network(
    net, content, items, batch_size: int, device="cpu", references: Sequence[str] = REFERENCES
) -> dict[str, Correlations]:
    return {
        reference: correlations(*predict(net, content, items, reference, batch_size, device))
        for reference in references
    }


def evaluate_nr(
    weights: Path, regressor: Path, content: Sequence[np.ndarray], items: Sequence[EvalItem], device: str = "auto"
) -> Correlations:
    """The no-reference ARNIQA scorer on the same distorted images (whole image, full + half scale)."""
    from arniqa_edge import Scorer

    scorer = Scorer(weights=weights, regressor=regressor, backend="auto", device=device)
    images = [
        np.ascontiguousarray(distort(content[item.content], item.distortion, item_rng(item, 0))[:, :, ::-1])
        for item in items
    ]
    raw = np.array([p.raw_score for p in scorer.predict_batch(images, channels="bgr")])
    return correlations(raw, np.array([item.distortion.mos for item in items]))


def markdown_table(rows: Sequence[Row], items: int) -> str:
    lines = [
        f"KADID proxy, {items} distorted images",
        "",
        "| model | reference | SRCC | PLCC |",
        "| --- | --- | ---: | ---: |",
    ]
    lines += [f"| {row.name} | {row.reference} | {row.result.srcc:.3f} | {row.result.plcc:.3f} |" for row in rows]
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.cvrkd.evaluate",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=HelpFormatter,
    )
    parser.add_argument("models", nargs="+", type=Path, metavar="MODEL", help="CVRKD .safetensors files")
    parser.add_argument("--content", type=Path, required=True, help="folder of held-out pristine images")
    parser.add_argument("--images", type=int, default=20, help="content images, the first by name")
    parser.add_argument(
        "--short-side",
        type=int,
        default=384,
        help="downscale images whose short side is longer (default: %(default)s, as KADID-10k)",
    )
    parser.add_argument("--types", help="comma-separated distortions (default: the 23 with a KADID label)")
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="KADID-10k.csv")
    parser.add_argument(
        "--nr-weights", type=Path, help="ARNIQA encoder, to add the no-reference baseline (default: no baseline)"
    )
    parser.add_argument("--nr-regressor", type=Path, help="its regressor (default: none; needed with --nr-weights)")
    parser.add_argument(
        "--nr-shipped", action="store_true", help="add the package's shipped no-reference model as the baseline"
    )
    parser.add_argument(
        "--cache", type=Path, help="eval cache of the same --content/--images: run the networks from it (fast)"
    )
    parser.add_argument("--batch-size", type=int, default=8, help="images per network call")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    add_output_argument(
        parser,
        "also write the table to this markdown file (default: stdout only)",
        aliases=("--out",),
        dest="out",
        type=Path,
    )
    add_verbosity_arguments(parser, default="warning")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args)
    if (args.nr_weights is None) != (args.nr_regressor is None):
        parser.error("pass both --nr-weights and --nr-regressor, or neither")
    if args.nr_shipped and args.nr_weights is not None:
        parser.error("--nr-shipped and --nr-weights name two baselines; pass one")

    content = load_content(args.content, args.short_side, args.images)
    distortions: list[GradedDistortion] = graded_distortions(args.labels, args.types.split(",") if args.types else None)
    items = evaluation_items(len(content), distortions)
    cache = _matching_cache(args.cache, args, len(items)) if args.cache is not None else None
    rows = []
    for path in args.models:
        net, metadata = load_cvrkd(path)
        name = f"{path.parent.name}/{path.name} ({metadata['role']})"
        results = (
            evaluate_cached(net, cache)
            if cache is not None
            else evaluate_network(net.to(args.device), content, items, args.batch_size, args.device)
        )
        rows.extend(Row(name, reference, result) for reference, result in results.items())
    if args.nr_weights is not None or args.nr_shipped:
        label = f"NR {args.nr_weights.name}" if args.nr_weights is not None else "NR shipped arniqa-lite0"
        rows.append(Row(label, "none", evaluate_nr(args.nr_weights, args.nr_regressor, content, items, args.device)))
    table = markdown_table(rows, len(items))
    sys.stdout.write(table)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table)
        args.out.with_suffix(".json").write_text(
            json.dumps(
                {
                    "items": len(items),
                    "content": str(args.content),
                    "images": len(content),
                    "rows": [{"model": r.name, "reference": r.reference, **vars(r.result)} for r in rows],
                },
                indent=2,
            )
            + "\n"
        )
    return 0


def _matching_cache(folder: Path, args, items: int):
    """The eval cache, checked to hold exactly the items this evaluation names."""
    cache = PoolCache(folder)
    spec = cache.spec
    if spec.layout != "eval" or spec.images * spec.distortions != items or spec.short_side != args.short_side:
        raise SystemExit(
            f"error: {folder} is not the eval cache of these {items} items (it holds "
            f"{spec.images} x {spec.distortions}, {spec.layout} layout, short side {spec.short_side})"
        )
    return cache


if __name__ == "__main__":
    raise SystemExit(main())
