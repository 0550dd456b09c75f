"""`python -m training.pretrain`, kept for old command lines: the code lives in training.pretraining.pretrain."""

from .pretraining.pretrain import main

if __name__ == "__main__":
    raise SystemExit(main())
