"""Benchmark suites by name. Each module defines ``run(repeats, warmup) -> SuiteResult``."""

SUITES = {
    "inference": "benchmarks.suites.inference",
    "preprocess": "benchmarks.suites.preprocess",
    "video": "benchmarks.suites.video",
    "degradation": "benchmarks.suites.degradation",
    "memory": "benchmarks.suites.memory",
}
