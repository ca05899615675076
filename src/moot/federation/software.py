"""What software each remote instance runs, read from its NodeInfo as Lemmy reads it (once a day).

It is shown in `GET /federated_instances`, and delivery uses it: a post in a local community goes out twice, as
Announce{Create{Page}} and as Announce{Page} for microblog software that cannot read the first (Mastodon,
Pleroma). Software that reads group announces (`READS_GROUP_ANNOUNCES`) gets only the first: Moot's own inbox
ignores the Announce{Page}, and Lemmy's applies the same post a second time. That halves the requests of a post's
fan-out to such instances. An instance whose software is not known yet gets both, as before.

    DeliveryManager._reconcile (every few seconds)
      `- SoftwareSurvey.plan(instances): those never checked, or checked over a day ago, are due
           `- one background pass: the base URL of each (the scheme its people's ids use), then, 8 at a time,
              GET /.well-known/nodeinfo -> the 2.x document on the same host -> software.name and .version,
              every request through the fetch guard (R4); what was learned is written in one transaction,
              a failure is tried again after an hour"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, select, update

from moot.db.community import Community
from moot.db.engine import Database
from moot.db.instance import Instance
from moot.db.person import Person
from moot.federation.fetch import FetchError, FetchPolicy, fetch_json

log = logging.getLogger(__name__)

# NodeInfo `software.name` of software that reads Announce{Create{Page}} and needs no Announce{Page} beside it.
READS_GROUP_ANNOUNCES = frozenset({"lemmy", "piefed", "mbin", "kbin", "moot"})
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2."
NAME = re.compile(r"[a-z0-9-]{1,64}")  # the NodeInfo schemas' pattern for software.name, bounded
MAX_VERSION = 255  # the column's size
RECHECK_SECONDS = 24 * 3600.0
RETRY_SECONDS = 3600.0
CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class Software:
    name: str
    version: str | None


def reads_group_announces(software: str | None) -> bool:
    return software in READS_GROUP_ANNOUNCES


def nodeinfo_href(data: dict[str, object], base: str) -> str:
    """The href of the newest 2.x schema the server lists; it must be on the server's own host."""
    links = data.get("links")
    found: list[tuple[str, str]] = []
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict):
            continue
        rel, href = link.get("rel"), link.get("href")
        if isinstance(rel, str) and isinstance(href, str) and rel.startswith(NODEINFO_SCHEMA):
            found.append((rel, href))
    if not found:
        raise FetchError("no nodeinfo", f"{base} lists no NodeInfo 2.x document")
    href = max(found)[1]
    if urlsplit(href).netloc.lower() != urlsplit(base).netloc.lower():
        raise FetchError("no nodeinfo", f"{base}'s NodeInfo is on another host: {href[:200]}")
    return href


def software_in(data: dict[str, object]) -> Software:
    software = data.get("software")
    name = software.get("name") if isinstance(software, dict) else None
    if not isinstance(name, str) or not NAME.fullmatch(name.lower()):
        raise FetchError("no nodeinfo", f"software.name {str(name)[:80]!r} is not a NodeInfo name")
    version = software.get("version") if isinstance(software, dict) else None
    if isinstance(version, str) and version.isprintable() and version.strip():
        return Software(name.lower(), version.strip()[:MAX_VERSION])
    return Software(name.lower(), None)


async def fetch_software(base: str, policy: FetchPolicy) -> Software:
    """The software at `base` (scheme and host) by its NodeInfo. Raises FetchError."""
    index = await fetch_json(f"{base}/.well-known/nodeinfo", policy, accept_activitypub=False)
    document = await fetch_json(nodeinfo_href(index.data, base), policy, accept_activitypub=False)
    return software_in(document.data)


# fetch(base URL) -> the software there; raises FetchError
Lookup = Callable[[str], Awaitable[Software]]


class SoftwareSurvey:
    """Keeps the software of the delivery manager's instances known: each is checked when first seen (at once if
    the database has none for it, else within a day) and daily after, one background pass at a time."""

    def __init__(self, db: Database, lookup: Lookup) -> None:
        self.db = db
        self.lookup = lookup
        self._due: dict[int, float] = {}  # instance id -> when (monotonic) to check it next
        self._task: asyncio.Task[None] | None = None

    def plan(self, instances: Iterable[Instance]) -> None:
        """Called with the deliverable instances; starts a pass over those due unless one is running."""
        now = time.monotonic()
        due: list[Instance] = []
        for instance in instances:
            if instance.id not in self._due:
                self._due[instance.id] = now if instance.software is None else now + RECHECK_SECONDS
            if self._due[instance.id] <= now:
                due.append(instance)
        if due and (self._task is None or self._task.done()):
            for instance in due:
                self._due[instance.id] = now + RETRY_SECONDS  # a pass that fails as a whole retries in an hour
            self._task = asyncio.create_task(self._survey(due), name="instance-software")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _survey(self, instances: list[Instance]) -> None:
        try:
            bases = await self._bases(instances)
            limit = asyncio.Semaphore(CONCURRENCY)

            async def one(instance: Instance) -> tuple[int, Software | None]:
                async with limit:
                    try:
                        return instance.id, await self.lookup(bases[instance.id])
                    except FetchError as exc:
                        log.debug("no software known for %s: %s", instance.domain, exc)
                        return instance.id, None

            learned = [(i, s) for i, s in await asyncio.gather(*(one(i) for i in instances)) if s is not None]
            if learned:
                async with self.db.write() as session:
                    rows = [{"id": i, "software": s.name, "version": s.version} for i, s in learned]
                    await session.execute(update(Instance), rows)  # one executemany by primary key
            later = time.monotonic() + RECHECK_SECONDS
            for instance_id, _ in learned:
                self._due[instance_id] = later
        except Exception:
            log.exception("the instance software survey failed; tried again in an hour")

    async def _bases(self, instances: list[Instance]) -> dict[int, str]:
        """`scheme://domain` of each instance: the scheme of its people's or communities' ids (https if none)."""
        ids = [i.id for i in instances]
        schemes: dict[int, str] = {}
        async with self.db.read() as session:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for table in (Community, Person):
                    stmt = select(table.instance_id, func.min(table.ap_id)).where(table.instance_id.in_(chunk))
                    for instance_id, ap_id in (await session.execute(stmt.group_by(table.instance_id))).all():
                        schemes[instance_id] = "http" if str(ap_id).startswith("http://") else "https"
        return {i.id: f"{schemes.get(i.id, 'https')}://{i.domain}" for i in instances}
