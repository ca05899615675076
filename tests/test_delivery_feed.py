"""The delivery feed: one reader of the outgoing log for all instance workers of a process.

It must hand out activities in id order, never pass over an id whose transaction has not committed yet (a
sequence gives ids at insert time, commits land in any order), and give up on an id that never appears (a
rolled-back transaction) after `gap_seconds`."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest
from sqlalchemy import select

from conftest import Api, backend, make_community, unique
from moot.actions import communities as community_actions
from moot.actions import remote
from moot.db.engine import count_queries
from moot.db.federation import FederationQueueState, SentActivity
from moot.db.instance import Instance
from moot.db.site import Site
from moot.domain.timefmt import utcnow
from moot.federation.delivery import ActivityFeed, CursorBook, DeliveryTiming
from moot.federation.send import KeyStore
from moot.queries.viewer import RemoteActor


def _row() -> SentActivity:
    return SentActivity(
        ap_id=f"https://moot.test/activities/{unique('a')}",
        data='{"type": "Create"}',
        send_inboxes="[]",
        actor_ap_id="https://moot.test/u/someone",
        published=utcnow(),
    )


async def _add(db: Any) -> int:
    async with db.write() as session:
        row = _row()
        session.add(row)
        await session.flush()
        return row.id


async def test_feed_hands_out_new_activities_in_order_and_wakes_waiters(app: Any) -> None:
    db = app.state.moot.db
    feed = ActivityFeed(db, DeliveryTiming.fast())
    await feed.start()
    start = feed.ready
    waiter = asyncio.create_task(feed.wait_beyond(start))
    ids = [await _add(db) for _ in range(3)]
    await feed.poll()
    await asyncio.wait_for(waiter, 1)
    assert [o.id for o in await feed.after(start)] == ids
    assert [o.id for o in await feed.after(ids[0])] == ids[1:]
    assert await feed.after(ids[-1]) == []
    # Older than the feed's window: read from the database, in order, up to what the feed has made ready.
    assert [o.id for o in await feed.after(start - 1)][-3:] == ids


@pytest.mark.skipif(backend() == "sqlite", reason="SQLite serialises writers: commits cannot overtake each other")
async def test_feed_holds_back_behind_an_uncommitted_id_then_skips_a_rolled_back_one(app: Any) -> None:
    db = app.state.moot.db
    feed = ActivityFeed(db, DeliveryTiming(gap_seconds=1.0))
    await feed.start()
    start = feed.ready

    async with contextlib.AsyncExitStack() as stack:
        slow = await stack.enter_async_context(db.write())
        slow_row = _row()
        slow.add(slow_row)
        await slow.flush()  # takes its id now, commits later
        quick = await _add(db)
        assert quick > slow_row.id
        await feed.poll()
        assert feed.ready == start and await feed.after(start) == []  # held back at the open transaction
    await feed.poll()  # the slow one committed
    assert [o.id for o in await feed.after(start)] == [slow_row.id, quick]

    with contextlib.suppress(RuntimeError):
        async with db.write() as session:
            session.add(_row())
            await session.flush()
            raise RuntimeError("roll back: the id is gone for good")
    after_gap = await _add(db)
    await feed.poll()
    assert feed.ready == quick  # the missing id may still commit
    await asyncio.sleep(1.1)
    await feed.poll()
    assert feed.ready == after_gap and [o.id for o in await feed.after(quick)] == [after_gap]


async def _instance(db: Any) -> int:
    async with db.write() as session:
        instance = Instance(domain=f"{unique('peer')}.example", published=utcnow())
        session.add(instance)
        await session.flush()
        session.add(FederationQueueState(instance_id=instance.id, last_successful_id=0, fail_count=0))
        return instance.id


async def test_the_cursor_book_writes_every_noted_cursor_in_one_transaction(app: Any) -> None:
    """A fan-out to many instances moves many cursors at once: they are written together, not one transaction
    each (a thousand of those queued for the pool and held up the next activity)."""
    db = app.state.moot.db
    ids = [await _instance(db) for _ in range(3)]
    book = CursorBook(db)
    for n, instance_id in enumerate(ids):
        state = FederationQueueState(instance_id=instance_id, last_successful_id=100 + n, fail_count=n)
        book.note(instance_id, state, alive=n == 0)
    book.note(ids[2], FederationQueueState(instance_id=ids[2], last_successful_id=205, fail_count=0), alive=False)
    async with count_queries() as statements:
        await book.flush()
    writes = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    assert len(writes) == 2  # one executemany per table: the cursors, and the instance that answered
    assert book.pending == 0
    async with db.read() as session:
        rows = {
            r.instance_id: (r.last_successful_id, r.fail_count)
            for r in await session.scalars(
                select(FederationQueueState).where(FederationQueueState.instance_id.in_(ids))
            )
        }
        updated = {i.id: i.updated for i in await session.scalars(select(Instance).where(Instance.id.in_(ids)))}
    assert rows == {ids[0]: (100, 0), ids[1]: (101, 1), ids[2]: (205, 0)}  # the last note of an instance wins
    assert updated[ids[0]] is not None and updated[ids[1]] is None and updated[ids[2]] is None
    async with count_queries() as statements:
        await book.flush()  # nothing noted since: nothing written
    assert statements == []


async def test_a_key_is_read_once_however_many_deliveries_ask_at_once(app: Any) -> None:
    """A thousand delivery tasks woken by one post all need the community's key: one lookup, not a thousand."""
    db = app.state.moot.db
    async with db.read() as session:
        site = await session.scalar(select(Site))
        assert site is not None and site.private_key
    keys = KeyStore(db)
    async with count_queries() as statements:
        found = await asyncio.gather(*(keys.private_key(site.ap_id) for _ in range(50)))
    assert set(found) == {site.private_key}
    assert len([s for s in statements if "private_key" in s]) <= 3  # person, community, site: once
    assert await keys.private_key("https://nobody.example/u/x") is None


