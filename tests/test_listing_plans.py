"""Every sort of the site-wide listings walks an index in the listing's own order and stops after a page.

The All and Local listings order by (featured_local, <sort key>, published, id). Until migration 0010 only Hot
had an index in that order: every other front page, the default one (Local, Active) included, sorted all
visible posts (0.75-2.5 s at 1,000,000 posts). With sorting made prohibitively expensive for the planner,
a plain Sort node can only remain where no index gives the order; an incremental sort of the id tie-break
within equal keys is fine (it reads one group at a time)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from conftest import Api, backend, make_community, make_post
from moot.domain.enums import SortType
from moot.domain.ranking import TOP_WINDOWS

pytestmark = pytest.mark.skipif(backend() != "postgres", reason="PostgreSQL's planner and plan format")

WALKED_SORTS = [sort for sort in SortType if sort not in TOP_WINDOWS]


def walks_in_order(plan: str) -> bool:
    """Every sort in the plan is given all its keys but the last (the id tie-break) by the index below it."""
    lines = [line.strip() for line in plan.splitlines()]
    for at, line in enumerate(lines):
        if not line.startswith("Sort Key:"):
            continue
        keys = line.removeprefix("Sort Key:").split(",")
        presorted = lines[at + 1] if at + 1 < len(lines) else ""
        if not presorted.startswith("Presorted Key:"):
            return False
        if len(presorted.removeprefix("Presorted Key:").split(",")) < len(keys) - 1:
            return False
    return True


@pytest.mark.parametrize("listing", ["All", "Local"])
async def test_every_site_wide_sort_walks_an_index(app: Any, user: Api, anon: Api, listing: str) -> None:
    community = await make_community(user)
    for _ in range(3):
        await make_post(user, community["id"])
    db = app.state.moot.db
    captured: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if "ORDER BY post.featured_local" in statement and "LIMIT" in statement:
            captured.append((statement, parameters))

    unwalked = {}
    for sort in WALKED_SORTS:
        captured.clear()
        event.listen(db.engine.sync_engine, "before_cursor_execute", record)
        try:
            page = await anon.ok_get("/post/list", type_=listing, sort=sort.value, limit=20)
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", record)
        assert page["posts"], sort
        assert captured, sort
        async with db.engine.connect() as connection:
            await connection.exec_driver_sql("SET LOCAL enable_sort = off")
            await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            for statement, parameters in captured:
                plan = "\n".join(row[0] for row in await connection.exec_driver_sql("EXPLAIN " + statement, parameters))
                if not walks_in_order(plan):
                    unwalked[sort.value] = plan
    assert not unwalked, "\n\n".join(f"{sort}:\n{plan}" for sort, plan in unwalked.items())
