"""`python -m training.evaluate`, kept for old command lines: the code lives in training.evaluation.evaluate."""

from .evaluation.evaluate import main

if __name__ == "__main__":
    raise SystemExit(main())
