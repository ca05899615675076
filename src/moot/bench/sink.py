"""Where seeded rows go: PostgreSQL through asyncpg COPY, SQLite through executemany in big transactions.

Both drop the secondary indexes of the bulk tables before loading and build them again afterwards (one sorted
build is far cheaper than millions of random inserts); indexes that a foreign key relies on stay."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Table

from moot.bench.progress import step
from moot.db.base import UTCDateTime

Row = tuple[Any, ...]
# Tables the seed fills by the million; their indexes are rebuilt after loading.
BULK_TABLES = ("person", "community", "community_follower", "post", "comment", "post_actions", "comment_actions")
SERIAL_TABLES = ("instance", "person", "local_user", "community", "post", "comment")
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # what SQLAlchemy writes for a DateTime on SQLite


def complete_columns(table: Table, columns: Sequence[str]) -> tuple[list[str], Row]:
    """The columns the rows leave out that must not be NULL, with their (scalar) defaults: COPY and raw
    executemany do not apply the model's Python-side defaults, so the sink appends them to every row."""
    extra_names: list[str] = []
    extra_values: list[Any] = []
    for column in table.columns:
        if column.name in columns or column.nullable:
            continue
        default = column.default
        if default is None or not getattr(default, "is_scalar", False):
            raise ValueError(f"{table.name}.{column.name} has no scalar default; the seed must give it")
        extra_names.append(column.name)
        extra_values.append(getattr(default, "arg", None))
    return [*columns, *extra_names], tuple(extra_values)


