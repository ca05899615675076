"""A comment's counters go out with its COMMIT (PostgreSQL, db/engine.py `commit`): the thread's rows are
locked for the statement's own time, not from the counters to the commit; the change and its counts commit
together or not at all; nothing is written after them. And the statements written out for that simple query
(db/simple_query.py) carry numbers, times and integer arrays only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import ARRAY, DateTime, Float, Integer, String, bindparam, select, text, update
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from conftest import Api, backend, make_community, make_post
from moot.actions import comments
from moot.db import simple_query
from moot.db.comment import Comment
from moot.db.engine import Database, WriteInReadSession, commit, writes_at_commit
from moot.db.mail import EmailOutbox
from moot.db.post import Post
from moot.db.simple_query import prepared
from moot.domain.timefmt import utcnow
from moot.queries.viewer import load_viewer
from moot.settings import Settings

postgres_only = pytest.mark.skipif(backend() != "postgres", reason="SQLite runs counters where they are asked for")


async def _comments_counted(db: Database, post_id: int) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(Post.comments).where(Post.id == post_id)) or 0)


async def _locked(db: Database, post_id: int) -> bool:
    """Whether another transaction holds the post's row for an update (as the counters' UPDATE does)."""
    async with db.read() as session:
        try:
            await session.execute(text("SELECT id FROM post WHERE id = :id FOR NO KEY UPDATE NOWAIT"), {"id": post_id})
        except DBAPIError as error:
            assert "could not obtain lock" in str(error)
            return True
    return False


@pytest.fixture
async def post(user: Api) -> dict[str, Any]:
    return await make_post(user, (await make_community(user))["id"])


async def _comment(app: Any, session: AsyncSession, commenter: Api, post: dict[str, Any], content: str) -> Comment:
    viewer = await load_viewer(session, commenter.jwt, app.state.moot.jwt_secret)
    assert viewer is not None
    comment = (
        await comments.create_comment(session, app.state.moot.settings, viewer, post_id=post["id"], content=content)
    ).comment
    return comment


@postgres_only
async def test_the_counters_go_out_with_the_commit(
    app: Any, db: Database, user: Api, other: Api, post: dict[str, Any]
) -> None:
    async with db.write() as session:
        assert writes_at_commit(session)
        comment = await _comment(app, session, other, post, "hi")
        # The comment is written, its counters kept: the thread's row is free for every other writer.
        assert not await _locked(db, post["id"])
        assert await _comments_counted(db, post["id"]) == 0
        await commit(session)
        # Committed with its counters; the session reads on (the API's answer), the row still free.
        assert await _comments_counted(db, post["id"]) == 1
        assert not await _locked(db, post["id"])
        assert (await session.scalar(select(Post.comments).where(Post.id == post["id"]))) == 1
        # Planned once for the connection: the statement stays PREPAREd on it.
        kept = await session.scalars(text("SELECT name FROM pg_prepared_statements WHERE name LIKE 'moot_%'"))
        assert list(kept)
        loaded = await session.get(Post, post["id"])
        assert loaded is not None and loaded.comments == 1  # the session's copy was expired, then read again
        with pytest.raises(WriteInReadSession):
            # A write after the commit would not commit with the change: it is refused.
            await session.execute(update(Post).where(Post.id == post["id"]).values(comments=99))
    assert await user.ok_get("/comment", id=comment.id)
    assert (await user.ok_get("/post", id=post["id"]))["post_view"]["counts"]["comments"] == 1


@postgres_only
async def test_what_the_change_adds_after_its_counters_commits_with_it(
    app: Any, db: Database, user: Api, other: Api, post: dict[str, Any]
) -> None:
    address = f"{uuid.uuid4().hex}@example.org"
    async with db.write() as session:
        await _comment(app, session, other, post, "and a mail")
        now = utcnow()
        session.add(EmailOutbox(to_address=address, subject="s", body_text="b", next_attempt=now, published=now))
    async with db.read() as session:
        assert await session.scalar(select(EmailOutbox.id).where(EmailOutbox.to_address == address))
    assert (await user.ok_get("/post", id=post["id"]))["post_view"]["counts"]["comments"] == 1


@postgres_only
async def test_a_change_that_fails_before_its_commit_leaves_no_count(
    app: Any, db: Database, user: Api, other: Api, post: dict[str, Any]
) -> None:
    with pytest.raises(RuntimeError, match="after the counters were kept"):
        async with db.write() as session:
            await _comment(app, session, other, post, "lost")
            raise RuntimeError("after the counters were kept")
    assert (await user.ok_get("/post", id=post["id"]))["post_view"]["counts"]["comments"] == 0
    assert (await user.ok_get("/comment/list", post_id=post["id"]))["comments"] == []


async def test_the_api_answer_to_a_new_comment_shows_its_counts(user: Api, other: Api, post: dict[str, Any]) -> None:
    """Read after the counters were sent (PostgreSQL) or run (SQLite): the author's own vote, counted."""
    answer = await other.ok_post("/comment", {"post_id": post["id"], "content": "counted"})
    assert answer["comment_view"]["my_vote"] == 1
    assert answer["comment_view"]["counts"]["score"] == 1
    reply = await user.ok_post(
        "/comment",
        {"post_id": post["id"], "content": "and a reply", "parent_id": answer["comment_view"]["comment"]["id"]},
    )
    assert reply["comment_view"]["counts"]["child_count"] == 0
    parent = await user.ok_get("/comment", id=answer["comment_view"]["comment"]["id"])
    assert parent["comment_view"]["counts"]["child_count"] == 1
    assert (await user.ok_get("/post", id=post["id"]))["post_view"]["counts"]["comments"] == 2


