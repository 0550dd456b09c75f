"""Latency benchmarks: ``python -m benchmarks <suite> [--repeats N] [-o DIR]``."""
