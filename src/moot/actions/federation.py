"""Changes that only federation makes: received-activity ids, instance liveness, a community's answer to a follow."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cache

from sqlalchemy import DateTime, String, bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions.communities import count_follower
from moot.actions.instances import get_or_create_instance
from moot.db.base import table_of
from moot.db.community import Community, CommunityFollower
from moot.db.fast_read import FastWrite
from moot.db.federation import ReceivedActivity
from moot.db.instance import Instance
from moot.db.person import Person
from moot.domain.timefmt import utcnow

ALIVE_RESOLUTION = timedelta(minutes=1)


@cache
def _record_received_statement(postgresql: bool, count: int) -> FastWrite:
    """Built once per engine kind and number of ids (an activity's own, and the announces' around it: a few),
    with bound values: written with its values, the statement was compiled anew for every activity."""
    table = table_of(ReceivedActivity)
    insert = pg_insert if postgresql else sqlite_insert
    now = bindparam("received_at", type_=DateTime(timezone=True))
    rows = [{"ap_id": bindparam(f"received_{index}", type_=String), "published": now} for index in range(count)]
    return FastWrite(
        insert(table).values(rows).on_conflict_do_nothing(index_elements=["ap_id"]).returning(table.c.ap_id)
    )


async def record_received(session: AsyncSession, ap_ids: Sequence[str]) -> bool:
    """Records the ids as received: True when none had been (a first delivery), False for a redelivery or a
    replay. The check is the INSERT itself (ON CONFLICT DO NOTHING RETURNING, one statement for all the ids):
    a delivery racing another of the same activity waits for that one's transaction, then finds the ids taken."""
    statement = _record_received_statement(session.get_bind().dialect.name == "postgresql", len(ap_ids))
    values = {f"received_{index}": ap_id for index, ap_id in enumerate(ap_ids)}
    added = await statement.rows(session, {**values, "received_at": utcnow()})
    return len(added) == len(ap_ids)


async def mark_instance_alive(session: AsyncSession, domain: str) -> None:
    """We heard from it: a dead instance gets its delivery task back. Written at most once a minute per
    instance: every activity of a busy peer would otherwise update (and lock) the same row."""
    instance = await session.get(Instance, await get_or_create_instance(session, domain))
    now = utcnow()
    if instance is not None and (instance.updated is None or now - instance.updated > ALIVE_RESOLUTION):
        instance.updated = now


async def _follow_row(session: AsyncSession, community_ap_id: str, person_ap_id: str) -> CommunityFollower | None:
    community_id = await session.scalar(select(Community.id).where(Community.ap_id == community_ap_id))
    person_id = await session.scalar(select(Person.id).where(Person.ap_id == person_ap_id, Person.local.is_(True)))
    if community_id is None or person_id is None:
        return None
    return await session.get(CommunityFollower, (community_id, person_id))


async def follow_accepted(session: AsyncSession, community_ap_id: str, person_ap_id: str) -> bool:
    """A remote community accepted one of our people's follows (matched by person and community, never by id)."""
    row = await _follow_row(session, community_ap_id, person_ap_id)
    if row is None:
        return False
    row.pending = False
    return True


async def follow_rejected(session: AsyncSession, community_ap_id: str, person_ap_id: str) -> None:
    row = await _follow_row(session, community_ap_id, person_ap_id)
    if row is not None:
        await session.execute(
            delete(CommunityFollower).where(
                CommunityFollower.community_id == row.community_id, CommunityFollower.person_id == row.person_id
            )
        )
        # The follow was counted when it was sent (subscribers_local): a refused one is uncounted.
        community = await session.get(Community, row.community_id)
        if community is not None:
            await count_follower(session, community, -1, person_local=True)
