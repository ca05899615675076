"""Moot: a federated link aggregator that speaks Lemmy's API and ActivityPub."""

__version__ = "0.1.0"
