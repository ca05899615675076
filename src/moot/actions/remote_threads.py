"""Keep what a remote post's origin answered for its comments (`remote_thread`): a cache, never comments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.base import insert_if_absent
from moot.db.link_group import RemoteThread


async def store_remote_thread(
    session: AsyncSession, post_id: int, body: str | None, fetched_at: datetime, error: str | None
) -> None:
    """Record one reading of a remote thread. A failed reading (`body` None) keeps the last good body, so a
    server that is down for a while still shows what it said before, marked with the error and the time.
    Two page views may read the same thread at once: the row is made if absent, then updated."""
    first = {"post_id": post_id, "body": body or "[]", "fetched_at": fetched_at, "error": error}
    await insert_if_absent(session, RemoteThread, first, "post_id")
    values: dict[str, object] = {"fetched_at": fetched_at, "error": error}
    if body is not None:
        values["body"] = body
    await session.execute(update(RemoteThread).where(RemoteThread.post_id == post_id).values(**values))
