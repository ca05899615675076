"""site counts in slots: each database connection moves the counts of its own row, the site's are their sum

Every local comment, post, person or community moved the one row of site_counts (migration 0011), from its
commit's trigger to the end of the commit: with many app and worker processes writing at once, each commit
waited for the one before it to be flushed to disk (seen as `Lock:transactionid` waits on that row under 16
concurrent commenters). On PostgreSQL the counts are now kept in 64 rows: a trigger moves the row
`1 + pg_backend_pid() % 64`, so a transaction only ever locks its own connection's row (never two: no deadlock)
and two commits wait for each other only when their connections share a row. The counts read are the sums
(queries/site.py `local_counts`). Row 1 keeps the totals counted so far. SQLite has one writer at a time: it
keeps its one row.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOTS = 64
COUNTED = (("person", "users"), ("post", "posts"), ("comment", "comments"), ("community", "communities"))


def _counted(row: str) -> str:
    return f"({row}.local AND NOT {row}.deleted)"


def _function(table: str, column: str, where: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION site_counts_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE delta integer := 0;
BEGIN
    IF TG_OP <> 'INSERT' AND {_counted("OLD")} THEN delta := delta - 1; END IF;
    IF TG_OP <> 'DELETE' AND {_counted("NEW")} THEN delta := delta + 1; END IF;
    IF delta <> 0 THEN UPDATE site_counts SET {column} = {column} + delta{where}; END IF;
    RETURN NULL;
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "INSERT INTO site_counts (id, users, posts, comments, communities) "
        f"SELECT slot, 0, 0, 0, 0 FROM generate_series(2, {SLOTS}) AS slot ON CONFLICT (id) DO NOTHING"
    )
    for table, column in COUNTED:
        op.execute(_function(table, column, f" WHERE id = 1 + pg_backend_pid() % {SLOTS}"))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COUNTED:
        op.execute(_function(table, column, ""))
    totals = ", ".join(f"{column} = (SELECT sum({column}) FROM site_counts)" for _, column in COUNTED)
    op.execute(f"UPDATE site_counts SET {totals} WHERE id = 1")
    op.execute("DELETE FROM site_counts WHERE id > 1")
