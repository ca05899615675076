"""The site's slur filter and blocked URLs applied to what people name and describe themselves and their communities
(Lemmy 0.19's `check_slurs` and `process_markdown_opt`), in one place.

Lemmy's two rules: a *name* (a username at sign-up, a community's name and title, the site's name and description)
containing a slur is refused outright (`slurs`); a *markdown text* (a bio, a community's description, the site's
sidebar) keeps its words with each slur replaced by `*removed*`, and is refused when it links to a blocked URL
(`blocked_url`). Posts, comments and private messages apply the same two helpers (validation.check_slurs /
remove_slurs, urlblocklist.check_blocked_urls) in their own actions."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions.urlblocklist import check_blocked_urls
from moot.domain import validation


def check_names(slurs: re.Pattern[str] | None, *names: str | None) -> None:
    """`slurs` when any of the names contains one (`slurs`: the site's filter, validation.slur_pattern)."""
    for name in names:
        validation.check_slurs(name, slurs)


async def filter_markdown(session: AsyncSession, slurs: re.Pattern[str] | None, text: str | None) -> str | None:
    """Lemmy's process_markdown_opt: the text with its slurs replaced, refused (`blocked_url`) when it links to a
    blocked URL."""
    if text is None:
        return None
    cleaned = validation.remove_slurs(text, slurs) or ""
    await check_blocked_urls(session, cleaned)
    return cleaned
