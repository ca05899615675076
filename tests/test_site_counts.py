"""The site's counts (GET /site, nodeinfo) are stored and kept by triggers (migration 0011): after every kind of
write they equal a count of the rows, and each write moves them the way Lemmy's site_aggregates move. On
PostgreSQL they are kept in slots (migration 0015): concurrent commits do not queue on one row."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from conftest import Api, backend, make_comment, make_community, make_post, register
from moot.queries.site import SiteCounts, local_counts, recount_local


async def _stored_and_counted(app: Any) -> tuple[SiteCounts, SiteCounts]:
    async with app.state.moot.db.read() as session:
        return await local_counts(session), await recount_local(session)


async def test_site_counts_follow_every_kind_of_write(app: Any, http: httpx.AsyncClient, admin: Api) -> None:
    before, _ = await _stored_and_counted(app)
    author = await register(http)
    community = await make_community(author)
    post = await make_post(author, community["id"])
    doomed_post = await make_post(author, community["id"])
    first = await make_comment(author, post["id"], "first")
    second = await make_comment(author, post["id"], "second", parent_id=first["id"])

    async def expect(users: int, posts: int, comments: int, communities: int) -> None:
        stored, counted = await _stored_and_counted(app)
        assert stored == counted
        assert (stored.users, stored.posts, stored.comments, stored.communities) == (
            before.users + users,
            before.posts + posts,
            before.comments + comments,
            before.communities + communities,
        )

    await expect(1, 2, 2, 1)
    await author.ok_post("/comment/delete", {"comment_id": second["id"], "deleted": True})
    await expect(1, 2, 1, 1)
    await author.ok_post("/comment/delete", {"comment_id": second["id"], "deleted": False})
    await expect(1, 2, 2, 1)
    await author.ok_post("/post/delete", {"post_id": post["id"], "deleted": True})
    await expect(1, 1, 2, 1)
    await author.ok_post("/post/delete", {"post_id": post["id"], "deleted": False})
    # A removal by a moderator or admin is not a deletion: the content still counts, as in Lemmy.
    await admin.ok_post("/post/remove", {"post_id": post["id"], "removed": True, "reason": "counted still"})
    await expect(1, 2, 2, 1)
    await author.ok_post("/community/delete", {"community_id": community["id"], "deleted": True})
    await expect(1, 2, 2, 0)
    await author.ok_post("/community/delete", {"community_id": community["id"], "deleted": False})
    await admin.ok_post("/admin/purge/comment", {"comment_id": second["id"], "reason": "purged"})
    await expect(1, 2, 1, 1)
    await admin.ok_post("/admin/purge/post", {"post_id": doomed_post["id"], "reason": "purged"})
    await expect(1, 1, 1, 1)
    await author.ok_post("/user/delete_account", {"password": "password-1234", "delete_content": True})
    stored, counted = await _stored_and_counted(app)
    assert stored == counted
    assert stored.users == before.users


async def test_purging_a_person_takes_their_content_out_of_the_counts(
    app: Any, http: httpx.AsyncClient, admin: Api
) -> None:
    author = await register(http)
    community = await make_community(admin)
    post = await make_post(author, community["id"])
    await make_comment(author, post["id"])
    await make_comment(admin, post["id"])
    before, _ = await _stored_and_counted(app)
    await admin.ok_post("/admin/purge/person", {"person_id": author.person_id, "reason": "purged"})
    stored, counted = await _stored_and_counted(app)
    assert stored == counted
    assert (stored.users, stored.posts, stored.comments) == (before.users - 1, before.posts - 1, before.comments - 2)


@pytest.mark.skipif(backend() != "postgres", reason="SQLite has one writer at a time and one row of counts")
async def test_concurrent_commits_move_counts_in_rows_of_their_own(app: Any, http: httpx.AsyncClient) -> None:
    """Two transactions that each change a count, their counts moved (the deferred trigger fired, as at commit)
    but not committed: with one row, the second waits for the first's commit (its lock_timeout fails it here).
    Each moves its own connection's slot, and the sums count both once committed."""
    people = [(await register(http)).person_id for _ in range(2)]
    before, _ = await _stored_and_counted(app)
    engine = app.state.moot.db.engine
    async with engine.connect() as first, engine.connect() as second:
        slots = [await _slot(conn) for conn in (first, second)]
        if slots[0] == slots[1]:
            pytest.skip("both connections share a slot (1 in 64)")
        for conn, person_id in zip((first, second), people, strict=True):
            await conn.execute(text("SET lock_timeout = '2s'"))
            await conn.execute(text("UPDATE person SET deleted = true WHERE id = :id"), {"id": person_id})
        # The counts' triggers fire now, in turn, each holding its row's lock until its transaction ends.
        await asyncio.gather(*(conn.execute(text("SET CONSTRAINTS ALL IMMEDIATE")) for conn in (first, second)))
        await asyncio.gather(first.commit(), second.commit())
    stored, counted = await _stored_and_counted(app)
    assert stored == counted
    assert stored.users == before.users - 2


async def _slot(conn: AsyncConnection) -> int:
    return int((await conn.execute(text("SELECT 1 + pg_backend_pid() % 64"))).scalar_one())
