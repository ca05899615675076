"""Lemmy's per-address token buckets (message, post, register, image, comment, search), kept in memory.

Each process keeps its own buckets; with several app processes an address gets its allowance per process.
A shared store (Redis) is the known next step for large instances."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from moot.db.site import LocalSiteRateLimit

MAX_TRACKED = 100_000


class Bucket(StrEnum):
    MESSAGE = "message"
    POST = "post"
    REGISTER = "register"
    IMAGE = "image"
    COMMENT = "comment"
    SEARCH = "search"
    IMPORT_USER_SETTINGS = "import_user_settings"


@dataclass(slots=True)
class _Tokens:
    tokens: float
    updated: float


@dataclass(frozen=True, slots=True)
class Rule:
    capacity: int
    per_seconds: int


class RateLimiter:
    def __init__(self) -> None:
        self._rules: dict[Bucket, Rule] = {}
        self._state: dict[tuple[Bucket, str], _Tokens] = {}

    def configure(self, limits: LocalSiteRateLimit) -> None:
        """New limits start every address with a full bucket of the new size."""
        self._state.clear()
        self._rules = {
            bucket: Rule(
                capacity=getattr(limits, bucket.value), per_seconds=getattr(limits, f"{bucket.value}_per_second")
            )
            for bucket in Bucket
        }

    def allow(self, bucket: Bucket, address: str, now: float | None = None) -> bool:
        rule = self._rules.get(bucket)
        if rule is None:
            return True
        now = time.monotonic() if now is None else now
        key = (bucket, address)
        state = self._state.get(key)
        if state is None:
            if len(self._state) >= MAX_TRACKED:
                self._state.clear()
            state = self._state[key] = _Tokens(tokens=float(rule.capacity), updated=now)
        refill = (now - state.updated) * rule.capacity / max(rule.per_seconds, 1)
        state.tokens = min(float(rule.capacity), state.tokens + refill)
        state.updated = now
        if state.tokens < 1.0:
            return False
        state.tokens -= 1.0
        return True
