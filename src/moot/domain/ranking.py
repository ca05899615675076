"""Lemmy's ranking formulas, exactly as `utils.sql` of Lemmy 0.19 computes them (log is log10)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from moot.domain.enums import SortType

# New rows start here rather than 0 so that a job which skips zero rows still picks them up.
DEFAULT_RANK = 0.0001
RANK_WINDOW = timedelta(days=7)
NECRO_WINDOW = timedelta(days=2)


def hot_rank(score: int, published: datetime, now: datetime) -> float:
    """log10(max(2, score + 2)) / (hours + 2) ^ 1.8 within a week of `published`, else 0."""
    age = now - published
    if not (timedelta(0) < age < RANK_WINDOW):
        return 0.0
    hours = age.total_seconds() / 3600.0
    return math.log10(max(2, score + 2)) / math.pow(hours + 2, 1.8)


def scaled_rank(score: int, published: datetime, users_active_month: int, now: datetime) -> float:
    """Hot rank divided by log10(2 + the community's monthly active users): small communities surface."""
    return hot_rank(score, published, now) / math.log10(2 + users_active_month)


def controversy_rank(upvotes: int, downvotes: int) -> float:
    """(u + d) ^ (min(u, d) / max(u, d)); zero unless both kinds of vote exist."""
    if upvotes <= 0 or downvotes <= 0:
        return 0.0
    return math.pow(upvotes + downvotes, min(upvotes, downvotes) / max(upvotes, downvotes))


TOP_WINDOWS: dict[SortType, timedelta] = {
    SortType.TOP_HOUR: timedelta(hours=1),
    SortType.TOP_SIX_HOUR: timedelta(hours=6),
    SortType.TOP_TWELVE_HOUR: timedelta(hours=12),
    SortType.TOP_DAY: timedelta(days=1),
    SortType.TOP_WEEK: timedelta(weeks=1),
    SortType.TOP_MONTH: timedelta(days=30),
    SortType.TOP_THREE_MONTHS: timedelta(days=91),
    SortType.TOP_SIX_MONTHS: timedelta(days=182),
    SortType.TOP_NINE_MONTHS: timedelta(days=273),
    SortType.TOP_YEAR: timedelta(days=365),
}
