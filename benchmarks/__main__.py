"""Run one benchmark suite, print its table and store the results."""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import tempfile

from arniqa_edge.cli_conventions import HelpFormatter, add_output_argument, add_verbosity_arguments, configure_logging

from .harness import describe_machine, render_markdown, write_results
from .suites import SUITES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("suite", choices=sorted(SUITES), help="the suite to run")
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per implementation")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls first")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run that checks the code, not the speed: at most 2 repeats and 1 warmup, and tiny budgets "
        "where the suite has them; results go to a temporary directory unless -o is given",
    )
    add_output_argument(
        parser, "directory for the JSON and markdown files (default: benchmarks/results)", aliases=("--out",)
    )
    add_verbosity_arguments(parser, default="warning")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args)
    try:
        suite = importlib.import_module(SUITES[args.suite])
    except ImportError as exc:  # a suite's dependencies come with an extra (torch, tensorrt, ...)
        print(f"error: the {args.suite} suite cannot run here: {exc}", file=sys.stderr)
        return 2
    options = {"repeats": args.repeats, "warmup": args.warmup}
    output = args.output or "benchmarks/results"
    if args.quick:
        options = {"repeats": min(args.repeats, 2), "warmup": min(args.warmup, 1)}
        if "quick" in inspect.signature(suite.run).parameters:
            options["quick"] = True
        output = args.output or tempfile.mkdtemp(prefix=f"benchmarks-{args.suite}-quick-")
    result = suite.run(**options)
    machine = describe_machine()
    command = " ".join(["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])])
    path = write_results(result, output, machine, command)
    print(render_markdown(result, machine))
    print(f"\nwrote {path} and {path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
