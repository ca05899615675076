"""The delivery feed: one reader of the outgoing log for all instance workers of a process.

It must hand out activities in id order, never pass over an id whose transaction has not committed yet (a
sequence gives ids at insert time, commits land in any order), and give up on an id that never appears (a
rolled-back transaction) after `gap_seconds`."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from conftest import backend, unique
from moot.db.federation import SentActivity
from moot.domain.timefmt import utcnow
from moot.federation.delivery import ActivityFeed, DeliveryTiming


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
