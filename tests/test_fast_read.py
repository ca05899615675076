"""Hot reads sent straight to the driver (db/fast_read.py), on PostgreSQL and SQLite: the same rows as SQLAlchemy's
own path, the page sizes written into the SQL each as its statement, counted and recorded like any statement,
inside a write's transaction (a write block's first statement included), and a database error raised as
SQLAlchemy raises it; and ORM entities made of a row as a query makes them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Integer, Numeric, bindparam, cast, event, func, inspect, literal, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from conftest import Api, backend, make_community, make_post
from moot.db.community import Community
from moot.db.engine import Database, WriteInReadSession, count_queries
from moot.db.fast_read import Entities, EntityRow, FastRead, FastWrite
from moot.db.params import literal_param
from moot.db.post import Post
from moot.db.site import Site

postgres_only = pytest.mark.skipif(backend() != "postgres", reason="PostgreSQL's own behaviour")

_POSTS = FastRead(
    select(Post.id, Post.name, Post.url, Post.nsfw, Post.published, Post.hot_rank, Post.updated)
    .where(Post.community_id == bindparam("fast_community", type_=Integer))
    .order_by(Post.id)
)
_PAGE = FastRead(select(Post.id).order_by(Post.id).limit(literal_param("fast_limit")))
_NOW = FastRead(select(func.now()))


@pytest.fixture
async def posts(user: Api) -> tuple[int, list[int]]:
    community = (await make_community(user))["id"]
    made = [await make_post(user, community, name=f"fast {i}") for i in range(3)]
    return community, [post["id"] for post in made]


async def test_the_rows_are_the_ones_sqlalchemy_reads(db: Database, posts: tuple[int, list[int]]) -> None:
    community, ids = posts
    async with db.read() as session:
        fast = await _POSTS.rows(session, {"fast_community": community})
        usual = (await session.execute(_POSTS.statement, {"fast_community": community})).all()
    assert [tuple(row) for row in fast] == [tuple(row) for row in usual]
    assert [row[0] for row in fast] == ids
    assert all(row[4].tzinfo is not None for row in fast)  # times aware, as SQLAlchemy gives them


async def test_a_column_sqlalchemy_converts_is_converted(db: Database, posts: tuple[int, list[int]]) -> None:
    # A NUMERIC read as float (SQLAlchemy's asyncpg conversion, chosen by the column's type in the database).
    as_float = FastRead(select(cast(Post.score, Numeric(asdecimal=False))).where(Post.id == bindparam("fast_id")))
    async with db.read() as session:
        usual = await session.scalar(as_float.statement, {"fast_id": posts[1][0]})
        for _ in range(2):  # the first run learns the columns' types, the next ones use them
            value = await as_float.scalar(session, {"fast_id": posts[1][0]})
            assert type(value) is type(usual) and value == usual == 1
    if backend() == "postgres":
        assert type(usual) is float  # asyncpg gave a Decimal


async def test_each_page_size_is_written_into_its_own_statement(db: Database, posts: tuple[int, list[int]]) -> None:
    async with db.read() as session, count_queries() as recorded:
        assert len(await _PAGE.rows(session, {"fast_limit": 1})) == 1
        assert len(await _PAGE.rows(session, {"fast_limit": 2})) == 2
        assert len(await _PAGE.rows(session, {"fast_limit": 1})) == 1
    assert [sql.split("LIMIT")[1].split()[0] for sql in recorded] == ["1", "2", "1"]  # SQLite: "LIMIT 1 OFFSET ?"


async def test_an_expanding_in_goes_through_sqlalchemy(db: Database, posts: tuple[int, list[int]]) -> None:
    # Its SQL changes with each run's list: SQLAlchemy writes it out, every time.
    expanding = FastRead(select(Post.id).where(Post.id.in_(bindparam("fast_ids", expanding=True))).order_by(Post.id))
    ids = posts[1]
    async with db.read() as session, count_queries() as recorded:
        assert [row[0] for row in await expanding.rows(session, {"fast_ids": ids[:2]})] == ids[:2]
        assert [row[0] for row in await expanding.rows(session, {"fast_ids": ids})] == ids
    assert recorded[0] != recorded[1]  # two lists, two statements


async def test_the_engines_listeners_see_each_statement(db: Database, posts: tuple[int, list[int]]) -> None:
    # A listener added after the engine was made (the bench's recorder) sees reads of a read session too.
    seen: list[tuple[str, Any]] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute", lambda *args: seen.append((args[2], args[3])))
    async with db.read() as session, count_queries() as recorded:
        await _POSTS.rows(session, {"fast_community": posts[0]})
    assert len(recorded) == 1 and recorded[0].startswith("SELECT post.id")
    assert [sql for sql, _ in seen] == recorded
    assert posts[0] in tuple(seen[0][1])  # the values, as the driver took them (the bench replays them)


async def test_inside_a_write_it_reads_the_transaction(db: Database, posts: tuple[int, list[int]]) -> None:
    community, ids = posts
    async with db.write() as session:
        # The block's first statement, in the transaction the later ones run in too (now() stays the same).
        began = await _NOW.scalar(session)
        await session.execute(Post.__table__.update().where(Post.id == ids[0]).values(name="renamed"))
        rows = await _POSTS.rows(session, {"fast_community": community})
        assert rows[0][1] == "renamed"  # the write not committed yet, seen from inside
        assert await _NOW.scalar(session) == began
    async with db.read() as session:
        assert (await _POSTS.rows(session, {"fast_community": community}))[0][1] == "renamed"


@postgres_only
async def test_a_lost_connection_leaves_the_pool(db: Database, posts: tuple[int, list[int]]) -> None:
    async with db.read() as session:
        backend_pid = await session.scalar(select(func.pg_backend_pid()))
        async with db.read() as other:
            # The server ends the connection's backend, and waits (up to 5 s) until it has gone.
            assert await other.scalar(select(func.pg_terminate_backend(backend_pid, 5000)))
        with pytest.raises(DBAPIError) as lost:
            await _POSTS.rows(session, {"fast_community": posts[0]})
        assert lost.value.connection_invalidated
    for _ in range(3):  # the pool hands out working connections only
        async with db.read() as session:
            assert [row[0] for row in await _POSTS.rows(session, {"fast_community": posts[0]})] == posts[1]


@postgres_only
async def test_a_database_error_is_raised_as_sqlalchemy_raises_it(db: Database) -> None:
    division = FastRead(select(bindparam("fast_a", type_=Integer) / bindparam("fast_b", type_=Integer)))
    async with db.read() as session:
        assert await division.scalar(session, {"fast_a": 6, "fast_b": 3}) == 2
        with pytest.raises(DBAPIError, match="division by zero"):
            await division.scalar(session, {"fast_a": 1, "fast_b": 0})


_SAME_SITE = FastWrite(
    Site.__table__.insert().from_select(
        [column.name for column in Site.__table__.columns if column.name != "id"],
        select(*(column for column in Site.__table__.columns if column.name != "id")).limit(1),
    )
)


async def test_a_broken_unique_key_is_raised_as_sqlalchemys_integrity_error(db: Database, user: Api) -> None:
    """A race on a unique key is caught as IntegrityError (and retried) by its callers, on either database."""
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            await _SAME_SITE.rows(session)  # the site again: its actor id is taken


_RENAME = FastWrite(
    update(Post.__table__)
    .where(Post.__table__.c.id == bindparam("fast_id", type_=Integer))
    .values(name=bindparam("fast_name"))
    .returning(Post.__table__.c.name)
)


async def test_a_write_runs_in_the_blocks_transaction(db: Database, posts: tuple[int, list[int]]) -> None:
    community, ids = posts
    with pytest.raises(RuntimeError, match="undone"):
        async with db.write() as session:
            await _NOW.scalar(session)  # the block's first statement
            async with count_queries() as recorded:
                assert await _RENAME.first(session, {"fast_id": ids[0], "fast_name": "written"}) == ("written",)
            assert recorded[0].startswith("UPDATE post")
            raise RuntimeError("undone")
    async with db.read() as session:  # rolled back with the block: it ran inside its transaction
        assert (await _POSTS.rows(session, {"fast_community": community}))[0][1] == "fast 0"
    async with db.write() as session:
        assert await _RENAME.first(session, {"fast_id": ids[0], "fast_name": "kept"}) == ("kept",)
    async with db.read() as session:
        assert (await _POSTS.rows(session, {"fast_community": community}))[0][1] == "kept"


async def test_as_a_writes_first_statement_it_begins_the_transaction(
    db: Database, posts: tuple[int, list[int]]
) -> None:
    community, ids = posts
    with pytest.raises(RuntimeError, match="undone"):
        async with db.write() as session:
            assert await _RENAME.first(session, {"fast_id": ids[0], "fast_name": "first"}) == ("first",)
            if backend() == "postgres":  # begun before it, as SQLAlchemy begins it: the driver is in it
                driver = (await (await session.connection()).get_raw_connection()).driver_connection
                assert driver is not None and driver.is_in_transaction()
            raise RuntimeError("undone")
    async with db.read() as session:
        assert (await _POSTS.rows(session, {"fast_community": community}))[0][1] == "fast 0"


_LOCKED = FastRead(select(Post.id).where(Post.id == bindparam("fast_id", type_=Integer)).with_for_update())


@postgres_only
async def test_a_locking_read_first_in_a_write_holds_its_lock_to_the_end(
    db: Database, posts: tuple[int, list[int]]
) -> None:
    """A vote's first statement locks its post until the commit (actions/posts.py `_vote_target`)."""
    post_id = posts[1][0]
    nowait = text("SELECT id FROM post WHERE id = :id FOR UPDATE NOWAIT")
    async with db.write() as session:
        assert await _LOCKED.scalar(session, {"fast_id": post_id}) == post_id
        async with db.read() as other:
            with pytest.raises(DBAPIError, match="could not obtain lock"):
                await other.execute(nowait, {"id": post_id})
    async with db.read() as other:
        assert await other.scalar(nowait, {"id": post_id}) == post_id


