"""`arniqa-edge score IMAGE ... --reference REF ... --reference-model MODEL` (or `python -m arniqa_edge ...`).

Scores every image against the references with a `ReferenceScorer`; the inputs
(folders, patterns, lists), output rows, --sort, summary, --threshold and exit
statuses are those of the no-reference CLI (`arniqa_edge.cli`).
MODEL is the CVRKD student's .safetensors (torch) or its exported graphs
(onnxruntime), by default the student shipped with the package; --backend and --device choose where it runs. The references are
read first: one that cannot be read stops the run (status 2), since every score
depends on all of them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator, Sequence

from ..errors import ArniqaEdgeError

log = logging.getLogger("arniqa_edge")

#: No-reference options that mean nothing to a reference scorer (refused unless left at their defaults).
NR_ONLY_OPTIONS = ("model", "weights", "regressor", "protocol", "batch_size")


def score_against_references(args: argparse.Namespace, inputs: Sequence) -> int:
    """Score the expanded `inputs` (`cli_inputs.expand_inputs`) against --reference; the exit status."""
    from ..cli import EXIT_CANNOT_START, write_rows
    from .scorer import ReferenceScorer

    try:
        _check_options(args)
        scorer = ReferenceScorer(args.reference_model, backend=args.backend, device=args.device)
        references = scorer.prepare_references(args.reference)
    except ArniqaEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    log.info("scoring with %r against %d references", scorer, len(references.names))
    return write_rows(_rows(scorer, references, inputs), args, inputs)


def _rows(scorer, references, inputs: Sequence) -> Iterator[dict]:
    """One row per input, each as soon as it is scored."""
    from ..cli import fail_row, new_row, problem_row, set_prediction
    from ..cli_inputs import InputProblem

    for item in inputs:
        if isinstance(item, InputProblem):
            yield problem_row(item)
            continue
        row = new_row(item)
        try:
            set_prediction(row, scorer.predict(item, references))
        except ArniqaEdgeError as exc:
            fail_row(row, exc)
        yield row


def _check_options(args: argparse.Namespace) -> None:
    if not args.reference:
        raise ArniqaEdgeError(
            "--reference-model is used with --reference REF ... (the high-quality images to score against)"
        )
    from ..cli import build_parser

    parser = build_parser()
    given = [
        f"--{name.replace('_', '-')}" for name in NR_ONLY_OPTIONS if getattr(args, name) != parser.get_default(name)
    ]
    if given:
        raise ArniqaEdgeError(
            f"{', '.join(given)} apply to no-reference scoring, not with --reference"
            + (" (the CVRKD model goes to --reference-model)" if args.weights else "")
        )
