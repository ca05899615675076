"""Every sort of the site-wide listings walks an index in the listing's own order and stops after a page.

The All and Local listings order by (featured_local, <sort key>, published, id). Until migration 0010 only Hot
had an index in that order: every other front page, the default one (Local, Active) included, sorted all
visible posts (0.75-2.5 s at 1,000,000 posts). With sorting made prohibitively expensive for the planner,
a plain Sort node can only remain where no index gives the order; an incremental sort of the id tie-break
within equal keys is fine (it reads one group at a time).

Only the sort under the page's LIMIT is held to this: the listing then reads its page's posts by id and puts
those (at most a page) back in order, and with sorting disabled the planner may dodge that small sort in odd
ways (walking some index of post and semi-joining the page), which says nothing about the listing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text

from conftest import Api, backend, make_community, make_post
from moot.domain.enums import CommentSortType, SortType
from moot.domain.ranking import TOP_WINDOWS

pytestmark = pytest.mark.skipif(backend() != "postgres", reason="PostgreSQL's planner and plan format")

WALKED_SORTS = [sort for sort in SortType if sort not in TOP_WINDOWS]


def limited_sorts(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The input of every Limit in an EXPLAIN (FORMAT JSON) plan tree."""
    children = node.get("Plans", [])
    if node["Node Type"] == "Limit":
        yield from (child for child in children if child.get("Parent Relationship") == "Outer")
    for child in children:
        yield from limited_sorts(child)


def walks_in_order(plan: dict[str, Any]) -> bool:
    """Every LIMIT reads rows given in order by an index, but for the last key (the id tie-break)."""
    limited = list(limited_sorts(plan))
    if not limited:
        return False
    for below in limited:
        if below["Node Type"] == "Sort":
            return False
        if below["Node Type"] == "Incremental Sort" and len(below["Presorted Key"]) < len(below["Sort Key"]) - 1:
            return False
    return True


async def unwalked_sorts(
    app: Any, reader: Api, path: str, listed: str, sorts: list[str], listing: str, tables: str, **query: Any
) -> dict[str, str]:
    """Each sort of a listing whose statement under a LIMIT does not walk an index in order, with its plan. The
    statements are those `listing(statement)` picks among the request's; sorting and sequential scans are made
    prohibitively expensive for the planner, so a Sort left under the LIMIT means no index gives the order."""
    db = app.state.moot.db
    captured: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if listing in statement and "LIMIT" in statement:
            captured.append((statement, parameters))

    unwalked = {}
    for sort in sorts:
        captured.clear()
        event.listen(db.engine.sync_engine, "before_cursor_execute", record)
        try:
            page = await reader.ok_get(path, sort=sort, **query)
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", record)
        assert page[listed], sort
        assert captured, sort
        async with db.engine.connect() as connection:
            # The planner's statistics as they are, not as autovacuum last happened to leave them on a database
            # the whole suite writes to (stale, it took the table for a few rows and any index for as good).
            await connection.exec_driver_sql(f"ANALYZE {tables}")
            await connection.exec_driver_sql("SET LOCAL enable_sort = off")
            await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            for statement, parameters in captured:
                explained = await connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
                if not walks_in_order(explained.scalar_one()[0]["Plan"]):
                    plan = await connection.exec_driver_sql("EXPLAIN " + statement, parameters)
                    unwalked[sort] = "\n".join(row[0] for row in plan)
    return unwalked


def _shown(unwalked: dict[str, str]) -> str:
    return "\n\n".join(f"{sort}:\n{plan}" for sort, plan in unwalked.items())


@pytest.mark.parametrize("listing", ["All", "Local"])
async def test_every_site_wide_sort_walks_an_index(app: Any, user: Api, anon: Api, listing: str) -> None:
    community = await make_community(user)
    for _ in range(3):
        await make_post(user, community["id"])
    sorts = [sort.value for sort in WALKED_SORTS]
    unwalked = await unwalked_sorts(
        app, anon, "/post/list", "posts", sorts, "ORDER BY post.featured_local", "post, community, person",
        type_=listing, limit=20,
    )  # fmt: skip
    assert not unwalked, _shown(unwalked)


