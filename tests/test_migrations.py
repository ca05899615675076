"""The migrations build exactly the schema the tables describe, on this engine, from an empty database."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from conftest import drop_database, make_database, settings_for
from moot.db.migrate import upgrade
from moot.db.models import Base
from moot.db.search import is_search_object


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
