"""community list sort indexes: the communities page walks an index in its sort's order

`GET /community/list` ordered every community by its sort key (with `id` after it) and kept a page: a sequential
scan of the whole table, which is wide (descriptions, keys), and a sort. At 10,000 communities that was 9-14 ms for
20 of them. Each index below is the order of one or more of the listing's sorts (queries/communities.py
`_COMMUNITY_SORTS`), `id` last as the listing breaks ties; Old walks `published` forward and sorts the ties by id
(an incremental sort). The comment count (MostComments, Controversial) stays unindexed: every comment moves it,
and an index on it would make each of those updates touch every index of the row.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_community_hot", "hot_rank"),
    ("ix_community_published", "published"),
    ("ix_community_subscribers", "subscribers"),
    ("ix_community_active_day", "users_active_day"),
    ("ix_community_active_week", "users_active_week"),
    ("ix_community_active_month", "users_active_month"),
    ("ix_community_active_half_year", "users_active_half_year"),
)


def upgrade() -> None:
    for name, column in INDEXES:
        op.create_index(name, "community", [column, "id"])


def downgrade() -> None:
    for name, _column in INDEXES:
        op.drop_index(name, table_name="community")
