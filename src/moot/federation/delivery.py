"""Delivery: one task per remote instance walks the outgoing log with a saved cursor (Lemmy's design).

    actions --(same transaction)--> sent_activity: id 1, 2, 3, ...      (one row per activity)
                                        |
    ActivityFeed (one per process)      | polls the log once per tick for everyone: new rows, kept in memory;
                                        | ids whose transaction has not committed yet hold the feed back
      `- InstanceWorker(instance) ------+ reads ids > last_successful_id from the feed, in order
            for each activity: inboxes on that instance = explicit inboxes on its host
                                              + inboxes of its followers of the community (one query per
                                                community, grouped by instance, shared by all the workers,
                                                read again after a minute or when a follow is accepted)
            (an Announce{Page} is passed over when the instance's software reads the Announce{Create{Page}})
            POST signed to each inbox, over the worker's own connection to its instance (kept open while
            there is more to send, closed after its keep-alive time idle):
                                        2xx -------------> done
                                        4xx (not 408/429) --> done (a refusal is final)
                                        5xx/408/429/error --> wait (growing, capped), retry the same one
            the cursor is noted in the process's CursorBook; the manager writes every changed cursor in one
            transaction once a second (and when it stops)

Sending is strictly ordered per instance (one in flight), so a Delete never overtakes its Create. A crash
re-sends at most the last second's activities; receivers deduplicate by activity id. An instance that has
not answered for three days is dead: it gets no task until it is heard from again, then resumes from its
cursor. With a thousand known instances, an idle server makes one query per tick, not a thousand."""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.community import Community, CommunityFollower
from moot.db.engine import Database
from moot.db.federation import FederationQueueState, SentActivity
from moot.db.instance import Instance
from moot.db.person import Person
from moot.db.site import Site
from moot.domain.timefmt import utcnow
from moot.federation.fetch import KeptConnections
from moot.federation.protocol import is_page_announce
from moot.federation.software import Lookup, SoftwareSurvey, reads_group_announces
from moot.queries.defaults import instance_lists

log = logging.getLogger(__name__)

DEAD_AFTER = timedelta(days=3)
BATCH = 100
FEED_WINDOW = 2000  # activities kept in memory for the workers; one behind that reads the database
FOLLOWER_CACHE = 1024  # communities whose followers' inboxes are kept


@dataclass(frozen=True, slots=True)
class DeliveryTiming:
    """How eagerly to work. Tests use `fast()`; production uses the defaults."""

    recheck_seconds: float = 5.0
    idle_seconds: float = 1.0
    backoff_base: float = 1.25
    backoff_unit_seconds: float = 1.0
    backoff_cap_seconds: float = 3600.0
    save_seconds: float = 1.0
    # How long an id that is missing between committed ones is waited for (its transaction may still commit;
    # sequences also leave holes for good when a transaction rolls back).
    gap_seconds: float = 5.0
    # How long a community's follower inboxes are used before they are read again. A new remote follower is
    # never missed (its Accept in the log drops them all, see ActivityFeed); this bounds how long one who
    # left, or moved their inbox, is still sent to (Lemmy: an hour for removals, a minute for additions).
    followers_seconds: float = 60.0

    @staticmethod
    def fast() -> DeliveryTiming:
        return DeliveryTiming(
            recheck_seconds=0.2,
            idle_seconds=0.1,
            backoff_unit_seconds=0.1,
            backoff_cap_seconds=2.0,
            save_seconds=0.5,
            gap_seconds=2.0,
        )

    def backoff(self, failures: int) -> float:
        if failures <= 1:
            return 0.0 if failures <= 0 else self.backoff_unit_seconds
        return float(min(self.backoff_cap_seconds, self.backoff_unit_seconds * self.backoff_base ** (failures - 1)))


class Sender(Protocol):
    """send(inbox_url, body, signer_ap_id, kept) -> HTTP status (0 for a network error or timeout); `kept` is
    the calling worker's own `connections()`, its connection to its instance kept open between activities."""

    def connections(self) -> KeptConnections: ...

    async def __call__(
        self, inbox: str, body: bytes, signer_ap_id: str, kept: KeptConnections | None = None
    ) -> int: ...


