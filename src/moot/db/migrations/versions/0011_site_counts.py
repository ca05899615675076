"""site counts: the local people, posts, comments and communities, stored and kept by triggers

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column of site_counts). A row counts while it is local and not deleted (removed content still counts,
# as in Lemmy's site_aggregates).
COUNTED = (("person", "users"), ("post", "posts"), ("comment", "comments"), ("community", "communities"))


def _counted(row: str) -> str:
    return f"({row}.local AND NOT {row}.deleted)"


def _postgresql(table: str, column: str) -> list[str]:
    # A constraint trigger deferred to commit: the one row of site_counts is locked only while a transaction
    # commits, not from its insert on (every local comment would otherwise wait for the one before to commit).
    return [
        f"""CREATE FUNCTION site_counts_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE delta integer := 0;
BEGIN
    IF TG_OP <> 'INSERT' AND {_counted("OLD")} THEN delta := delta - 1; END IF;
    IF TG_OP <> 'DELETE' AND {_counted("NEW")} THEN delta := delta + 1; END IF;
    IF delta <> 0 THEN UPDATE site_counts SET {column} = {column} + delta; END IF;
    RETURN NULL;
END $$""",
        f"""CREATE CONSTRAINT TRIGGER site_counts_{table}
AFTER INSERT OR DELETE OR UPDATE OF local, deleted ON {table}
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION site_counts_{table}()""",
    ]


def _sqlite(table: str, column: str) -> list[str]:
    return [
        f"""CREATE TRIGGER site_counts_{table}_insert AFTER INSERT ON {table} WHEN {_counted("NEW")}
BEGIN UPDATE site_counts SET {column} = {column} + 1; END""",
        f"""CREATE TRIGGER site_counts_{table}_delete AFTER DELETE ON {table} WHEN {_counted("OLD")}
BEGIN UPDATE site_counts SET {column} = {column} - 1; END""",
        f"""CREATE TRIGGER site_counts_{table}_update AFTER UPDATE OF local, deleted ON {table}
WHEN {_counted("NEW")} <> {_counted("OLD")}
BEGIN UPDATE site_counts SET {column} = {column} + (CASE WHEN {_counted("NEW")} THEN 1 ELSE -1 END); END""",
    ]


def upgrade() -> None:
    op.create_table(
        "site_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("users", sa.Integer(), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("communities", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_counts")),
    )
    counts = ", ".join(
        f"(SELECT count(*) FROM {table} WHERE {table}.local AND NOT {table}.deleted)" for table, _ in COUNTED
    )
    op.execute(f"INSERT INTO site_counts (id, users, posts, comments, communities) SELECT 1, {counts}")
    build = _postgresql if op.get_bind().dialect.name == "postgresql" else _sqlite
    for table, column in COUNTED:
        for statement in build(table, column):
            op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, _column in COUNTED:
        if postgresql:
            op.execute(f"DROP TRIGGER site_counts_{table} ON {table}")
            op.execute(f"DROP FUNCTION site_counts_{table}()")
        else:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER site_counts_{table}_{event}")
    op.drop_table("site_counts")