_POST_ENTITIES = Entities(Post)
_POST_BY_ID = FastRead(select(*_POST_ENTITIES.columns).where(Post.id == bindparam("fast_id", type_=Integer)))


async def test_entities_are_the_ones_a_query_loads(db: Database, posts: tuple[int, list[int]]) -> None:
    post_id = posts[1][0]
    async with db.read() as session:
        loaded = await session.get(Post, post_id)
        assert loaded is not None
        row = await _POST_BY_ID.first(session, {"fast_id": post_id})
        assert row is not None
        made = _POST_ENTITIES.detached(row)
        # Every column, as the ORM loaded it; no session, nothing pending.
        columns = [prop.key for prop in inspect(Post).column_attrs]
        assert [getattr(made, key) for key in columns] == [getattr(loaded, key) for key in columns]
        assert inspect(made).detached and not inspect(made).modified
        # In a session: the entity it holds, when it holds one already (as a query gives it).
        assert _POST_ENTITIES.in_session(session, row) is loaded
    async with db.write() as session:
        row = await _POST_BY_ID.first(session, {"fast_id": post_id})
        assert row is not None
        made = _POST_ENTITIES.in_session(session, row)
        assert inspect(made).persistent
        async with count_queries() as recorded:
            assert await session.get(Post, post_id) is made
        assert recorded == []
        made.name = "changed through the entity"  # an entity of the session's: its change is written
    async with db.read() as session:
        assert await session.scalar(select(Post.name).where(Post.id == post_id)) == "changed through the entity"


@postgres_only
async def test_a_write_in_a_read_session_is_refused(db: Database, posts: tuple[int, list[int]]) -> None:
    async with db.read() as session:
        with pytest.raises(WriteInReadSession):
            await _RENAME.first(session, {"fast_id": posts[1][0], "fast_name": "never"})


async def test_an_entity_row_reads_its_entities_then_its_values(db: Database, posts: tuple[int, list[int]]) -> None:
    communities = Entities(Community)
    statement = FastRead(
        select(*_POST_ENTITIES.columns, *communities.columns, literal(7, Integer))
        .outerjoin(Community, Community.id == -1)  # none: an outer join's NULL columns
        .where(Post.id == bindparam("fast_id", type_=Integer))
    )
    async with db.read() as session:
        row = await statement.first(session, {"fast_id": posts[1][0]})
        assert row is not None
        read = EntityRow(session, row)
        assert read.entity(_POST_ENTITIES).id == posts[1][0]
        assert read.entity_or_none(communities) is None
        assert read.value() == 7
