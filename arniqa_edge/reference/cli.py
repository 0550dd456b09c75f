"""`python -m arniqa_edge IMAGE ... --reference REF ... --weights CVRKD.safetensors`.

Scores every image against the references with a `ReferenceScorer`; the output
rows and exit statuses are those of the no-reference CLI (`arniqa_edge.cli`).
The references are read first: one that cannot be read stops the run (status 2),
since every score depends on all of them.
"""

from __future__ import annotations

import argparse
import logging
import sys

from ..errors import ArniqaEdgeError, WeightsError

log = logging.getLogger("arniqa_edge")

#: No-reference options that mean nothing to a reference scorer (refused unless left at their defaults).
NR_ONLY_OPTIONS = ("model", "regressor", "backend", "protocol")


def score_against_references(args: argparse.Namespace) -> int:
    from ..cli import fail_row, new_row, print_rows, set_prediction
    from .scorer import ReferenceScorer

    try:
        _check_options(args)
        scorer = ReferenceScorer(args.weights, device=args.device)
        references = scorer.prepare_references(args.reference)
    except ArniqaEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log.info("scoring with %r against %d references", scorer, len(references.names))

    rows = []
    for path in args.images:
        row = new_row(path)
        try:
            set_prediction(row, scorer.predict(path, references))
        except ArniqaEdgeError as exc:
            fail_row(row, exc)
        rows.append(row)
    print_rows(rows, "json" if args.json else "csv" if args.csv else "text")
    return 1 if any(row["error"] for row in rows) else 0


def _check_options(args: argparse.Namespace) -> None:
    if args.weights is None:
        raise WeightsError("--reference needs --weights CVRKD.safetensors (a student trained with "
                           "python -m training.cvrkd.train); no reference model ships with arniqa-edge")
    from ..cli import build_parser

    parser = build_parser()
    given = [f"--{name}" for name in NR_ONLY_OPTIONS if getattr(args, name) != parser.get_default(name)]
    if given:
        raise ArniqaEdgeError(f"{', '.join(given)} apply to no-reference scoring, not with --reference")