def is_retryable(status: int) -> bool:
    return status == 0 or status >= 500 or status in (408, 429)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A sent_activity row as the workers need it (plain data, shared between tasks)."""

    id: int
    data: bytes
    actor_ap_id: str
    send_inboxes: tuple[str, ...]
    send_community_followers_of: int | None
    published: datetime
    send_all_instances: bool = False
    page_announce: bool = False  # only for software that needs it (software.py)
    kind: str = ""  # the activity's type

    @staticmethod
    def of(row: SentActivity) -> Outgoing:
        data = json.loads(row.data)
        return Outgoing(
            id=row.id,
            data=row.data.encode("utf-8"),
            actor_ap_id=row.actor_ap_id,
            send_inboxes=tuple(json.loads(row.send_inboxes)),
            send_community_followers_of=row.send_community_followers_of,
            published=row.published,
            send_all_instances=row.send_all_instances,
            page_announce=is_page_announce(data),
            kind=str(data.get("type", "")),
        )


async def follower_inboxes(session: AsyncSession, community_id: int) -> dict[int, list[str]]:
    """The inboxes (shared ones preferred) of the community's remote followers, by their instance."""
    rows = await session.execute(
        select(Person.instance_id, func.coalesce(Person.shared_inbox_url, Person.inbox_url))
        .join(CommunityFollower, CommunityFollower.person_id == Person.id)
        .where(
            CommunityFollower.community_id == community_id,
            CommunityFollower.pending.is_(False),
            Person.local.is_(False),
        )
        .distinct()
    )
    found: dict[int, list[str]] = {}
    for instance_id, inbox in rows.all():
        if inbox:
            found.setdefault(instance_id, []).append(inbox)
    return found


