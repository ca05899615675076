"""The one write path per change: check, mutate, keep counters."""