class Sink(ABC):
    def __init__(self) -> None:
        self._completed: dict[tuple[str, tuple[str, ...]], tuple[list[str], Row]] = {}

    def _complete(self, table: Table, columns: Sequence[str]) -> tuple[list[str], Row]:
        key = (table.name, tuple(columns))
        if key not in self._completed:
            self._completed[key] = complete_columns(table, columns)
        return self._completed[key]

    async def copy_stream(self, table: Table, columns: Sequence[str], rows: Iterable[Row], chunk: int = 50_000) -> int:
        """Copy an iterable of rows in chunks; returns how many."""
        batch: list[Row] = []
        total = 0
        for row in rows:
            batch.append(row)
            if len(batch) >= chunk:
                await self.copy(table, columns, batch)
                total += len(batch)
                batch = []
        if batch:
            await self.copy(table, columns, batch)
            total += len(batch)
        return total

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def copy(self, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None: ...

    @abstractmethod
    async def set_counts(self, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
        """Rows are (id, *values): set those integer columns of the rows with those ids."""

    @abstractmethod
    async def drop_indexes(self) -> None: ...

    @abstractmethod
    async def restore_indexes(self) -> None: ...

    @abstractmethod
    async def finish(self) -> None:
        """Sequences past the seeded ids, fresh planner statistics."""


def _timed(label: str, started: float) -> None:
    step(f"{label} ({time.monotonic() - started:.1f}s)")


class PostgresSink(Sink):
    def __init__(self, dsn: str, parallel: int = 1) -> None:
        super().__init__()
        self.dsn = dsn
        self.parallel = max(1, parallel)
        self._conn: asyncpg.Connection | None = None
        self._dropped: list[tuple[str, str, str | None, str]] = []
        self.foreign_keys_checked = True

    @property
    def conn(self) -> asyncpg.Connection:
        if self._conn is None:
            raise RuntimeError("sink is not open")
        return self._conn

    async def open(self) -> None:
        self._conn = await asyncpg.connect(self.dsn)
        await self.conn.execute("SET synchronous_commit = off")
        await self.conn.execute("SET maintenance_work_mem = '512MB'")
        try:
            # The seed writes consistent rows in dependency order; skipping the per-row foreign-key triggers
            # roughly halves the load time. Needs a superuser; without one the checks simply stay on.
            await self.conn.execute("SET session_replication_role = replica")
            self.foreign_keys_checked = False
        except asyncpg.PostgresError:
            self.foreign_keys_checked = True

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def copy(self, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if not rows:
            return
        names, tail = self._complete(table, columns)
        records = [row + tail for row in rows] if tail else rows
        await self.conn.copy_records_to_table(table.name, records=records, columns=names)

    async def set_counts(self, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
        temp = f"bench_counts_{table.name}"
        await self.conn.execute(f"CREATE TEMP TABLE {temp} (id integer, {', '.join(f'{c} integer' for c in columns)})")
        await self.conn.copy_records_to_table(temp, records=rows, columns=["id", *columns])
        assignments = ", ".join(f"{c} = s.{c}" for c in columns)
        await self.conn.execute(f"UPDATE {table.name} t SET {assignments} FROM {temp} s WHERE t.id = s.id")  # noqa: S608
        await self.conn.execute(f"DROP TABLE {temp}")

    async def drop_indexes(self) -> None:
        rows = await self.conn.fetch(
            """
            SELECT c.relname AS table_name, i.relname AS index_name, pg_get_indexdef(i.oid) AS index_def,
                   con.conname AS constraint_name, pg_get_constraintdef(con.oid) AS constraint_def
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class c ON c.oid = x.indrelid
            LEFT JOIN pg_constraint con ON con.conindid = i.oid AND con.contype IN ('p', 'u')
            WHERE c.relname = ANY($1::text[]) AND c.relnamespace = 'public'::regnamespace
              AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.oid)
            ORDER BY c.relname, i.relname
            """,
            list(BULK_TABLES),
        )
        for row in rows:
            if row["constraint_name"] is not None:
                await self.conn.execute(f'ALTER TABLE {row["table_name"]} DROP CONSTRAINT "{row["constraint_name"]}"')
                self._dropped.append((row["table_name"], row["constraint_name"], row["constraint_def"], ""))
            else:
                await self.conn.execute(f'DROP INDEX "{row["index_name"]}"')
                self._dropped.append((row["table_name"], row["index_name"], None, row["index_def"]))
        step(f"dropped {len(self._dropped)} indexes of the bulk tables for the load")

    async def restore_indexes(self) -> None:
        # Keys first, one by one; then the plain and GIN indexes on `parallel` connections at once (a GIN build
        # uses one core, so on two cores the B-trees are built beside the comment search index).
        keys = [d for d in self._dropped if d[2] is not None]
        plain = [d for d in self._dropped if d[2] is None]
        for table, name, constraint_def, _ in keys:
            started = time.monotonic()
            await self.conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {constraint_def}')
            _timed(f"built {name}", started)
        # The GIN indexes are the slowest: start them first.
        todo = sorted(plain, key=lambda d: " gin " not in d[3].lower())

        async def worker(conn: asyncpg.Connection) -> None:
            while todo:
                _, name, _, index_def = todo.pop(0)
                started = time.monotonic()
                await conn.execute(index_def)
                _timed(f"built {name}", started)

        extra = [await asyncpg.connect(self.dsn) for _ in range(max(0, self.parallel - 1))]
        try:
            for conn in extra:
                await conn.execute("SET maintenance_work_mem = '512MB'")
            await asyncio.gather(worker(self.conn), *(worker(conn) for conn in extra))
        finally:
            for conn in extra:
                await conn.close()
        self._dropped = []

    async def finish(self) -> None:
        for table in SERIAL_TABLES:
            await self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
        for table in BULK_TABLES:
            started = time.monotonic()
            await self.conn.execute(f"VACUUM (ANALYZE) {table}")
            _timed(f"vacuum analyze {table}", started)
        # The other tables (accounts, moderators, the site's: written through the actions) have statistics too, as
        # autovacuum would give them (CI's PostgreSQL runs without it): with none, PostgreSQL guessed a twelfth of
        # 50,000 local users were admins and read the site's admins (every GET /site) by a parallel plan, 22 ms
        # instead of 0.03.
        rows = await self.conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        started = time.monotonic()
        for row in rows:
            if row["tablename"] not in BULK_TABLES:
                await self.conn.execute(f'ANALYZE "{row["tablename"]}"')
        _timed("analyze the other tables", started)


def _to_sqlite(value: Any) -> Any:
    return value.strftime(SQLITE_TIME) if isinstance(value, datetime) else value


class SqliteSink(Sink):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._dropped: list[str] = []
        self._time_columns: dict[str, list[int]] = {}

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("sink is not open")
        return self._conn

    async def open(self) -> None:
        self._conn = sqlite3.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=OFF", "foreign_keys=OFF", "temp_store=MEMORY"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.execute("PRAGMA cache_size=-262144")

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _rows(self, table: Table, names: list[str], tail: Row, rows: Sequence[Row]) -> list[Row]:
        if not any(isinstance(table.c[name].type, UTCDateTime) for name in names):
            return [row + tail for row in rows]
        return [tuple(_to_sqlite(v) for v in row + tail) for row in rows]

    async def copy(self, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if not rows:
            return
        names, tail = self._complete(table, columns)
        marks = ", ".join("?" for _ in names)
        conn = self.conn
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})",  # noqa: S608
            self._rows(table, names, tail, rows),
        )
        # Full-text search on SQLite lives in FTS5 tables that the actions keep; the seed keeps them too.
        if table.name == "post":
            i, n, b = names.index("id"), names.index("name"), names.index("body")
            conn.executemany(
                "INSERT INTO post_fts(rowid, name, body) VALUES (?, ?, ?)", [(r[i], r[n], r[b] or "") for r in rows]
            )
        elif table.name == "comment":
            i, c = names.index("id"), names.index("content")
            conn.executemany("INSERT INTO comment_fts(rowid, content) VALUES (?, ?)", [(r[i], r[c]) for r in rows])
        conn.execute("COMMIT")

    async def set_counts(self, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
        assignments = ", ".join(f"{c} = ?" for c in columns)
        self.conn.execute("BEGIN")
        self.conn.executemany(
            f"UPDATE {table.name} SET {assignments} WHERE id = ?",  # noqa: S608
            [(*row[1:], row[0]) for row in rows],
        )
        self.conn.execute("COMMIT")

    async def drop_indexes(self) -> None:
        marks = ", ".join("?" for _ in BULK_TABLES)
        found = self.conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",  # noqa: S608
            BULK_TABLES,
        ).fetchall()
        for name, sql in found:
            self.conn.execute(f'DROP INDEX "{name}"')
            self._dropped.append(sql)
        step(f"dropped {len(found)} indexes of the bulk tables for the load")

    async def restore_indexes(self) -> None:
        started = time.monotonic()
        for sql in self._dropped:
            self.conn.execute(sql)
        self._dropped = []
        _timed("rebuilt the indexes", started)

    async def finish(self) -> None:
        self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def open_sink(database_url: str, parallel: int = 1) -> Sink:
    """`parallel`: connections that build indexes at once (PostgreSQL)."""
    if database_url.startswith("sqlite"):
        return SqliteSink(Path(sqlite_path(database_url)))
    return PostgresSink(asyncpg_dsn(database_url), parallel)


def sqlite_path(database_url: str) -> str:
    return database_url.split(":///", 1)[1]


def asyncpg_dsn(database_url: str) -> str:
    """asyncpg takes the URL without SQLAlchemy's driver suffix."""
    scheme, rest = database_url.split("://", 1)
    return f"postgresql://{rest}" if scheme.startswith("postgresql") else database_url
