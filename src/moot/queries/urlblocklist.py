"""The site's blocked URLs (EditSite `blocked_urls`), as GetSite lists them and as writes check against them."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.moderation import LocalSiteUrlBlocklist
from moot.domain.urlblocklist import blocklist_pattern


async def blocked_urls(session: AsyncSession) -> list[LocalSiteUrlBlocklist]:
    return list((await session.scalars(select(LocalSiteUrlBlocklist).order_by(LocalSiteUrlBlocklist.id))).all())


async def url_blocklist(session: AsyncSession) -> re.Pattern[str] | None:
    """The pattern a post or comment is checked against (None when nothing is blocked): read in the writer's own
    transaction, so a list saved a moment ago applies at once."""
    urls = (await session.scalars(select(LocalSiteUrlBlocklist.url))).all()
    return blocklist_pattern(urls)
