"""Query parameters of the pages (listing, sort, paging) read leniently: a bad value means the default."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from moot.domain.enums import CommentSortType, ListingType, SearchType, SortType

E = TypeVar("E", bound=StrEnum)

SORT_LABELS: dict[SortType, str] = {
    SortType.ACTIVE: "Active",
    SortType.HOT: "Hot",
    SortType.SCALED: "Scaled",
    SortType.CONTROVERSIAL: "Controversial",
    SortType.NEW: "New",
    SortType.OLD: "Old",
    SortType.MOST_COMMENTS: "Most comments",
    SortType.NEW_COMMENTS: "New comments",
    SortType.TOP_HOUR: "Top: past hour",
    SortType.TOP_SIX_HOUR: "Top: six hours",
    SortType.TOP_TWELVE_HOUR: "Top: twelve hours",
    SortType.TOP_DAY: "Top: day",
    SortType.TOP_WEEK: "Top: week",
    SortType.TOP_MONTH: "Top: month",
    SortType.TOP_THREE_MONTHS: "Top: three months",
    SortType.TOP_SIX_MONTHS: "Top: six months",
    SortType.TOP_NINE_MONTHS: "Top: nine months",
    SortType.TOP_YEAR: "Top: year",
    SortType.TOP_ALL: "Top: all time",
}

COMMENT_SORTS = list(CommentSortType)

# The listings a reader can pick on the front page (ModeratorView is a moderator's tool, not a feed).
FRONT_LISTINGS = [ListingType.ALL, ListingType.LOCAL, ListingType.SUBSCRIBED]
SEARCH_TYPES = list(SearchType)

PAGE_SIZE = 20


def choice(enum: type[E], raw: str | None, default: E) -> E:
    if raw is None:
        return default
    try:
        return enum(raw)
    except ValueError:
        return default


def page_number(raw: str | None) -> int:
    """1..100 as Lemmy allows; anything else is the first page."""
    try:
        page = int(raw or "1")
    except ValueError:
        return 1
    return page if 1 <= page <= 100 else 1