def test_values_written_into_sql() -> None:
    when = datetime(2026, 12, 1, 12, 30, 5, 123456, tzinfo=UTC)
    statement = select(
        bindparam("n", type_=Integer),
        bindparam("negative", type_=Integer),
        bindparam("t"),
        bindparam("none"),
        bindparam("ids", type_=ARRAY(Integer)),
    )
    kept = prepared(statement, asyncpg_dialect())
    assert kept.prepare.startswith(f"PREPARE {kept.name} AS SELECT $1")
    execute = kept.execute({"n": 12, "negative": -3, "t": when, "none": None, "ids": [1, 2, 3]})
    assert execute == f"EXECUTE {kept.name}(12, -3, '2026-12-01T12:30:05.123456+00:00', NULL, '{{1,2,3}}')"


@pytest.mark.parametrize("value", [b"bytes", [1, "2"], [True], {"a": 1}])
def test_anything_but_numbers_times_integer_arrays_and_text_is_refused(value: object) -> None:
    statement = select(bindparam("value"))
    with pytest.raises(TypeError, match="only numbers, times, NULL, integer arrays and text"):
        prepared(statement, asyncpg_dialect()).execute({"value": value})


def test_text_is_dollar_quoted_under_a_tag_it_does_not_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = prepared(select(bindparam("value", type_=String)), asyncpg_dialect())
    written = kept.execute({"value": "it's $$ text"})
    tag = written.removeprefix(f"EXECUTE {kept.name}(").split("$", 2)[1]
    assert written == f"EXECUTE {kept.name}(${tag}$it's $$ text${tag}$)"
    # A text holding the tag drawn gets another one.
    drawn = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(simple_query.secrets, "token_hex", lambda _n: next(drawn))
    assert kept.execute({"value": "x $t_aaaa$ y"}) == f"EXECUTE {kept.name}($t_bbbb$x $t_aaaa$ y$t_bbbb$)"
    # Nor one whose beginning ends the text: `$t_cccc` + `$t_cccc$` would close the quote early.
    drawn = iter(["cccc", "dddd"])
    assert kept.execute({"value": "ends $t_cccc"}) == f"EXECUTE {kept.name}($t_dddd$ends $t_cccc$t_dddd$)"
    with pytest.raises(ValueError, match="NUL"):
        kept.execute({"value": "a\x00b"})


# Text that would end or escape a quoted constant: quotes, backslashes (read as escapes where
# standard_conforming_strings is off), dollar quotes of every shape, a statement after it, and the tags' own prefix.
_HOSTILE = [
    "",
    "'",
    "''; DROP TABLE post; --",
    "\\",
    "\\'; SELECT 1; --",
    "$$",
    "$$ ; SELECT 1; $$",
    "$t_$",
    "$t_0123456789abcdef$",
    "E'\\x41'",
    "snowman \u2603, emoji \U0001f600, RTL \u202e, NEL \x85",
    '{"type": "Note", "content": "<p>it\'s</p>"}',
    "line\nbreak\r\ttab",
]


@postgres_only
async def test_hostile_text_written_out_reads_back_as_it_was(settings: Settings) -> None:
    statement = select(bindparam("value", type_=String), bindparam("after", type_=Integer))
    db = Database(settings)
    try:
        async with db.read() as session:
            driver = (await (await session.connection()).get_raw_connection()).driver_connection
            assert driver is not None
            kept = prepared(statement, session.get_bind().dialect)
            await driver.execute(kept.prepare)
            for standard_strings in ("on", "off"):
                await driver.execute(f"SET standard_conforming_strings = {standard_strings}")
                for text_value in [*_HOSTILE, *(f"{a}{b}" for a in _HOSTILE for b in _HOSTILE[:6])]:
                    row = await driver.fetchrow(kept.execute({"value": text_value, "after": 7}))
                    assert tuple(row) == (text_value, 7), text_value
            await driver.execute("RESET standard_conforming_strings")
            await driver.execute(f"DEALLOCATE {kept.name}")
    finally:
        await db.dispose()


@postgres_only
async def test_an_execute_with_values_written_out_reads_as_the_bound_statement(settings: Settings) -> None:
    when = datetime(2026, 12, 1, 12, 30, 5, 123456, tzinfo=UTC)
    statement = select(
        bindparam("n", type_=Integer) + 1,
        bindparam("negative", type_=Integer) * 2,
        bindparam("t", type_=DateTime(timezone=True)),
        bindparam("ids", type_=ARRAY(Integer)),
        bindparam("half", type_=Float),
    )
    params = {"n": 41, "negative": -3, "t": when, "ids": [5, 6], "half": 0.5}
    db = Database(settings)
    try:
        async with db.read() as session:
            bound = tuple((await session.execute(statement, params)).one())
            driver = (await (await session.connection()).get_raw_connection()).driver_connection
            assert driver is not None
            kept = prepared(statement, session.get_bind().dialect)
            await driver.execute(kept.prepare)
            written = tuple(await driver.fetchrow(kept.execute(params)))
            await driver.execute(f"DEALLOCATE {kept.name}")
    finally:
        await db.dispose()
    assert written == bound == (42, -6, when, [5, 6], 0.5)
