"""The site's default listing type and sort, read on every front-page request, kept in memory briefly.

Admins change them rarely; the process that saves the change forgets its copy at once (`forget`), the
others within `TTL_SECONDS`."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.site import LocalSite

TTL_SECONDS = 5.0
_cache: dict[str, tuple[float, tuple[str, str]]] = {}


async def listing_defaults(session: AsyncSession) -> tuple[str, str]:
    """The site's default listing type and sort, for visitors who have not chosen their own."""
    key = str(session.get_bind().engine.url)
    now = time.monotonic()
    cached = _cache.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    row = (await session.execute(select(LocalSite.default_post_listing_type, LocalSite.default_sort_type))).first()
    value = (row[0], row[1]) if row is not None else ("Local", "Active")
    _cache[key] = (now + TTL_SECONDS, value)
    return value


def forget() -> None:
    _cache.clear()
