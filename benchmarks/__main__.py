"""Run one benchmark suite, print its table and store the results."""

from __future__ import annotations

import argparse
import importlib
import sys

from arniqa_edge.cli_conventions import HelpFormatter, add_output_argument, add_verbosity_arguments, configure_logging

from .harness import describe_machine, render_markdown, write_results
from .suites import SUITES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("suite", choices=sorted(SUITES), help="the suite to run")
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per implementation")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls first")
    add_output_argument(
        parser, "directory for the JSON and markdown files", aliases=("--out",), default="benchmarks/results"
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
    result = suite.run(repeats=args.repeats, warmup=args.warmup)
    machine = describe_machine()
    command = " ".join(["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])])
    path = write_results(result, args.output, machine, command)
    print(render_markdown(result, machine))
    print(f"\nwrote {path} and {path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
