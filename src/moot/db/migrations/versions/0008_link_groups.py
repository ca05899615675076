"""link groups: the new link key for every post, and the cache of remote threads

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from moot.domain.linkkey import link_key

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000


def _recompute_url_match() -> None:
    """The key of a link changed (domain/linkkey.py): recompute it for every post with a URL, in batches by id
    so that a large table is never read at once (plain SQL: the same on SQLite and PostgreSQL)."""
    bind = op.get_bind()
    post = sa.table("post", sa.column("id", sa.Integer), sa.column("url", sa.Text), sa.column("url_match", sa.Text))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(post.c.id, post.c.url, post.c.url_match)
            .where(post.c.id > last, post.c.url.is_not(None))
            .order_by(post.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        keys = [(row.id, link_key(row.url), row.url_match) for row in rows]
        changed = [{"pid": pid, "key": key} for pid, key, old in keys if key != old]
        if changed:
            bind.execute(
                sa.update(post).where(post.c.id == sa.bindparam("pid")).values(url_match=sa.bindparam("key")),
                changed,
            )
        last = rows[-1].id


def upgrade() -> None:
    op.create_table(
        "remote_thread",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["post_id"], ["post.id"], name=op.f("fk_remote_thread_post_id_post"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_remote_thread")),
    )
    _recompute_url_match()


def downgrade() -> None:
    op.drop_table("remote_thread")
