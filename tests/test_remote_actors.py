"""Remote people, communities and instances are recorded once, even when several requests see them first at
the same moment (a new instance's first activities often arrive on several connections together)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from conftest import unique
from moot.actions.remote import upsert_remote_community, upsert_remote_person
from moot.db.community import Community
from moot.db.instance import Instance
from moot.db.person import Person


async def test_first_sight_of_a_new_instance_from_many_requests_at_once(app: Any) -> None:
    db = app.state.moot.db
    domain = f"{unique('new')}.example"

    async def person(index: int) -> int:
        async with db.write() as session:
            found = await upsert_remote_person(
                session, ap_id=f"https://{domain}/u/person{index % 4}", name=f"person{index % 4}", domain=domain
            )
            return found.id

    async def community(index: int) -> int:
        async with db.write() as session:
            found = await upsert_remote_community(
                session, ap_id=f"https://{domain}/c/news", name="news", domain=domain, title=f"News {index}"
            )
            return found.id

    people = await asyncio.gather(*(person(i) for i in range(12)))
    communities = await asyncio.gather(*(community(i) for i in range(6)))

    assert len(set(people)) == 4 and len(set(communities)) == 1
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Instance).where(Instance.domain == domain)) == 1
        stored = await session.scalar(
            select(func.count()).select_from(Person).where(Person.ap_id.like(f"https://{domain}/%"))
        )
        assert stored == 4
        row = await session.scalar(select(Community).where(Community.ap_id == f"https://{domain}/c/news"))
        assert row is not None and row.local is False and row.inbox_url == f"https://{domain}/c/news/inbox"
