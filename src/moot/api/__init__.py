"""Adapters that speak HTTP."""
