"""Hot paths run a fixed number of SQL statements, however much data there is.

"This is a performance-critical code path": the front page, a community page and a comment tree must not
grow a query per row. The counts below are the whole request, authentication included."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select, text, update

from conftest import Api, backend, make_comment, make_community, make_post, unique
from moot.db.engine import Database, WriteInReadSession, count_queries, setting
from moot.db.person import Person
from moot.db.search import exact_bitmaps
from moot.queries import defaults


async def _fill(api: Api) -> tuple[int, int]:
    community = await make_community(api)
    post = await make_post(api, community["id"], url="https://example.com/counted")
    parent = None
    for i in range(12):
        comment = await make_comment(api, post["id"], f"comment {i}", parent_id=parent)
        parent = comment["id"] if i % 3 else None
    for _ in range(8):
        await make_post(api, community["id"])
    return community["id"], post["id"]


async def test_front_page_query_count(user: Api, anon: Api) -> None:
    await _fill(user)
    defaults.forget()
    async with count_queries() as first:
        data = await anon.ok_get("/post/list", type_="All", sort="Hot", limit=20)
    assert len(data["posts"]) >= 9
    # the site's default listing and sort (then kept for a few seconds) + the page
    assert len(first) == 2, first
    async with count_queries() as anonymous:
        await anon.ok_get("/post/list", type_="All", sort="Hot", limit=20)
    assert len(anonymous) == 1, anonymous
    async with count_queries() as logged_in:
        await user.ok_get("/post/list", type_="All", sort="Hot", limit=20)
    # + the login check
    assert len(logged_in) == 2, logged_in
    # A page after a cursor reads the cursor's post's sort keys inside the page's statement.
    first_page = await anon.ok_get("/post/list", type_="All", sort="Hot", limit=4)
    async with count_queries() as after_cursor:
        data = await anon.ok_get("/post/list", type_="All", sort="Hot", limit=4, page_cursor=first_page["next_page"])
    assert len(data["posts"]) == 4 and not {p["post"]["id"] for p in data["posts"]} & {
        p["post"]["id"] for p in first_page["posts"]
    }
    assert len(after_cursor) == 1, after_cursor


async def test_community_page_query_count(user: Api) -> None:
    community_id, _ = await _fill(user)
    # Forgotten first, so the copy the warm-up reads is a fresh one (one kept since _fill could expire between
    # the warm-up and the counted request).
    defaults.forget()
    await user.ok_get("/post/list", community_id=community_id, sort="New", limit=1)  # site defaults now in memory
    async with count_queries() as statements:
        data = await user.ok_get("/post/list", community_id=community_id, sort="New", limit=20)
    assert len(data["posts"]) == 9
    # login, the page
    assert len(statements) == 2, statements
    async with count_queries() as sidebar:
        await user.ok_get("/community", id=community_id)
    # login, community view, moderators, languages
    assert len(sidebar) == 4, sidebar


async def test_get_post_query_count(user: Api, anon: Api) -> None:
    """GET /post: the post's view (its community's row, counts and the reader's follow and ban inside it), the
    moderators, the link's other posts; a logged-in reader adds the login and whether they block the community,
    and the read mark when the post is new to them."""
    community = await make_community(user)
    link = "https://example.com/counted/" + unique()
    post_id = (await make_post(user, community["id"], url=link))["id"]
    await make_post(user, (await make_community(user))["id"], url=link)
    defaults.forget()
    await anon.ok_get("/post", id=post_id)  # the site's switches now in memory for a few seconds
    async with count_queries() as anonymous:
        data = await anon.ok_get("/post", id=post_id)
    assert len(data["cross_posts"]) == 1
    assert len(anonymous) == 3, anonymous
    await user.ok_get("/post", id=post_id)  # read once: the next reading writes nothing
    async with count_queries() as logged_in:
        await user.ok_get("/post", id=post_id)
    assert len(logged_in) == 5, logged_in


async def test_comment_tree_query_count(user: Api, anon: Api) -> None:
    _, post_id = await _fill(user)
    defaults.forget()  # as above: the warm-up reads a fresh copy
    # The site's switches (private_instance, asked by every anonymous read) now in memory for a few seconds.
    await anon.ok_get("/comment/list", post_id=post_id, max_depth=1, sort="Hot")
    async with count_queries() as statements:
        data = await anon.ok_get("/comment/list", post_id=post_id, max_depth=8, sort="Hot")
    assert len(data["comments"]) == 12
    assert len(statements) == 1, statements


async def test_logged_in_comment_tree_query_count(user: Api) -> None:
    """The reader's votes, saves and blocks ride in the tree's one statement (after the login's)."""
    _, post_id = await _fill(user)
    await user.ok_get("/comment/list", post_id=post_id, max_depth=1, sort="Hot")
    async with count_queries() as statements:
        data = await user.ok_get("/comment/list", post_id=post_id, max_depth=8, sort="Hot")
    assert len(data["comments"]) == 12
    assert all(view["my_vote"] == 1 for view in data["comments"])  # everyone upvotes their own comments
    assert len(statements) == 2, statements  # the login, the tree


async def test_joined_comment_tree_query_count(user: Api, anon: Api) -> None:
    """A link's joined tree (issue 15): the home post, the group's other posts, then one tree statement for all
    of them, however many posts the group has."""
    community = await make_community(user)
    link = "https://example.com/joined/" + unique()
    post_id = (await make_post(user, community["id"], url=link))["id"]
    for i in range(12):
        await make_comment(user, post_id, f"comment {i}")
    for i in range(3):
        other = await make_post(user, (await make_community(user))["id"], url=link)
        await make_comment(user, other["id"], f"elsewhere {i}")
    defaults.forget()
    await anon.ok_get("/comment/list", post_id=post_id, max_depth=1, sort="Hot")
    async with count_queries() as statements:
        data = await anon.ok_get("/comment/list", post_id=post_id, merge_cross_posts=True, max_depth=8, sort="Hot")
    assert len(data["comments"]) == 15
    assert len({view["post"]["id"] for view in data["comments"]}) == 4
    assert len(statements) == 3, statements


@pytest.mark.skipif(backend() != "sqlite", reason="SQLite's own planner")
async def test_anonymous_reads_never_scan_an_actions_table_on_sqlite(app: Any, user: Api, anon: Api) -> None:
    """An anonymous reader has no votes or saves: the join to them must cost nothing. Joined `ON 0 = 1`, SQLite
    scanned the whole table once per row (a 300-comment tree took 2.6 s at 100,000 comments)."""
    _, post_id = await _fill(user)
    db = app.state.moot.db
    captured: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        captured.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        page = await anon.ok_get("/post/list", type_="All", sort="Hot", limit=2)
        await anon.ok_get("/post/list", type_="All", sort="Hot", limit=2, page_cursor=page["next_page"])
        await anon.ok_get("/post", id=post_id)
        await anon.ok_get("/comment/list", post_id=post_id, max_depth=8, sort="Hot")
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    reads = [(s, p) for s, p in captured if s.lstrip().upper().startswith("SELECT") and "_actions" in s]
    assert len(reads) >= 4
    async with db.engine.connect() as connection:
        for statement, parameters in reads:
            plan = (await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)).all()
            scans = [row[3] for row in plan if row[3].startswith("SCAN") and "_actions" in row[3]]
            assert not scans, (statement, scans)


