"""SQLite never gives a purged post's, comment's or message's id to a new one (AUTOINCREMENT)

A local object's ActivityPub id is made from its row id (`/post/{id}`). Without AUTOINCREMENT, SQLite gives a new
row the largest id in the table plus one: after an admin purges the newest comment, the next comment took its id,
and so its ap_id, and other servers that had seen the purged comment took the new one for it. PostgreSQL's
sequences never go back; this migration changes nothing there.

SQLite sets AUTOINCREMENT only when a table is created, so each table is rebuilt as SQLite's documentation says
(https://www.sqlite.org/lang_altertable.html, "other kinds of table schema changes"): the new table from the stored
definition with the id column rewritten, the rows copied, the old table dropped, the new one renamed, and the
table's indexes and triggers created again from their stored SQL. Migrations run on a connection without
`PRAGMA foreign_keys` (Moot's engine turns it on; Alembic's does not), so dropping the old table deletes nothing
elsewhere; the upgrade refuses to run otherwise.

Ids purged before this migration cannot be known; from it on, none is given twice.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("post", "comment", "private_message")


def autoincrement_definition(create_table: str, table: str, new_name: str) -> str:
    """The stored CREATE TABLE of `table`, named `new_name`, with its id column `INTEGER PRIMARY KEY AUTOINCREMENT`
    (SQLite accepts AUTOINCREMENT only as a column constraint) and the table's primary key constraint gone."""
    head = re.compile(rf'^CREATE TABLE "?{table}"? \(')
    column = re.compile(r"(\n\s*)id INTEGER NOT NULL,")
    key = re.compile(rf"\n\s*CONSTRAINT pk_{table} PRIMARY KEY \(id\),")
    if not (head.search(create_table) and column.search(create_table) and key.search(create_table)):
        raise RuntimeError(f"the {table} table is not as Moot's migrations made it:\n{create_table}")
    rebuilt = head.sub(f'CREATE TABLE "{new_name}" (', create_table, count=1)
    rebuilt = column.sub(rf"\1id INTEGER NOT NULL CONSTRAINT pk_{table} PRIMARY KEY AUTOINCREMENT,", rebuilt, count=1)
    return key.sub("", rebuilt, count=1)


def _rebuild(connection: sa.Connection, table: str) -> None:
    stored = connection.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :table"), {"table": table}
    ).scalar_one()
    if "AUTOINCREMENT" in stored:
        return
    # Indexes and triggers go with the old table; those SQLite makes itself (UNIQUE constraints) have no SQL.
    dependents = (
        connection.execute(
            sa.text(
                "SELECT sql FROM sqlite_master WHERE tbl_name = :table AND type IN ('index', 'trigger') "
                "AND sql IS NOT NULL ORDER BY type, name"
            ),
            {"table": table},
        )
        .scalars()
        .all()
    )
    new_name = f"moot_rebuild_{table}"
    connection.execute(sa.text(autoincrement_definition(stored, table, new_name)))
    connection.execute(sa.text(f'INSERT INTO "{new_name}" SELECT * FROM "{table}"'))
    connection.execute(sa.text(f'DROP TABLE "{table}"'))
    connection.execute(sa.text(f'ALTER TABLE "{new_name}" RENAME TO "{table}"'))
    for statement in dependents:
        connection.execute(sa.text(statement))
    # The planner's statistics of the old table went with it: gathered again where a database keeps them.
    if connection.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
        connection.execute(sa.text(f'ANALYZE "{table}"'))


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    if connection.execute(sa.text("PRAGMA foreign_keys")).scalar_one():
        raise RuntimeError("migration 0012 rebuilds tables and must run with PRAGMA foreign_keys off")
    for table in TABLES:
        _rebuild(connection, table)


def downgrade() -> None:
    # Giving ids out again is the fault this migration mends; the tables stay as they are.
    pass
