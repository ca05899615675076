"""Refresh the stored hot, active and scaled ranks with Lemmy's formulas, in batches, skipping settled rows.

A rank reaches 0 a week after its timestamp and stays there, so rows already at 0 are never touched again:
each run costs in proportion to the last week's content, not to the whole history (Lemmy PR #3617)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.base import table_of
from moot.db.comment import Comment
from moot.db.community import Community
from moot.db.engine import Database
from moot.db.post import Post
from moot.domain.ranking import hot_rank, scaled_rank
from moot.domain.timefmt import utcnow

BATCH = 1000


async def _refresh_posts(session: AsyncSession, now: datetime) -> int:
    done = 0
    last_id = 0
    while True:
        rows = (
            await session.execute(
                select(
                    Post.id, Post.score, Post.published, Post.newest_comment_time_necro, Community.users_active_month
                )
                .join(Community, Community.id == Post.community_id)
                .where(Post.id > last_id, (Post.hot_rank != 0) | (Post.hot_rank_active != 0))
                .order_by(Post.id)
                .limit(BATCH)
            )
        ).all()
        if not rows:
            return done
        params = [
            {
                "pid": r.id,
                "hot": hot_rank(r.score, r.published, now),
                "active": hot_rank(r.score, r.newest_comment_time_necro, now),
                "scaled": scaled_rank(r.score, r.published, r.users_active_month, now),
            }
            for r in rows
        ]
        await session.execute(
            update(table_of(Post))
            .where(table_of(Post).c.id == bindparam("pid"))
            .values(hot_rank=bindparam("hot"), hot_rank_active=bindparam("active"), scaled_rank=bindparam("scaled")),
            params,
        )
        done += len(rows)
        last_id = rows[-1].id


async def _refresh_comments(session: AsyncSession, now: datetime) -> int:
    done = 0
    last_id = 0
    while True:
        rows = (
            await session.execute(
                select(Comment.id, Comment.score, Comment.published)
                .where(Comment.id > last_id, Comment.hot_rank != 0)
                .order_by(Comment.id)
                .limit(BATCH)
            )
        ).all()
        if not rows:
            return done
        await session.execute(
            update(table_of(Comment))
            .where(table_of(Comment).c.id == bindparam("cid"))
            .values(hot_rank=bindparam("hot")),
            [{"cid": r.id, "hot": hot_rank(r.score, r.published, now)} for r in rows],
        )
        done += len(rows)
        last_id = rows[-1].id


async def _refresh_communities(session: AsyncSession, now: datetime) -> int:
    rows = (
        await session.execute(
            select(Community.id, Community.subscribers, Community.published).where(Community.hot_rank != 0)
        )
    ).all()
    if rows:
        await session.execute(
            update(table_of(Community))
            .where(table_of(Community).c.id == bindparam("cid"))
            .values(hot_rank=bindparam("hot")),
            [{"cid": r.id, "hot": hot_rank(r.subscribers, r.published, now)} for r in rows],
        )
    return len(rows)


async def refresh_ranks(db: Database, now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    counts: dict[str, int] = {}
    async with db.write() as session:
        counts["posts"] = await _refresh_posts(session, now)
    async with db.write() as session:
        counts["comments"] = await _refresh_comments(session, now)
    async with db.write() as session:
        counts["communities"] = await _refresh_communities(session, now)
    return counts
