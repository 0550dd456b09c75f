"""`python -m training.init_weights`, kept for old command lines: the code lives in training.pretraining.init_weights."""

from .pretraining.init_weights import main

if __name__ == "__main__":
    raise SystemExit(main())
