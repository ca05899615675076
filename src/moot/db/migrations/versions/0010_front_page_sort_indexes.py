"""front page sort indexes: every site-wide sort led by featured_local, as the listing orders them

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The All and Local listings order by (featured_local, <sort key>, published, id), like ix_post_hot. The
# indexes of 0003 for the other sorts began with the sort key, so no index could give that order: every
# front page but Hot sorted all visible posts. At 1,000,000 posts the default front page (Local, Active) took
# 0.75-2.5 s for 20 posts; walking the index in order stops after a page (milliseconds). The old indexes served
# no other query (the rank job walks by id, time-window sorts by ix_post_published); they are replaced, not
# kept beside, since every vote writes the score and controversy columns of their rows.
# (name, sort column, what 0003 indexed)
INDEXES = (
    ("ix_post_active", "hot_rank_active", ["hot_rank_active", "published"]),
    ("ix_post_scaled", "scaled_rank", ["scaled_rank", "published"]),
    ("ix_post_controversy", "controversy_rank", ["controversy_rank"]),
    ("ix_post_score", "score", ["score", "published"]),
    ("ix_post_newest_comment", "newest_comment_time", ["newest_comment_time"]),
    ("ix_post_comments", "comments", ["comments"]),
)


def upgrade() -> None:
    for name, column, _old in INDEXES:
        op.drop_index(name, table_name="post")
        op.create_index(name, "post", ["featured_local", column, "published"])
    # New and Old: featured first, then the time; Old walks the time forward with featured still first, an
    # order a B-tree gives only if built in it (an index is walked one way or the other, never mixed).
    op.create_index("ix_post_featured_published", "post", ["featured_local", "published"])
    op.create_index("ix_post_featured_old", "post", [sa.text("featured_local DESC"), "published"])


def downgrade() -> None:
    op.drop_index("ix_post_featured_old", table_name="post")
    op.drop_index("ix_post_featured_published", table_name="post")
    for name, _column, old in INDEXES:
        op.drop_index(name, table_name="post")
        op.create_index(name, "post", old)
