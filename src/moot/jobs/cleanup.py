"""Drop federation bookkeeping older than a week, as Lemmy does (its activity tables once grew to 20+ GB)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete

from moot.db.engine import Database
from moot.db.federation import ReceivedActivity, SentActivity
from moot.domain.timefmt import utcnow

RETENTION = timedelta(days=7)


async def drop_old_activities(db: Database, now: datetime | None = None) -> None:
    """An instance that has been silent for longer than this misses those activities when it comes back."""
    cutoff = (now or utcnow()) - RETENTION
    async with db.write() as session:
        await session.execute(delete(SentActivity).where(SentActivity.published < cutoff))
        await session.execute(delete(ReceivedActivity).where(ReceivedActivity.published < cutoff))
