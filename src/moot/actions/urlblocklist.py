"""Blocked URLs: the admin's list (PUT /site `blocked_urls`) and the one check every post and comment passes."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.moderation import LocalSiteUrlBlocklist
from moot.domain.timefmt import utcnow
from moot.domain.urlblocklist import blocklist_entries, check_not_blocked
from moot.queries.urlblocklist import url_blocklist


async def check_blocked_urls(session: AsyncSession, *texts: str | None) -> None:
    """`blocked_url` when a post's URL, its body or a comment's content names a blocked URL (Lemmy's
    `is_url_blocked` and `markdown_check_for_blocked_urls`). Called by actions/posts.py and actions/comments.py
    when content is created or edited, locally, from the pages and by federation alike."""
    if not any(texts):
        return
    check_not_blocked(await url_blocklist(session), *texts)


async def replace_blocked_urls(session: AsyncSession, urls: list[str]) -> None:
    """The site's whole list, replaced (as Lemmy's `LocalSiteUrlBlocklist::replace`); every entry is checked
    first (`invalid_url`), so a refused list leaves the old one in place."""
    entries = blocklist_entries(urls)
    await session.execute(delete(LocalSiteUrlBlocklist))
    now = utcnow()
    session.add_all(LocalSiteUrlBlocklist(url=entry, published=now) for entry in entries)
    await session.flush()
