"""Tests of the HTML interface (a package, so its conftest does not shadow the suite's)."""