class ActivityFeed:
    """The outgoing log as every worker of this process reads it: one poll per tick for all of them.

    `ready` is the highest id up to which the log is complete: a missing id below a committed one may belong
    to a transaction that is still open, so rows after it are held back until it appears or `gap_seconds`
    pass (then it is taken for a rolled-back one). Without this a worker could pass an id for good before its
    row became visible."""

    def __init__(self, db: Database, timing: DeliveryTiming) -> None:
        self.db = db
        self.timing = timing
        self.ready = 0
        self.window: list[Outgoing] = []  # ids <= ready, ascending, the last FEED_WINDOW of them
        self._window_ids: list[int] = []
        self._fetched = 0  # highest id read so far
        self._pending: dict[int, Outgoing] = {}  # read but above a gap
        self._gaps: dict[int, float] = {}  # missing id -> when first noticed
        self._changed = asyncio.Event()
        # community id -> (when read, its remote followers' inboxes by instance), shared by every worker
        self._followers: OrderedDict[int, tuple[float, asyncio.Future[dict[int, list[str]]]]] = OrderedDict()
        self._started = False

    async def start(self) -> None:
        """Begin at the end of the log: what is older is read from the database by whoever needs it."""
        async with self.db.read() as session:
            newest = int(await session.scalar(select(func.max(SentActivity.id))) or 0)
        self.ready = self._fetched = newest
        self._started = True

    async def poll(self) -> None:
        if not self._started:
            await self.start()
        async with self.db.read() as session:
            condition = SentActivity.id > self._fetched
            if self._gaps:
                condition = or_(condition, SentActivity.id.in_(list(self._gaps)))
            rows = (await session.scalars(select(SentActivity).where(condition).order_by(SentActivity.id))).all()
        now = time.monotonic()
        for row in rows:
            self._gaps.pop(row.id, None)
            if row.id > self.ready:
                self._pending[row.id] = Outgoing.of(row)
            else:
                log.warning(
                    "activity %d was committed more than %.0f s after later ones: not delivered",
                    row.id,
                    self.timing.gap_seconds,
                )
            if row.id > self._fetched:
                for missing in range(self._fetched + 1, row.id):
                    self._gaps.setdefault(missing, now)
                self._fetched = row.id
        self._advance(now)

    def _advance(self, now: float) -> None:
        before = self.ready
        while self.ready < self._fetched:
            following = self.ready + 1
            if following in self._pending:
                ready = self._pending.pop(following)
                if ready.kind == "Accept":
                    # A community accepted a follow, in the transaction that recorded the follower: every
                    # activity after this one is sent to the followers as they are now.
                    self._followers.clear()
                self.window.append(ready)
                self._window_ids.append(following)
            elif following in self._gaps and now - self._gaps[following] < self.timing.gap_seconds:
                break  # perhaps still being committed: wait for it
            else:
                self._gaps.pop(following, None)
            self.ready = following
        if len(self.window) > FEED_WINDOW:
            del self.window[: len(self.window) - FEED_WINDOW]
            del self._window_ids[: len(self._window_ids) - FEED_WINDOW]
        if self.ready != before:
            changed, self._changed = self._changed, asyncio.Event()
            changed.set()

    async def after(self, cursor: int, limit: int = BATCH) -> list[Outgoing]:
        """Up to `limit` activities with ids in (cursor, ready], in order."""
        if cursor >= self.ready:
            return []
        if self.window and cursor >= self.window[0].id - 1:
            start = bisect.bisect_right(self._window_ids, cursor)
            return self.window[start : start + limit]
        async with self.db.read() as session:
            rows = await session.scalars(
                select(SentActivity)
                .where(SentActivity.id > cursor, SentActivity.id <= self.ready)
                .order_by(SentActivity.id)
                .limit(limit)
            )
            return [Outgoing.of(row) for row in rows.all()]

    async def wait_beyond(self, cursor: int) -> None:
        """Return once the feed has an activity after `cursor`."""
        while self.ready <= cursor:
            await self._changed.wait()

    async def _follower_inboxes(self, community_id: int) -> dict[int, list[str]]:
        async with self.db.read() as session:
            return await follower_inboxes(session, community_id)

    async def inboxes_for(self, activity: Outgoing, instance: Instance) -> list[str]:
        """The inboxes on `instance` that should receive this activity."""
        found = [i for i in activity.send_inboxes if urlsplit(i).netloc.lower() == instance.domain]
        community_id = activity.send_community_followers_of
        if community_id is not None:
            # One query per community for all the workers, even when they all ask at the same moment, used for
            # its later activities too until `followers_seconds` pass or a follow is accepted.
            now = time.monotonic()
            cached = self._followers.get(community_id)
            if cached is None or now - cached[0] > self.timing.followers_seconds:
                cached = (now, asyncio.ensure_future(self._follower_inboxes(community_id)))
                self._followers[community_id] = cached
                while len(self._followers) > FOLLOWER_CACHE:
                    self._followers.popitem(last=False)
            self._followers.move_to_end(community_id)
            try:
                by_instance = await asyncio.shield(cached[1])
            except Exception:
                if self._followers.get(community_id) is cached:
                    del self._followers[community_id]  # let the next one try again
                raise
            found.extend(by_instance.get(instance.id, ()))
        if activity.send_all_instances:
            # A site ban goes to every instance we know: to its shared inbox, as its people and groups name it.
            found.extend(await self._instance_inbox(instance.id))
        return list(dict.fromkeys(found))

    async def _instance_inbox(self, instance_id: int) -> list[str]:
        async with self.db.read() as session:
            for table in (Person, Community):
                inbox = await session.scalar(
                    select(table.shared_inbox_url)
                    .where(table.instance_id == instance_id, table.shared_inbox_url.is_not(None))
                    .limit(1)
                )
                if inbox:
                    return [inbox]
        return []


@dataclass(slots=True)
class _Cursor:
    last_successful_id: int | None
    last_successful_published_time: datetime | None
    fail_count: int
    last_retry: datetime | None
    alive: bool


