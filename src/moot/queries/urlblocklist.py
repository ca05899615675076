"""The site's blocked URLs (EditSite `blocked_urls`), as GetSite lists them and as writes check against them."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.moderation import LocalSiteUrlBlocklist
from moot.domain.urlblocklist import blocklist_pattern
from moot.queries.defaults import Remembered


async def blocked_urls(session: AsyncSession) -> list[LocalSiteUrlBlocklist]:
    return list((await session.scalars(select(LocalSiteUrlBlocklist).order_by(LocalSiteUrlBlocklist.id))).all())


async def url_blocklist(session: AsyncSession) -> re.Pattern[str] | None:
    """The pattern a post or comment is checked against (None when nothing is blocked). Every new post, comment
    and message asks, so it is kept as the site's switches are (queries/defaults.py): the process that saves a
    new list forgets it on commit, the others within `TTL_SECONDS`."""
    return await _pattern.get(session)


async def _read_pattern(session: AsyncSession) -> re.Pattern[str] | None:
    urls = (await session.scalars(select(LocalSiteUrlBlocklist.url))).all()
    return blocklist_pattern(urls)


_pattern = Remembered(_read_pattern)
