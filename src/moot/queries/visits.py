"""When a reader last opened a thread: the time its comments were last marked read (Lemmy's `read_comments`),
which the post page uses to mark the comments that are new since that visit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.post import PostActions


async def last_visit(session: AsyncSession, person_id: int, post_id: int) -> datetime | None:
    """None when the reader never opened the thread (nothing is "new" on a first visit)."""
    found: datetime | None = await session.scalar(
        select(PostActions.read_comments).where(PostActions.person_id == person_id, PostActions.post_id == post_id)
    )
    return found
