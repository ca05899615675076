"""name search: trigram indexes for people and communities found by a part of their name (PostgreSQL)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Search finds people and communities by `ILIKE '%part%'` on two columns each: without these indexes every
# search reads all people (64 ms of a site-wide search at 100,000 people, measured on the bench database).
# pg_trgm ships with PostgreSQL's contrib package and is a trusted extension (a database owner may create it);
# where it is missing, the search still works, only slower. Named like the other search objects
# (db/search.py), which schema comparisons leave aside: they live outside the table metadata.
_INDEXES = {
    "ix_person_trgm_name": "person USING gin (name gin_trgm_ops)",
    "ix_person_trgm_display_name": "person USING gin (display_name gin_trgm_ops)",
    "ix_community_trgm_name": "community USING gin (name gin_trgm_ops)",
    "ix_community_trgm_title": "community USING gin (title gin_trgm_ops)",
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").first()
    if available is None:
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, target in _INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in _INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
