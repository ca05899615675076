"""Site settings read on every request of a kind, kept in memory briefly: the switches (the default listing type
and sort of every front page; `private_instance`, asked by every anonymous read; `federation_enabled`; whether the
site has a content warning), the instance block and allow lists (every incoming activity) and the blocked URLs
(every new post, comment and message; queries/urlblocklist.py).

Admins change them rarely; the process that saves the change forgets its copy at once (`forget`), the
others within `TTL_SECONDS`. `generation()` changes with every `forget`, so that caches built on these settings
(the anonymous answers of http/cache.py) can drop what they kept under the old ones."""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.federation import FederationAllowlist, FederationBlocklist
from moot.db.instance import Instance
from moot.db.site import LocalSite, Site
from moot.domain.instances import InstanceLists

TTL_SECONDS = 5.0
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SiteSwitches:
    default_listing: str
    default_sort: str
    private_instance: bool
    federation_enabled: bool
    content_warning: bool  # the site has one: anonymous readers see NSFW content unless they say otherwise
    slur_filter_regex: str | None = None
    hide_modlog_mod_names: bool = True  # moderators' names in the modlog, for readers who are not mods or admins


# Before the site is set up (never in a running server): Lemmy's defaults.
UNSET = SiteSwitches("Local", "Active", private_instance=False, federation_enabled=True, content_warning=False)

_generation = 0


_urls: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def _key(session: AsyncSession) -> str:
    """The database's URL (one process may reach several: the tests'), written out once per engine (writing a
    URL out costs more than the rest of a remembered value's lookup)."""
    engine = session.get_bind().engine
    key = _urls.get(engine)
    if key is None:
        key = _urls[engine] = str(engine.url)
    return key


class Remembered(Generic[T]):
    """A value read from the database, kept in this process for `TTL_SECONDS` (per database), dropped by
    `forget`."""

    def __init__(self, read: Callable[[AsyncSession], Awaitable[T]]) -> None:
        self._read = read
        self._kept: dict[str, tuple[float, T]] = {}
        _remembered.append(self)

    async def get(self, session: AsyncSession) -> T:
        key = _key(session)
        now = time.monotonic()
        cached = self._kept.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        generation = _generation
        value = await self._read(session)
        if generation == _generation:  # else an admin's change committed while this read ran: keep nothing
            self._kept[key] = (now + TTL_SECONDS, value)
        return value

    def clear(self) -> None:
        self._kept.clear()


_remembered: list[Remembered[Any]] = []


async def site_switches(session: AsyncSession) -> SiteSwitches:
    """The settings many requests ask for, in one statement (then kept for `TTL_SECONDS`)."""
    return await _switches.get(session)


async def _read_switches(session: AsyncSession) -> SiteSwitches:
    row = (
        await session.execute(
            select(
                LocalSite.default_post_listing_type,
                LocalSite.default_sort_type,
                LocalSite.private_instance,
                LocalSite.federation_enabled,
                Site.content_warning,
                LocalSite.slur_filter_regex,
                LocalSite.hide_modlog_mod_names,
            ).join(Site, Site.id == LocalSite.site_id)
        )
    ).first()
    value = UNSET
    if row is not None:
        value = SiteSwitches(
            default_listing=row[0],
            default_sort=row[1],
            private_instance=bool(row[2]),
            federation_enabled=bool(row[3]),
            content_warning=bool(row[4]),
            slur_filter_regex=row[5],
            hide_modlog_mod_names=bool(row[6]),
        )
    return value


async def listing_defaults(session: AsyncSession) -> tuple[str, str]:
    """The site's default listing type and sort, for visitors who have not chosen their own."""
    switches = await site_switches(session)
    return switches.default_listing, switches.default_sort


async def instance_lists(session: AsyncSession) -> InstanceLists:
    """The admin's allow and block lists, as hosts, and whether this site federates at all (domain/instances.py
    holds the rule that uses them)."""
    return await _lists.get(session)


async def _read_lists(session: AsyncSession) -> InstanceLists:
    blocked = await session.scalars(
        select(Instance.domain).join(FederationBlocklist, FederationBlocklist.instance_id == Instance.id)
    )
    blocked_domains = list(blocked.all())
    allowed = await session.scalars(
        select(Instance.domain).join(FederationAllowlist, FederationAllowlist.instance_id == Instance.id)
    )
    federating = (await site_switches(session)).federation_enabled
    return InstanceLists.of(blocked=blocked_domains, allowed=list(allowed.all()), federation_enabled=federating)


_switches = Remembered(_read_switches)
_lists = Remembered(_read_lists)


def forget() -> None:
    global _generation
    for remembered in _remembered:
        remembered.clear()
    _generation += 1


def generation() -> int:
    """Changes whenever this process forgets the settings above (an admin saved new ones)."""
    return _generation
