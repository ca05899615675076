"""Per-community indexes for every sort, in the order a community page reads them

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, sort column): each (community_id, featured_community, <column>, published), like ix_post_community_hot.
# A community page walks one of them in order and stops after a page; the Subscribed listing walks one per
# followed community (bench, 1M posts, 50 big communities followed: Active 3.6 s -> tens of ms).
INDEXES = (
    ("ix_post_community_active", "hot_rank_active"),
    ("ix_post_community_scaled", "scaled_rank"),
    ("ix_post_community_controversy", "controversy_rank"),
    ("ix_post_community_score", "score"),
    ("ix_post_community_comments", "comments"),
    ("ix_post_community_newest_comment", "newest_comment_time"),
)


def upgrade() -> None:
    for name, column in INDEXES:
        op.create_index(name, "post", ["community_id", "featured_community", column, "published"])


def downgrade() -> None:
    for name, _column in INDEXES:
        op.drop_index(name, table_name="post")
