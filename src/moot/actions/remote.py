"""People and communities of other instances, as federation (and the demo import) records them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions.site import get_or_create_instance
from moot.db.base import insert_if_absent
from moot.db.community import Community
from moot.db.person import Person
from moot.domain import validation
from moot.domain.timefmt import utcnow


async def upsert_remote_person(
    session: AsyncSession, *, ap_id: str, name: str, domain: str, display_name: str | None = None
) -> Person:
    person = await session.scalar(select(Person).where(Person.ap_id == ap_id))
    now = utcnow()
    if person is None:
        validation.check_actor_name(name, 255)
        values = {
            "name": name,
            "ap_id": ap_id,
            "local": False,
            "instance_id": await get_or_create_instance(session, domain),
            "inbox_url": f"{ap_id}/inbox",
            "published": now,
        }
        # Race-free: two activities of an actor we have not seen yet may arrive together.
        await insert_if_absent(session, Person, values, key="ap_id")
        person = await session.scalar(select(Person).where(Person.ap_id == ap_id))
        assert person is not None
    if display_name is not None:
        person.display_name = display_name
    person.last_refreshed_at = now
    await session.flush()
    return person


async def upsert_remote_community(
    session: AsyncSession, *, ap_id: str, name: str, domain: str, title: str | None = None
) -> Community:
    community = await session.scalar(select(Community).where(Community.ap_id == ap_id))
    now = utcnow()
    if community is None:
        validation.check_actor_name(name, 255)
        values = {
            "name": name,
            "title": title or name,
            "ap_id": ap_id,
            "local": False,
            "instance_id": await get_or_create_instance(session, domain),
            "inbox_url": f"{ap_id}/inbox",
            "followers_url": f"{ap_id}/followers",
            "moderators_url": f"{ap_id}/moderators",
            "featured_url": f"{ap_id}/featured",
            "published": now,
        }
        await insert_if_absent(session, Community, values, key="ap_id")
        community = await session.scalar(select(Community).where(Community.ap_id == ap_id))
        assert community is not None
    elif title is not None:
        community.title = title
    community.last_refreshed_at = now
    await session.flush()
    return community
