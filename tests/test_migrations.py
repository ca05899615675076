"""The migrations build exactly the schema the tables describe, on this engine, from an empty database."""

from __future__ import annotations

import asyncio
import importlib
import sqlite3
import warnings
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from conftest import drop_database, make_database, settings_for
from moot.db.migrate import alembic_config, upgrade
from moot.db.models import Base
from moot.db.search import is_search_object

# A migration's module name starts with a digit: imported by path.
_ids_migration = importlib.import_module("moot.db.migrations.versions.0012_sqlite_ids_never_reused")
TABLES: tuple[str, ...] = _ids_migration.TABLES
autoincrement_definition = _ids_migration.autoincrement_definition


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "include_name": lambda name, _type, _parent: not is_search_object(name)},
    )
    with warnings.catch_warnings():
        # Alembic cannot compare expression indexes (lower(name), DESC keys) on SQLite and says so; it skips
        # them on one side and lists them on the other, which is not a difference.
        warnings.simplefilter("ignore")
        differences = list(compare_metadata(context, Base.metadata))
    if connection.dialect.name != "sqlite":
        return differences
    return [
        d for d in differences if not (isinstance(d, tuple) and getattr(d[1], "name", None) in _expression_indexes())
    ]


def _expression_indexes() -> set[str]:
    return {
        str(index.name)
        for table in Base.metadata.tables.values()
        for index in table.indexes
        if any(not isinstance(e, Column) for e in index.expressions)
    }


async def _check(url: str) -> list[object]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_diff)
    finally:
        await engine.dispose()


def test_upgrade_from_empty_matches_the_tables(tmp_path: Path) -> None:
    db = make_database(tmp_path)
    try:
        settings = settings_for(db)
        upgrade(settings)
        upgrade(settings)  # a second run changes nothing
        assert asyncio.run(_check(db.url)) == []
    finally:
        drop_database(db)


def _schema_objects(path: Path, tables: tuple[str, ...]) -> list[tuple[str, str, str]]:
    with closing(sqlite3.connect(path)) as connection:
        marks = ", ".join("?" * len(tables))
        rows = connection.execute(
            f"SELECT type, name, tbl_name FROM sqlite_master WHERE tbl_name IN ({marks}) ORDER BY 1, 2", tables
        )
        return [tuple(row) for row in rows]


def _filler(declared: str) -> object:
    """A value of a column's declared SQLite type, for a row written straight into a table."""
    kind = declared.upper()
    if kind.startswith(("INTEGER", "SMALLINT", "BIGINT", "BOOLEAN")):
        return 0
    if kind.startswith(("FLOAT", "REAL", "NUMERIC")):
        return 0.5
    if kind.startswith(("DATETIME", "TIMESTAMP")):
        return "2026-12-01 00:00:00.000000"
    return "x"


def _insert(connection: sqlite3.Connection, table: str, row_id: int | None, ap_id: str) -> int | None:
    """A row written straight into a table (every column filled by its type), with this id or the next one."""
    columns = [(c[1], c[2]) for c in connection.execute(f"PRAGMA table_info({table})")]
    if row_id is None:
        columns = [(name, kind) for name, kind in columns if name != "id"]
    values = [row_id if name == "id" else ap_id if name == "ap_id" else _filler(kind) for name, kind in columns]
    names, marks = ", ".join(name for name, _ in columns), ", ".join("?" * len(columns))
    return connection.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", values).lastrowid


def test_sqlite_tables_rebuilt_with_autoincrement_keep_rows_indexes_and_triggers(tmp_path: Path) -> None:
    """Migration 0012 rebuilds post, comment and private_message on SQLite: the rows, indexes and triggers stay,
    foreign keys still hold, and an id freed by deleting the newest row is not given again."""
    db = make_database(tmp_path, "sqlite")
    path = tmp_path / "moot.sqlite3"
    tables = TABLES
    config = alembic_config(settings_for(db))
    command.upgrade(config, "0011")
    rows: dict[str, list[tuple[object, ...]]] = {}
    with closing(sqlite3.connect(path)) as connection:  # foreign keys off: rows of any id
        for table in tables:
            for row_id in (7, 9):
                _insert(connection, table, row_id, f"{table}-{row_id}")
            rows[table] = connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
        connection.commit()
        connection.execute("ANALYZE")  # the planner's statistics, which a dropped table takes with it
    before = _schema_objects(path, tables)

    command.upgrade(config, "0012")

    assert _schema_objects(path, tables) == before
    with closing(sqlite3.connect(path)) as connection:
        for table in tables:
            definition = connection.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
            assert "PRIMARY KEY AUTOINCREMENT" in definition
            assert connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall() == rows[table]
            connection.execute(f"DELETE FROM {table} WHERE id = 9")
            columns = [(c[1], c[2]) for c in connection.execute(f"PRAGMA table_info({table})") if c[1] != "id"]
            names = ", ".join(name for name, _ in columns)
            values = [f"{table}-new" if name == "ap_id" else _filler(kind) for name, kind in columns]
            cursor = connection.execute(
                f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", values
            )
            assert cursor.lastrowid == 10
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        analyzed = {row[0] for row in connection.execute("SELECT tbl FROM sqlite_stat1")}
        assert set(tables) <= analyzed  # gathered again for the rebuilt tables
        for table in tables:
            references = connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE ?", (f"%REFERENCES {table} (%",)
            ).fetchall()
            assert references, table  # other tables' foreign keys still name the rebuilt table
    upgrade(settings_for(db))  # run again: nothing to rebuild


def test_the_id_column_rewrite_refuses_a_table_it_does_not_know() -> None:
    stored = "CREATE TABLE post (\n\tid INTEGER NOT NULL, \n\tname TEXT, \n\tPRIMARY KEY (id)\n)"
    with pytest.raises(RuntimeError, match="not as Moot's migrations made it"):
        autoincrement_definition(stored, "post", "moot_rebuild_post")