_BOUND_PAGE = re.compile(r"\b(?:LIMIT|OFFSET)\s+\$\d+")


@pytest.mark.skipif(backend() != "postgres", reason="PostgreSQL's plan cache (SQLite plans no differently)")
async def test_hot_reads_write_their_page_bounds_into_the_sql(user: Api) -> None:
    """db/params.py: a LIMIT or OFFSET sent as a parameter keeps PostgreSQL from reusing a generic plan, so the
    statement is planned again on every request (1.5 of the front page's 2.4 ms at 1M posts)."""
    community_id, post_id = await _fill(user)
    reads: list[tuple[str, dict[str, Any]]] = [
        ("/post/list", {"type_": "All", "sort": "Hot", "limit": 20}),
        ("/post/list", {"community_id": community_id, "sort": "Hot", "page": 2, "limit": 5}),
        ("/post", {"id": post_id}),
        ("/comment/list", {"post_id": post_id, "max_depth": 8, "sort": "Hot", "type_": "All"}),
        ("/comment/list", {"post_id": post_id, "sort": "New", "type_": "All", "limit": 5, "page": 2}),
        ("/user", {"person_id": user.person_id, "sort": "New", "limit": 20}),
        ("/community/list", {"type_": "All", "sort": "Hot", "limit": 20}),
        ("/search", {"q": "comment", "type_": "All", "sort": "TopAll", "limit": 20}),
    ]
    for path, params in reads:
        async with count_queries() as statements:
            await user.ok_get(path, **params)
        bound = [sql for sql in statements if _BOUND_PAGE.search(sql)]
        assert not bound, (path, bound)


