"""Benchmarks: `moot bench seed` builds a large instance, `moot bench run` measures Moot against direct SQL."""
