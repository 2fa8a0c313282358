"""Benchmarks: run as `.venv/bin/python -m bench.NAME`; each prints its figures."""