@contextlib.contextmanager
def transaction_control(db: Database) -> Iterator[list[str]]:
    """The BEGIN, COMMIT and ROLLBACK that asyncpg sends on the connections checked out while the block runs
    (each its own round trip, and unseen by count_queries; asyncpg's query loggers see these simple queries, not
    the prepared statements). asyncpg reports each one a loop turn later: yield once before reading."""
    sent: list[str] = []
    watched: dict[int, Any] = {}

    def log(record: Any) -> None:
        # Each statement of a simple query: a write's end sends its kept writes and its COMMIT together.
        for statement in record.query.split(";"):
            command = statement.split()[0] if statement.split() else ""
            if command in ("BEGIN", "COMMIT", "ROLLBACK"):  # not a block's SET and RESET (db.engine.setting)
                sent.append(command)

    def attach(_dbapi: Any, record: Any, _proxy: Any) -> None:
        connection = record.driver_connection
        if id(connection) not in watched:  # once per connection, however often it is checked out
            watched[id(connection)] = connection
            connection.add_query_logger(log)

    pool = db.engine.sync_engine.pool
    event.listen(pool, "checkout", attach)
    try:
        yield sent
    finally:
        event.remove(pool, "checkout", attach)
        for connection in watched.values():
            connection.remove_query_logger(log)


@pytest.mark.skipif(backend() != "postgres", reason="asyncpg's round trips (SQLite's BEGIN is a function call)")
async def test_reads_send_no_begin_or_rollback_on_postgresql(app: Any, user: Api, anon: Api) -> None:
    """A read is one round trip per statement: at READ COMMITTED a transaction around reads kept no snapshot
    between them, and cost a BEGIN and a ROLLBACK (two of the front page's three round trips)."""
    _, post_id = await _fill(user)
    db: Database = app.state.moot.db
    reads = [
        (anon, "/post/list", {"type_": "All", "sort": "Hot", "limit": 20}),
        (user, "/post/list", {"type_": "All", "sort": "Hot", "limit": 20}),
        (anon, "/post", {"id": post_id}),
        (user, "/comment/list", {"post_id": post_id, "max_depth": 8, "sort": "Hot"}),
        (user, "/user", {"person_id": user.person_id, "sort": "New", "limit": 20}),
        (anon, "/site", {}),
    ]
    for api, path, params in reads:
        # The app's background jobs (a link preview of _fill's posts, the rank job) share the database object and
        # may write during a read: a read passes when one of three tries sees no transaction control, which a
        # read that sends BEGIN itself never does.
        tries = []
        for _ in range(3):
            with transaction_control(db) as sent:
                await api.ok_get(path, **params)
            await asyncio.sleep(0)  # asyncpg's loggers run on the next turn of the loop
            tries.append(sent)
            if not sent:
                break
        assert [] in tries, (path, tries)
    # A write keeps its transaction, and the logger sees it: the check above could fail.
    with transaction_control(db) as sent:
        await user.ok_post("/post/like", {"post_id": post_id, "score": -1})
    await asyncio.sleep(0)
    assert sent == ["BEGIN", "COMMIT"], sent


