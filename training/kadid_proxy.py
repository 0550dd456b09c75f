"""`python -m training.kadid_proxy`, kept for old command lines: the code lives in training.evaluation.kadid_proxy."""

from .evaluation.kadid_proxy import main

if __name__ == "__main__":
    raise SystemExit(main())
