"""comment list sort indexes: the site-wide comment listing walks an index in its sort's order

`GET /comment/list` without a post (the front page's Comments view in lemmy-ui, Voyager's comment feeds) ordered
every visible comment by its sort and kept a page: at 10,000,000 comments a sort of all of them, many seconds for
20 comments, from an anonymous request. Each index below is one sort's order (queries/comments.py `_sort_order`,
with the id tie-break last), walked until a page of visible comments is found. New and Old walk
ix_comment_published (an incremental sort of the ties by id). Every vote already rewrote an index entry of the
comment (ix_comment_tree_hot holds the score); these add three per vote, as Lemmy's comment_aggregates indexes do.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_comment_hot", ["hot_rank", "score", "id"]),
    ("ix_comment_top", ["score", "published", "id"]),
    ("ix_comment_controversy", ["controversy_rank", "score", "id"]),
)


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, "comment", columns)


def downgrade() -> None:
    for name, _columns in INDEXES:
        op.drop_index(name, table_name="comment")
