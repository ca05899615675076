"""Active-user counts (day, week, month, half year) per community and for the site."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Subquery, bindparam, func, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.base import table_of
from moot.db.comment import Comment
from moot.db.community import Community
from moot.db.engine import Database
from moot.db.person import Person
from moot.db.post import Post
from moot.db.site import LocalSite
from moot.domain.timefmt import utcnow

WINDOWS = {
    "users_active_day": timedelta(days=1),
    "users_active_week": timedelta(weeks=1),
    "users_active_month": timedelta(days=30),
    "users_active_half_year": timedelta(days=182),
}


def _activity(since: datetime) -> Subquery:
    posts = select(Post.creator_id.label("person_id"), Post.community_id.label("community_id")).where(
        Post.published > since
    )
    comments = (
        select(Comment.creator_id.label("person_id"), Post.community_id.label("community_id"))
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.published > since)
    )
    return union_all(posts, comments).subquery("activity")


async def _refresh(session: AsyncSession, now: datetime) -> None:
    per_community: dict[int, dict[str, int]] = {}
    site_counts: dict[str, int] = {}
    for column, window in WINDOWS.items():
        activity = _activity(now - window)
        rows = await session.execute(
            select(activity.c.community_id, func.count(activity.c.person_id.distinct())).group_by(
                activity.c.community_id
            )
        )
        for community_id, count in rows.all():
            per_community.setdefault(community_id, {})[column] = count
        site_counts[column] = int(
            await session.scalar(
                select(func.count(activity.c.person_id.distinct()))
                .join(Person, Person.id == activity.c.person_id)
                .where(Person.local.is_(True))
            )
            or 0
        )
    await session.execute(update(Community).values({c: 0 for c in WINDOWS}))
    if per_community:
        await session.execute(
            update(table_of(Community))
            .where(table_of(Community).c.id == bindparam("cid"))
            .values({c: bindparam(c) for c in WINDOWS}),
            [{"cid": cid, **{c: counts.get(c, 0) for c in WINDOWS}} for cid, counts in per_community.items()],
        )
    await session.execute(update(LocalSite).values(site_counts))


async def refresh_active_users(db: Database, now: datetime | None = None) -> None:
    async with db.write() as session:
        await _refresh(session, now or utcnow())
