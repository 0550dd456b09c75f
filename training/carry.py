"""`python -m training.carry`, kept for old command lines: the code lives in training.pretraining.carry."""

from .pretraining.carry import main

if __name__ == "__main__":
    raise SystemExit(main())
