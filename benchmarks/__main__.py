"""Run one benchmark suite, print its table and store the results."""

from __future__ import annotations

import argparse
import importlib
import sys

from .harness import describe_machine, render_markdown, write_results
from .suites import SUITES


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("suite", choices=sorted(SUITES))
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per implementation")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls first")
    parser.add_argument("--out", default="benchmarks/results", help="directory for the JSON and markdown files")
    args = parser.parse_args(argv)

    suite = importlib.import_module(SUITES[args.suite])
    result = suite.run(repeats=args.repeats, warmup=args.warmup)
    machine = describe_machine()
    command = " ".join(["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])])
    path = write_results(result, args.out, machine, command)
    print(render_markdown(result, machine))
    print(f"\nwrote {path} and {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
