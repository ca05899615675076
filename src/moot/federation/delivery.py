"""Delivery: one task per remote instance walks the outgoing log with a saved cursor (Lemmy's design).

    actions --(same transaction)--> sent_activity: id 1, 2, 3, ...      (one row per activity)
                                        |
    DeliveryManager (every few s)       | for each live, allowed, known instance in this shard:
      `- InstanceWorker(instance) ------+ read ids > last_successful_id, in order
            for each activity: inboxes on that instance = explicit inboxes on its host
                                              + inboxes of its followers of the community (if any)
            POST signed to each inbox:  2xx -------------> done
                                        4xx (not 408/429) --> done (a refusal is final)
                                        5xx/408/429/error --> wait (growing, capped), retry the same one
            save last_successful_id after each activity --> federation_queue_state

Sending is strictly ordered per instance (one in flight), so a Delete never overtakes its Create. A crash
re-sends at most the activity that was in flight; receivers deduplicate by activity id. An instance that has
not answered for three days is dead: it gets no task until it is heard from again, then resumes from its
cursor."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.community import CommunityFollower
from moot.db.engine import Database
from moot.db.federation import FederationAllowlist, FederationBlocklist, FederationQueueState, SentActivity
from moot.db.instance import Instance
from moot.db.person import Person
from moot.db.site import Site
from moot.domain.timefmt import utcnow

log = logging.getLogger(__name__)

DEAD_AFTER = timedelta(days=3)
BATCH = 100


@dataclass(frozen=True, slots=True)
class DeliveryTiming:
    """How eagerly to work. Tests use `fast()`; production uses the defaults."""

    recheck_seconds: float = 5.0
    idle_seconds: float = 1.0
    backoff_base: float = 1.25
    backoff_unit_seconds: float = 1.0
    backoff_cap_seconds: float = 3600.0

    @staticmethod
    def fast() -> DeliveryTiming:
        return DeliveryTiming(recheck_seconds=0.2, idle_seconds=0.1, backoff_unit_seconds=0.1, backoff_cap_seconds=2.0)

    def backoff(self, failures: int) -> float:
        if failures <= 1:
            return 0.0 if failures <= 0 else self.backoff_unit_seconds
        return float(min(self.backoff_cap_seconds, self.backoff_unit_seconds * self.backoff_base ** (failures - 1)))


# send(inbox_url, body, signer_ap_id) -> HTTP status (0 for a network error or timeout)
Sender = Callable[[str, bytes, str], Awaitable[int]]


def is_retryable(status: int) -> bool:
    return status == 0 or status >= 500 or status in (408, 429)


async def inboxes_for(session: AsyncSession, row: SentActivity, instance: Instance) -> list[str]:
    """The inboxes on `instance` that should receive this activity (shared inboxes preferred)."""
    found: list[str] = []
    for inbox in json.loads(row.send_inboxes):
        if urlsplit(inbox).netloc.lower() == instance.domain:
            found.append(inbox)
    if row.send_community_followers_of is not None:
        rows = await session.execute(
            select(func.coalesce(Person.shared_inbox_url, Person.inbox_url))
            .join(CommunityFollower, CommunityFollower.person_id == Person.id)
            .where(
                CommunityFollower.community_id == row.send_community_followers_of,
                CommunityFollower.pending.is_(False),
                Person.instance_id == instance.id,
                Person.local.is_(False),
            )
            .distinct()
        )
        found.extend(inbox for (inbox,) in rows.all() if inbox)
    return list(dict.fromkeys(found))


class InstanceWorker:
    def __init__(self, db: Database, instance: Instance, send: Sender, timing: DeliveryTiming) -> None:
        self.db = db
        self.instance = instance
        self.send = send
        self.timing = timing

    async def _state(self) -> FederationQueueState:
        async with self.db.write() as session:
            state = await session.get(FederationQueueState, self.instance.id)
            if state is None:
                # First sight of an instance: skip the history from before we knew it (it has no use for it),
                # but not what was recorded since, such as the Follow that made us learn of it.
                newest = await session.scalar(
                    select(func.max(SentActivity.id)).where(SentActivity.published < self.instance.published)
                )
                state = FederationQueueState(instance_id=self.instance.id, last_successful_id=newest or 0, fail_count=0)
                session.add(state)
            return state

    async def run(self) -> None:
        state = await self._state()
        if state.fail_count and state.last_retry is not None:
            # After a restart, finish the backoff that was under way.
            remaining = self.timing.backoff(state.fail_count) - (utcnow() - state.last_retry).total_seconds()
            if remaining > 0:
                await asyncio.sleep(remaining)
        while True:
            async with self.db.read() as session:
                rows = list(
                    (
                        await session.scalars(
                            select(SentActivity)
                            .where(SentActivity.id > (state.last_successful_id or 0))
                            .order_by(SentActivity.id)
                            .limit(BATCH)
                        )
                    ).all()
                )
            if not rows:
                await asyncio.sleep(self.timing.idle_seconds)
                continue
            for row in rows:
                await self._deliver(row, state)

    async def _deliver(self, row: SentActivity, state: FederationQueueState) -> None:
        async with self.db.read() as session:
            inboxes = await inboxes_for(session, row, self.instance)
        body = row.data.encode("utf-8")
        for inbox in inboxes:
            while True:
                status = await self.send(inbox, body, row.actor_ap_id)
                if not is_retryable(status):
                    break
                state.fail_count += 1
                state.last_retry = utcnow()
                await self._save(state)
                wait = self.timing.backoff(state.fail_count)
                log.info("delivery to %s failed (%s); retry %d in %.1fs", inbox, status, state.fail_count, wait)
                await asyncio.sleep(wait)
        state.last_successful_id = row.id
        state.last_successful_published_time = row.published
        if state.fail_count:
            state.fail_count = max(0, state.fail_count - 1)
        await self._save(state, alive=bool(inboxes))

    async def _save(self, state: FederationQueueState, alive: bool = False) -> None:
        async with self.db.write() as session:
            stored = await session.get(FederationQueueState, self.instance.id)
            assert stored is not None
            stored.last_successful_id = state.last_successful_id
            stored.last_successful_published_time = state.last_successful_published_time
            stored.fail_count = state.fail_count
            stored.last_retry = state.last_retry
            if alive:
                instance = await session.get(Instance, self.instance.id)
                if instance is not None:
                    instance.updated = utcnow()


async def deliverable_instances(session: AsyncSession, shard: int, shards: int, now: datetime) -> list[Instance]:
    """Remote instances that are alive, allowed and not blocked, in this shard."""
    local = select(Site.instance_id)
    stmt = select(Instance).where(
        Instance.id.not_in(local),
        func.coalesce(Instance.updated, Instance.published) > now - DEAD_AFTER,
        Instance.id.not_in(select(FederationBlocklist.instance_id)),
    )
    allowed = list((await session.scalars(select(FederationAllowlist.instance_id))).all())
    if allowed:
        stmt = stmt.where(Instance.id.in_(allowed))
    instances = list((await session.scalars(stmt.order_by(Instance.id))).all())
    return [i for i in instances if i.id % shards == shard]


class DeliveryManager:
    """Starts and stops one InstanceWorker per deliverable instance of this shard."""

    def __init__(self, db: Database, send: Sender, timing: DeliveryTiming, shard: int = 0, shards: int = 1) -> None:
        self.db = db
        self.send = send
        self.timing = timing
        self.shard = shard
        self.shards = shards
        self.workers: dict[int, asyncio.Task[None]] = {}

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self._reconcile()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("delivery manager failed to list instances; retrying")
                await asyncio.sleep(self.timing.recheck_seconds)
        finally:
            for task in self.workers.values():
                task.cancel()
            await asyncio.gather(*self.workers.values(), return_exceptions=True)

    async def _reconcile(self) -> None:
        async with self.db.read() as session:
            wanted = {i.id: i for i in await deliverable_instances(session, self.shard, self.shards, utcnow())}
        for instance_id, task in list(self.workers.items()):
            if instance_id not in wanted or task.done():
                task.cancel()
                del self.workers[instance_id]
        for instance_id, instance in wanted.items():
            if instance_id not in self.workers:
                worker = InstanceWorker(self.db, instance, self.send, self.timing)
                self.workers[instance_id] = asyncio.create_task(worker.run(), name=f"deliver-{instance.domain}")
