"""Benchmarks for hokoku (not timed tests): ``python -m bench [--quick]``; see ``bench/RESULTS.md``."""
