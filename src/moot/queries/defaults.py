"""Site settings read on every request of a kind, kept in memory briefly: the default listing type and sort
(every front page), the instance block and allow lists (every incoming activity).

Admins change them rarely; the process that saves the change forgets its copy at once (`forget`), the
others within `TTL_SECONDS`."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.federation import FederationAllowlist, FederationBlocklist
from moot.db.instance import Instance
from moot.db.site import LocalSite
from moot.domain.instances import InstanceLists

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


async def instance_lists(session: AsyncSession) -> InstanceLists:
    """The admin's allow and block lists, as hosts (domain/instances.py holds the rule that uses them)."""
    key = str(session.get_bind().engine.url)
    now = time.monotonic()
    cached = _lists.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    blocked = await session.scalars(
        select(Instance.domain).join(FederationBlocklist, FederationBlocklist.instance_id == Instance.id)
    )
    blocked_domains = list(blocked.all())
    allowed = await session.scalars(
        select(Instance.domain).join(FederationAllowlist, FederationAllowlist.instance_id == Instance.id)
    )
    value = InstanceLists.of(blocked=blocked_domains, allowed=list(allowed.all()))
    _lists[key] = (now + TTL_SECONDS, value)
    return value


_lists: dict[str, tuple[float, InstanceLists]] = {}


def forget() -> None:
    _cache.clear()
    _lists.clear()
