"""One request's reads share one session and one pooled connection (db/engine.py `Database.shared_reads`, turned on
for the read routes marked `reads_share_a_session` in api/lemmy_v3): the viewer's read and the page's were a
session and a pool checkout each. The sharing must not change what a read sees or holds: each read starts with an
empty session, a read while another is open gets a session of its own, a failed read gives its session back, and
a write (or a wait on another server) first gives the idle connection back, so a request never holds two."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, text

from conftest import Api, make_comment, make_community, make_post
from moot.db.engine import Database
from moot.db.person import Person
from moot.settings import Settings
from test_inbox_statement_counts import _deliver, _remote_sender, _reply


@pytest.fixture(autouse=True)
def _migrated(app: Any) -> None:
    """The test database's tables (the app migrates it as it starts)."""


@contextmanager
def checkouts(db: Database) -> Iterator[dict[str, int]]:
    """Pool checkouts while the block runs: how many in all, and the most held at once."""
    seen = {"total": 0, "held": 0, "most": 0}

    def out(*_: Any) -> None:
        seen["total"] += 1
        seen["held"] += 1
        seen["most"] = max(seen["most"], seen["held"])

    def back(*_: Any) -> None:
        seen["held"] -= 1

    pool = db.engine.sync_engine.pool
    event.listen(pool, "checkout", out)
    event.listen(pool, "checkin", back)
    try:
        yield seen
    finally:
        event.remove(pool, "checkout", out)
        event.remove(pool, "checkin", back)


async def test_reads_in_the_block_share_a_session_each_starting_empty(db: Database) -> None:
    async with db.shared_reads():
        async with db.read() as first:
            person = await first.scalar(select(Person).limit(1))
            assert person is not None and person in first
        async with db.read(generic_plans=True) as second:
            assert second is first
            assert person not in second  # detached, as when a read's own session closes
            assert await second.scalar(text("SELECT 1")) == 1
    async with db.read() as after:
        assert after is not first  # outside the block: a session of its own


async def test_a_read_while_another_is_open_gets_its_own_session(db: Database) -> None:
    async with db.shared_reads():
        async with db.read() as outer, db.read() as nested:
            assert nested is not outer
        sessions = []

        async def read() -> None:
            async with db.read() as session:
                sessions.append(session)
                await session.execute(text("SELECT 1"))
                await asyncio.sleep(0.01)

        await asyncio.gather(read(), read())
        assert sessions[0] is not sessions[1]


async def test_a_failed_read_gives_its_session_back(db: Database) -> None:
    async with db.shared_reads():
        async with db.read() as first:
            pass
        with pytest.raises(LookupError):
            async with db.read() as failing:
                assert failing is first
                raise LookupError("a read's error")
        async with db.read() as next_one:
            assert next_one is not first
            assert await next_one.scalar(text("SELECT 1")) == 1


async def test_a_write_in_the_block_first_gives_the_read_connection_back(db: Database) -> None:
    async with db.shared_reads():
        with checkouts(db) as seen:
            async with db.read() as session:
                await session.execute(text("SELECT 1"))
            async with db.write() as session:
                await session.execute(text("SELECT 1"))
            async with db.read() as session:
                await session.execute(text("SELECT 1"))
    assert seen["most"] == 1, seen
    assert seen["total"] == 3, seen


@pytest.mark.parametrize("path", ["/post/list", "/post", "/comment/list", "/community", "/user", "/site"])
async def test_a_logged_in_read_holds_one_connection_at_a_time(app: Any, user: Api, path: str) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await make_comment(user, post["id"])
    params = {
        "/post/list": {"community_id": community["id"], "sort": "New"},
        "/post": {"id": post["id"]},
        "/comment/list": {"post_id": post["id"]},
        "/community": {"id": community["id"]},
        "/user": {"person_id": user.person_id},
        "/site": {},
    }[path]
    with checkouts(app.state.moot.db) as seen:
        await user.ok_get(path, **params)
    assert seen["most"] == 1, seen
    if path != "/post":  # opening a post also writes the reader's read mark (a checkout of its own)
        assert seen["total"] == 1, seen  # the viewer's read and the page's: one session, one checkout


async def test_an_inbound_reply_reads_on_one_connection_and_writes_on_another(
    app: Any, http: httpx.AsyncClient, settings: Settings, user: Api
) -> None:
    """The inbox's reads (the sender, whether the activity was received, the thread) share a checkout; its one
    write takes the connection given back."""
    community = await make_community(user)
    post = await make_post(user, community["id"])
    sender, keys = await _remote_sender(settings)
    warm = await _deliver(http, sender, keys, _reply(sender, post, community["actor_id"]))
    assert warm.status_code == 200, warm.text
    with checkouts(app.state.moot.db) as seen:
        response = await _deliver(http, sender, keys, _reply(sender, post, community["actor_id"]))
    assert response.json() == {"status": "ok"}
    assert seen["most"] == 1, seen
    assert seen["total"] == 2, seen