async def test_a_read_session_refuses_to_write(app: Any, user: Api) -> None:
    """On PostgreSQL a read has no transaction to roll back, so a write there would stay: it is refused before
    it is sent (on SQLite a read session's change is rolled back at its end, as before)."""
    db: Database = app.state.moot.db
    if db.is_sqlite:
        pytest.skip("SQLite reads keep their transaction")
    async with db.read() as session:
        with pytest.raises(WriteInReadSession):
            await session.execute(update(Person).where(Person.id == user.person_id).values(bio="written in a read"))
    async with db.read() as session:
        person = await session.get_one(Person, user.person_id)
        person.bio = "flushed in a read"
        with pytest.raises(WriteInReadSession):
            await session.flush()
    async with db.read() as session:
        bio = await session.scalar(select(Person.bio).where(Person.id == user.person_id))
        assert bio not in ("written in a read", "flushed in a read")


@pytest.mark.skipif(backend() != "postgres", reason="PostgreSQL's settings")
async def test_a_setting_holds_inside_its_block_only_in_a_read(app: Any) -> None:
    """A read has no transaction, where SET LOCAL does nothing (the search's work_mem and the subscribed page's
    index walk were silently lost that way): `setting` sets the connection's value and resets it."""
    db: Database = app.state.moot.db
    async with db.read() as session:
        before = await session.scalar(text("SHOW work_mem"))
        await session.execute(text("SET work_mem = '4MB'"))  # a server at PostgreSQL's own size: raised
        async with exact_bitmaps(session):
            assert await session.scalar(text("SHOW work_mem")) == "16MB"
            async with setting(session, "enable_bitmapscan", "off"):
                assert await session.scalar(text("SHOW enable_bitmapscan")) == "off"
        assert await session.scalar(text("SHOW enable_bitmapscan")) == "on"
        assert await session.scalar(text("SHOW work_mem")) == before  # RESET: the server's value
        await session.execute(text("SET work_mem = '64MB'"))  # a server tuned for more: kept
        async with exact_bitmaps(session):
            assert await session.scalar(text("SHOW work_mem")) == "64MB"
        assert await session.scalar(text("SHOW work_mem")) == before


def _not_exists_blocks(sql: str) -> list[str]:
    """Each `NOT (EXISTS (...))` of a statement that reads a block table, as written."""
    found = []
    start = sql.find("NOT (EXISTS (")
    while start != -1:
        depth, end = 0, start + len("NOT ")
        for end in range(start + len("NOT "), len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            if depth == 0:
                break
        part = sql[start : end + 1]
        if "_block" in part:
            found.append(part)
        start = sql.find("NOT (EXISTS (", start + 1)
    return found


async def test_logged_in_listings_of_one_thread_or_person_probe_blocks_per_row(user: Api) -> None:
    """A block filter as an anti join broke the ordered walk of a logged-in reader's tree and of a person's posts
    and comments (PostgreSQL read and sorted all 11,816 comments of a thread, and all 10,748 posts of a person:
    the person page took 1 s at full size; as anti joins the community and instance blocks made it read and sort
    all 264,000 comments of a big community's Comments tab: 6 s). In those statements each block is probed per
    row (OFFSET 0)."""
    community_id, post_id = await _fill(user)
    reads: list[tuple[str, dict[str, Any]]] = [
        ("/comment/list", {"post_id": post_id, "max_depth": 8, "sort": "Hot"}),
        ("/comment/list", {"post_id": post_id, "sort": "New", "limit": 20}),
        ("/comment/list", {"community_id": community_id, "sort": "Hot", "limit": 20}),
        ("/user", {"person_id": user.person_id, "sort": "New", "limit": 20}),
    ]
    for path, params in reads:
        async with count_queries() as statements:
            await user.ok_get(path, **params)
        filters = [
            part
            for sql in statements
            for part in _not_exists_blocks(sql)
            if any(table in part for table in ("person_block", "community_block", "instance_block"))
        ]
        assert {
            table
            for table in ("person_block", "community_block", "instance_block")
            for part in filters
            if table in part
        } == {"person_block", "community_block", "instance_block"}, (path, statements)
        unfenced = [part for part in filters if "OFFSET" not in part]
        assert not unfenced, (path, unfenced)
