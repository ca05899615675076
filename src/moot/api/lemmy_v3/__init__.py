"""The Lemmy HTTP API v3, as Lemmy 0.19 serves it."""
