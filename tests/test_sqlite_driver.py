"""SQLite under asyncio, one hand-off to the connection's thread per statement (db/sqlite_driver.py): what
SQLAlchemy reads of a statement (rows, row counts, the last row id, several rows' parameters) is what the
sqlite3 cursor said, and a statement costs one trip to the thread where aiosqlite's cursor cost four."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from conftest import backend
from moot.db import sqlite_driver
from moot.db.engine import Database

pytestmark = pytest.mark.skipif(backend() != "sqlite", reason="SQLite's driver")


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    async with db.write() as session:
        await session.execute(text("CREATE TEMP TABLE driven (id INTEGER PRIMARY KEY, name TEXT)"))
        yield session


async def _driver(session: AsyncSession) -> sqlite_driver.Connection:
    driver = (await (await session.connection()).get_raw_connection()).driver_connection
    assert isinstance(driver, sqlite_driver.Connection)
    return driver


async def test_a_statement_is_one_hand_off_to_the_thread(session: AsyncSession, monkeypatch: Any) -> None:
    driver = await _driver(session)
    trips: list[object] = []
    hand_off = driver._execute

    async def counted(function: Any, *args: Any) -> Any:
        trips.append(function)
        return await hand_off(function, *args)

    monkeypatch.setattr(driver, "_execute", counted)
    await session.execute(text("INSERT INTO driven (name) VALUES ('a'), ('b')"))
    rows = (await session.execute(text("SELECT id, name FROM driven ORDER BY id"))).all()
    assert [tuple(row) for row in rows] == [(1, "a"), (2, "b")]
    assert len(trips) == 2  # aiosqlite's cursor: open, execute, fetch, close for each


async def test_row_counts_last_ids_and_many_rows_are_the_cursors(session: AsyncSession) -> None:
    inserted = await session.execute(text("INSERT INTO driven (name) VALUES ('one')"))
    assert inserted.lastrowid == 1 and inserted.rowcount == 1
    await session.execute(text("INSERT INTO driven (name) VALUES (:name)"), [{"name": "two"}, {"name": "three"}])
    changed = await session.execute(text("UPDATE driven SET name = upper(name) WHERE id > 1"))
    assert changed.rowcount == 2
    result = await session.execute(text("SELECT name FROM driven ORDER BY id"))
    assert result.keys() == ["name"]
    assert result.fetchone() == ("one",)  # the rest still there, fetched from what the one trip brought back
    assert [row[0] for row in result.fetchall()] == ["TWO", "THREE"]
    returned = await session.execute(text("DELETE FROM driven WHERE id = 1 RETURNING name"))
    assert returned.scalar_one() == "one"


async def test_an_error_comes_back_as_the_databases(session: AsyncSession) -> None:
    with pytest.raises(Exception, match="no such table"):
        await session.execute(text("SELECT * FROM nowhere"))