# MostComments and Controversial order communities by their comment count, left unindexed (migration 0013):
# every comment moves it.
COMMUNITY_UNWALKED = {SortType.MOST_COMMENTS, SortType.CONTROVERSIAL}


@pytest.mark.parametrize("viewer", ["anonymous", "logged in"])
async def test_every_community_list_sort_walks_an_index(app: Any, user: Api, anon: Api, viewer: str) -> None:
    """`GET /community/list` read every community and sorted them (9-14 ms at 10,000) before migration 0013."""
    for _ in range(2):
        await make_community(user)
    reader = anon if viewer == "anonymous" else user
    sorts = [sort.value for sort in SortType if sort not in COMMUNITY_UNWALKED]
    unwalked = await unwalked_sorts(
        app, reader, "/community/list", "communities", sorts, "ORDER BY community.", "community",
        type_="All", limit=20,
    )  # fmt: skip
    assert not unwalked, _shown(unwalked)


@pytest.mark.parametrize("viewer", ["anonymous", "logged in"])
async def test_every_site_wide_comment_sort_walks_an_index(app: Any, user: Api, anon: Api, viewer: str) -> None:
    """`GET /comment/list` without a post (lemmy-ui's Comments view of the front page) sorted every visible
    comment before migration 0014: many seconds at 10,000,000 comments, for any anonymous request."""
    community = await make_community(user)
    post = await make_post(user, community["id"])
    for n in range(3):
        await user.ok_post("/comment", {"post_id": post["id"], "content": f"a comment {n}"})
    reader = anon if viewer == "anonymous" else user
    sorts = [sort.value for sort in CommentSortType]
    unwalked = await unwalked_sorts(
        app, reader, "/comment/list", "comments", sorts, "ORDER BY comment.", "comment, post, community, person",
        type_="All", limit=20,
    )  # fmt: skip
    assert not unwalked, _shown(unwalked)


async def test_generic_plans_hold_for_their_read_only(app: Any) -> None:
    """`Database.read(generic_plans=True)` plans its statements generically; the connection keeps that mode
    only until a read or write that did not ask for it takes the connection (then the server's own again)."""
    db = app.state.moot.db
    modes = []
    for generic, kind in ((True, "read"), (False, "read"), (True, "read"), (False, "write")):
        session_of = db.read(generic_plans=generic) if kind == "read" else db.write()
        async with session_of as session:
            modes.append((await session.execute(text("SHOW plan_cache_mode"))).scalar_one())
    assert modes == ["force_generic_plan", "auto", "force_generic_plan", "auto"]


async def test_a_logged_in_community_page_plans_generically_but_for_the_top_windows(app: Any, user: Api) -> None:
    """The plan mode a request leaves on its connection (the pool hands the last one back first): generic for a
    logged-in community page, but custom for the Top time windows, whose bound start time a generic plan cannot
    see (it walked the community's score index through every post)."""
    community = await make_community(user)
    await make_post(user, community["id"])
    db = app.state.moot.db

    async def mode_after(sort: str) -> str:
        # The pool is LIFO and the tests' app runs no task of its own (no delivery, no jobs: conftest.settings_for),
        # so the look takes the connection the request left.
        await user.ok_get("/post/list", community_id=community["id"], sort=sort, limit=20)
        async with db.read(generic_plans=None) as session:
            return str((await session.execute(text("SHOW plan_cache_mode"))).scalar_one())

    expected = {"Hot": "force_generic_plan", "TopDay": "auto", "New": "force_generic_plan", "TopWeek": "auto"}
    assert {sort: await mode_after(sort) for sort in expected} == expected
