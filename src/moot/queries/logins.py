"""A person's logins (Lemmy's /user/list_logins): one row per token still valid, newest first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.person import LoginToken


async def list_logins(session: AsyncSession, user_id: int) -> list[LoginToken]:
    rows = await session.scalars(
        select(LoginToken).where(LoginToken.user_id == user_id).order_by(LoginToken.published.desc())
    )
    return list(rows.all())
