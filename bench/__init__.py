"""Benchmarks: run from the checkout as ``python -m bench.<name>`` (see bench/README.md)."""
