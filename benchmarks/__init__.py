"""Speed measurements of the engine, each runnable as ``python -m benchmarks.<name>``."""
