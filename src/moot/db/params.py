"""Bound values PostgreSQL should see as constants: a page's LIMIT and OFFSET."""

from __future__ import annotations

from sqlalchemy import BindParameter, Integer, bindparam


def literal_param(key: str) -> BindParameter[int]:
    """A LIMIT or OFFSET bound by name but written into the SQL when the statement runs (`literal_execute`).

    asyncpg prepares every statement (once per connection), and PostgreSQL plans a prepared statement afresh on
    each execution until a generic plan is estimated no dearer than the custom ones. With `LIMIT $n` the generic
    plan cannot know a page is 20 rows (it costs a tenth of the table), so that never happens: the front page's
    statement spent 1.5 of its 2.4 ms planning at 1M posts. As `LIMIT 20` the generic plan is the custom one, and
    from the sixth execution on PostgreSQL runs it unplanned: 0.97 ms. Each distinct value is its own statement
    (its own SQL text), and pages come in a few sizes."""
    return bindparam(key, type_=Integer, literal_execute=True)


def literal_int(value: int) -> BindParameter[int]:
    """`literal_param` for a value known where the statement is built (`.limit(literal_int(300))`)."""
    return bindparam(None, value, type_=Integer, literal_execute=True)
