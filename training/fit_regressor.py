"""`python -m training.fit_regressor`, kept for old command lines: the code lives in training.evaluation.fit_regressor."""

from .evaluation.fit_regressor import main

if __name__ == "__main__":
    raise SystemExit(main())
