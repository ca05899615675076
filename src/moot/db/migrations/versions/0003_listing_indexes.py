"""Indexes in the order the hot paths read: the comment tree, a person's posts, votes by comment, admins

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The tree fetch orders by depth, distinguished, hot rank, score, id: an index in that order lets the
    # database stop after 300 rows instead of sorting every top-level comment of a big thread (bench: 30.8 -> 8.1 ms).
    op.drop_index("ix_comment_tree_hot", table_name="comment")
    op.create_index(
        "ix_comment_tree_hot",
        "comment",
        ["post_id", "depth", sa.text("distinguished DESC"), sa.text("hot_rank DESC"), sa.text("score DESC"), "id"],
    )
    # A profile lists a person's posts featured-first, newest first (bench: 8.6 -> 1.0 ms).
    op.drop_index("ix_post_creator", table_name="post")
    op.create_index("ix_post_creator", "post", ["creator_id", "featured_local", "published"])
    op.create_index("ix_comment_actions_comment", "comment_actions", ["comment_id"])
    # "Is the creator an admin?" is asked for every row of every listing.
    op.create_index(
        "ix_local_user_admin",
        "local_user",
        ["person_id"],
        postgresql_where=sa.text("admin"),
        sqlite_where=sa.text("admin"),
    )


def downgrade() -> None:
    op.drop_index("ix_local_user_admin", table_name="local_user")
    op.drop_index("ix_comment_actions_comment", table_name="comment_actions")
    op.drop_index("ix_post_creator", table_name="post")
    op.create_index("ix_post_creator", "post", ["creator_id", "published"])
    op.drop_index("ix_comment_tree_hot", table_name="comment")
    op.create_index("ix_comment_tree_hot", "comment", ["post_id", "depth", "hot_rank"])
