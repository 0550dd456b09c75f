"""Latency benchmarks: ``python -m benchmarks <suite> [--repeats N] [--out DIR]``."""
