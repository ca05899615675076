"""Whether a remote image URL was recorded (`remote_image`): the image proxy serves those URLs and no other."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.image import RemoteImage


async def is_recorded(session: AsyncSession, link: str) -> bool:
    return await session.scalar(select(RemoteImage.id).where(RemoteImage.link == link)) is not None