async def _remote_follower(db: Any, community_id: int) -> tuple[int, str]:
    """A person of a new remote instance following the community: (their instance id, their shared inbox)."""
    domain = f"{unique('far')}.example"
    async with db.write() as session:
        person = await remote.upsert_remote_person(
            session, ap_id=f"https://{domain}/u/follower", name="follower", domain=domain
        )
        person.shared_inbox_url = f"https://{domain}/inbox"
        await community_actions.follow_community(session, RemoteActor(person=person), community_id, True)
        return person.instance_id, person.shared_inbox_url


async def _record(db: Any, kind: str, followers_of: int | None) -> None:
    async with db.write() as session:
        row = _row()
        row.data = json.dumps({"type": kind})
        row.send_community_followers_of = followers_of
        session.add(row)


async def test_follower_inboxes_are_read_once_per_community_and_again_after_an_accepted_follow(
    app: Any, admin: Api
) -> None:
    """Every activity in a community goes to its followers' instances: their inboxes are read once and kept (a vote
    in a community followed from a thousand instances no longer reads a thousand rows). A follow accepted since
    is never missed: its Accept, recorded with the follower, drops what was kept."""
    db = app.state.moot.db
    community_id = (await make_community(admin))["id"]
    feed = ActivityFeed(db, DeliveryTiming.fast())
    await feed.start()
    cursor = feed.ready
    first_instance, first_inbox = await _remote_follower(db, community_id)
    await _record(db, "Announce", community_id)
    await feed.poll()
    [one] = await feed.after(cursor)
    async with db.read() as session:
        (first,) = (await session.scalars(select(Instance).where(Instance.id == first_instance))).all()
    assert await feed.inboxes_for(one, first) == [first_inbox]

    # Someone follows without an Accept going out (as the bench seeds them): the kept inboxes are used.
    later_instance, later_inbox = await _remote_follower(db, community_id)
    await _record(db, "Announce", community_id)
    await feed.poll()
    [two] = await feed.after(one.id)
    async with db.read() as session:
        (later,) = (await session.scalars(select(Instance).where(Instance.id == later_instance))).all()
    async with count_queries() as statements:
        assert await feed.inboxes_for(two, first) == [first_inbox]
        assert await feed.inboxes_for(two, later) == []
    assert statements == []

    # An Accept in the log: the activities after it go to the followers as they are now.
    await _record(db, "Accept", None)
    await _record(db, "Announce", community_id)
    await feed.poll()
    accept, three = await feed.after(two.id)
    assert accept.kind == "Accept"
    assert await feed.inboxes_for(three, later) == [later_inbox]
    assert await feed.inboxes_for(three, first) == [first_inbox]