class CursorBook:
    """The delivery cursors of this process that changed, written together in one transaction per tick.

    Each worker used to save its own cursor (a transaction of four statements) at most once a second: after a
    post to a community followed from a thousand instances, a thousand such transactions queued for the pool
    at once, and the next activity's follower query waited behind them (the second of two fan-outs in a row
    took 8.6 s instead of 2). Now a worker only notes its cursor here, and the manager writes every noted one
    with one UPDATE per table (executemany) each `save_seconds`, and once more when it stops."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._dirty: dict[int, _Cursor] = {}

    def note(self, instance_id: int, state: FederationQueueState, alive: bool) -> None:
        before = self._dirty.get(instance_id)
        self._dirty[instance_id] = _Cursor(
            last_successful_id=state.last_successful_id,
            last_successful_published_time=state.last_successful_published_time,
            fail_count=state.fail_count,
            last_retry=state.last_retry,
            alive=alive or (before is not None and before.alive),
        )

    @property
    def pending(self) -> int:
        return len(self._dirty)

    async def flush(self) -> None:
        if not self._dirty:
            return
        taken, self._dirty = self._dirty, {}
        cursors = [
            {
                "instance_id": instance_id,
                "last_successful_id": c.last_successful_id,
                "last_successful_published_time": c.last_successful_published_time,
                "fail_count": c.fail_count,
                "last_retry": c.last_retry,
            }
            for instance_id, c in taken.items()
        ]
        now = utcnow()
        alive = [{"id": instance_id, "updated": now} for instance_id, c in taken.items() if c.alive]
        try:
            async with self.db.write() as session:
                # ORM bulk UPDATE by primary key: one executemany per table.
                await session.execute(update(FederationQueueState), cursors)
                if alive:
                    await session.execute(update(Instance), alive)
        except Exception:
            for instance_id, cursor in taken.items():
                self._dirty.setdefault(instance_id, cursor)  # newer notes win; the rest is tried again
            raise


class InstanceWorker:
    def __init__(
        self,
        db: Database,
        instance: Instance,
        send: Sender,
        timing: DeliveryTiming,
        feed: ActivityFeed,
        book: CursorBook,
    ) -> None:
        self.db = db
        self.instance = instance
        self.send = send
        self.timing = timing
        self.feed = feed
        self.book = book
        self._alive = False
        self.connections = send.connections()

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
        try:
            await self._run()
        finally:
            await asyncio.shield(self.connections.close())

    async def _run(self) -> None:
        state = await self._state()
        if state.fail_count and state.last_retry is not None:
            # After a restart, finish the backoff that was under way.
            remaining = self.timing.backoff(state.fail_count) - (utcnow() - state.last_retry).total_seconds()
            if remaining > 0:
                await asyncio.sleep(remaining)
        while True:
            activities = await self.feed.after(state.last_successful_id or 0)
            if not activities:
                await self._wait(state.last_successful_id or 0)
                continue
            for activity in activities:
                await self._deliver(activity, state)
                self._note(state)
            # A busy feed of activities none of which go to this instance still lets its connection go.
            await self.connections.close_if_idle()

    async def _wait(self, cursor: int) -> None:
        """Until the feed has more; the connection to the instance stays open until it has been idle for its
        keep-alive time."""
        left = self.connections.idle_left()
        if self.connections.open and left > 0:
            try:
                await asyncio.wait_for(self.feed.wait_beyond(cursor), left)
                return
            except TimeoutError:
                pass
        await self.connections.close()
        await self.feed.wait_beyond(cursor)

    async def _deliver(self, activity: Outgoing, state: FederationQueueState) -> None:
        needed = not (activity.page_announce and reads_group_announces(self.instance.software))
        inboxes = await self.feed.inboxes_for(activity, self.instance) if needed else []
        for inbox in inboxes:
            while True:
                status = await self.send(inbox, activity.data, activity.actor_ap_id, self.connections)
                if not is_retryable(status):
                    break
                state.fail_count += 1
                state.last_retry = utcnow()
                self._note(state)
                wait = self.timing.backoff(state.fail_count)
                await self.connections.close()  # not kept through a backoff
                log.info("delivery to %s failed (%s); retry %d in %.1fs", inbox, status, state.fail_count, wait)
                await asyncio.sleep(wait)
        state.last_successful_id = activity.id
        state.last_successful_published_time = activity.published
        if state.fail_count:
            state.fail_count = max(0, state.fail_count - 1)
        self._alive = self._alive or bool(inboxes)

    def _note(self, state: FederationQueueState) -> None:
        """The cursor goes to the book; the manager writes it within `save_seconds` (and when it stops)."""
        self.book.note(self.instance.id, state, self._alive)
        self._alive = False


async def deliverable_instances(session: AsyncSession, shard: int, shards: int, now: datetime) -> list[Instance]:
    """Remote instances that are alive, permitted by the allow and block lists (by host), in this shard."""
    local = select(Site.instance_id)
    stmt = select(Instance).where(
        Instance.id.not_in(local),
        func.coalesce(Instance.updated, Instance.published) > now - DEAD_AFTER,
    )
    lists = await instance_lists(session)
    instances = list((await session.scalars(stmt.order_by(Instance.id))).all())
    return [i for i in instances if i.id % shards == shard and lists.permits(i.domain)]


class DeliveryManager:
    """Polls the feed and starts and stops one InstanceWorker per deliverable instance of this shard."""

    def __init__(
        self,
        db: Database,
        send: Sender,
        timing: DeliveryTiming,
        shard: int = 0,
        shards: int = 1,
        lookup: Lookup | None = None,
    ) -> None:
        self.db = db
        self.send = send
        self.timing = timing
        self.shard = shard
        self.shards = shards
        self.feed = ActivityFeed(db, timing)
        self.book = CursorBook(db)
        self.workers: dict[int, asyncio.Task[None]] = {}
        self._worker_of: dict[int, InstanceWorker] = {}
        # Learns each instance's software (software.py); without a lookup every instance gets every activity.
        self.survey = SoftwareSurvey(db, lookup) if lookup is not None else None

    async def run(self) -> None:
        next_reconcile = next_flush = 0.0
        try:
            while True:
                try:
                    await self.feed.poll()
                    if time.monotonic() >= next_flush:
                        next_flush = time.monotonic() + self.timing.save_seconds
                        await self.book.flush()
                    if time.monotonic() >= next_reconcile:
                        await self._reconcile()
                        next_reconcile = time.monotonic() + self.timing.recheck_seconds
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("delivery manager failed to read the log, save cursors or list instances; retrying")
                await asyncio.sleep(self.timing.idle_seconds)
        finally:
            if self.survey is not None:
                await self.survey.stop()
            for task in self.workers.values():
                task.cancel()
            await asyncio.gather(*self.workers.values(), return_exceptions=True)
            # Stopped (shutdown): keep the cursors if the database still answers.
            try:
                await asyncio.shield(self.book.flush())
            except Exception:
                log.warning("could not save %d delivery cursors", self.book.pending, exc_info=True)

    async def _reconcile(self) -> None:
        async with self.db.read() as session:
            wanted = {i.id: i for i in await deliverable_instances(session, self.shard, self.shards, utcnow())}
        for instance_id, task in list(self.workers.items()):
            if instance_id not in wanted or task.done():
                task.cancel()
                del self.workers[instance_id], self._worker_of[instance_id]
        for instance_id, instance in wanted.items():
            if instance_id in self.workers:
                self._worker_of[instance_id].instance = instance  # the row as it is now (its software learned)
            else:
                worker = InstanceWorker(self.db, instance, self.send, self.timing, self.feed, self.book)
                self._worker_of[instance_id] = worker
                self.workers[instance_id] = asyncio.create_task(worker.run(), name=f"deliver-{instance.domain}")
        if self.survey is not None:
            self.survey.plan(wanted.values())
