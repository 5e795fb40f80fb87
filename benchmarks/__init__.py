"""Measurement scripts (never timed tests): `python -m benchmarks.NAME`; results in docs/benchmarks.md."""
