"""Instances: the row of a host, created the first time any path meets it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.base import insert_if_absent
from moot.db.instance import Instance
from moot.domain.timefmt import utcnow


async def get_or_create_instance(session: AsyncSession, domain: str) -> int:
    domain = domain.lower()
    found = await session.scalar(select(Instance.id).where(Instance.domain == domain))
    if found is None:
        # Race-free: two first activities from a new instance may arrive together.
        await insert_if_absent(session, Instance, {"domain": domain, "published": utcnow()}, key="domain")
        found = await session.scalar(select(Instance.id).where(Instance.domain == domain))
    assert found is not None
    return found
