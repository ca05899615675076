"""SQLite under asyncio with one hand-off to the connection's thread per statement.

aiosqlite runs each sqlite3 call on the connection's own thread, and each call is a hand-off there and back (a
queue put, the thread's wake-up, the event loop's wake-up through its self-pipe): SQLAlchemy's statement made four
(open a cursor, execute, fetch the rows, close the cursor), ~110 thread switches per new comment, more CPU than
the statements themselves (measured: bench/README.md). Here a cursor is a local object, and its `execute` runs the
statement, fetches every row and closes the sqlite3 cursor in one hand-off; fetching and closing then happen
here, on what came back. SQLAlchemy buffers a statement's rows all the same (it fetches them all as it
executes), so nothing is read differently. The connection is aiosqlite's (its thread, its queue, its commit,
rollback and close); only the cursor is ours.

`dbapi()` is the module given to SQLAlchemy's aiosqlite dialect (`create_async_engine(..., module=dbapi())`).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

Description = tuple[tuple[Any, ...], ...] | None


def _run(
    connection: sqlite3.Connection, sql: str, parameters: Any, many: bool
) -> tuple[Description, int, int | None, list[Any]]:
    """On the connection's thread: the statement, its rows, and what the cursor knew of it, the cursor closed."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, () if parameters is None else parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class Cursor:
    """What SQLAlchemy's adapter asks of an aiosqlite cursor, each statement one hand-off (`_run`)."""

    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.description: Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: deque[Any] = deque()

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def _send(self, sql: str, parameters: Any, many: bool) -> Cursor:
        self.description, self.rowcount, self.lastrowid, rows = await self._connection.run(sql, parameters, many)
        self._rows = deque(rows)
        return self

    async def execute(self, sql: str, parameters: Any = None) -> Cursor:
        return await self._send(sql, parameters, many=False)

    async def executemany(self, sql: str, parameters: Any) -> Cursor:
        return await self._send(sql, parameters, many=True)

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        count = min(len(self._rows), self.arraysize if size is None else size)
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()

    def __aiter__(self) -> Cursor:
        return self

    async def __anext__(self) -> Any:
        if not self._rows:
            raise StopAsyncIteration
        return self._rows.popleft()


class Connection(aiosqlite.Connection):
    """aiosqlite's connection, whose cursors are ours."""

    def cursor(self) -> Cursor:  # type: ignore[override]  # a local object: no hand-off to open one
        return Cursor(self)

    async def run(self, sql: str, parameters: Any, many: bool) -> tuple[Description, int, int | None, list[Any]]:
        """One statement, in one hand-off to the connection's thread (`_run`)."""
        ran: tuple[Description, int, int | None, list[Any]]
        ran = await self._execute(_run, self._conn, sql, parameters, many)  # type: ignore[no-untyped-call]
        return ran


def connect(database: str, **kwargs: Any) -> Connection:
    """As `aiosqlite.connect`: the sqlite3 connection is made on the connection's thread when it is awaited."""
    return Connection(lambda: sqlite3.connect(database, **kwargs), 64)


# What SQLAlchemy's adapter reads from the aiosqlite module: its errors, versions, `connect` and `Connection`.
_MODULE = SimpleNamespace(
    **{**{name: getattr(aiosqlite, name) for name in aiosqlite.__all__}, "connect": connect, "Connection": Connection}
)


def dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    return AsyncAdapt_aiosqlite_dbapi(_MODULE, sqlite3)  # type: ignore[arg-type]  # a module's names, as a namespace
