"""The cached remote halves of joined threads (`remote_thread`), by post."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.link_group import RemoteThread


async def cached_threads(session: AsyncSession, post_ids: list[int]) -> dict[int, RemoteThread]:
    if not post_ids:
        return {}
    rows = await session.scalars(select(RemoteThread).where(RemoteThread.post_id.in_(post_ids)))
    return {row.post_id: row for row in rows.all()}
