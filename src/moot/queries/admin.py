"""What the admin and moderator pages show beside the site settings: the federation lists as stored, the
header's report count."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.community import CommunityPersonBan
from moot.db.federation import FederationAllowlist, FederationBlocklist, FederationQueueState
from moot.db.instance import Instance
from moot.db.person import Person
from moot.db.site import Site
from moot.domain.timefmt import utcnow
from moot.queries.defaults import instance_lists
from moot.queries.reports import report_counts
from moot.queries.viewer import Viewer

KnownInstance = tuple[Instance, FederationQueueState | None]


async def federated_instances(
    session: AsyncSession,
) -> tuple[list[KnownInstance], list[KnownInstance], list[KnownInstance]]:
    """(linked, allowed, blocked) for GET /federated_instances: every instance this server knows but itself, with
    its delivery state. The lists apply by host (domain/instances.py), whatever the port: `linked` is every
    instance the lists permit (`lemmy-alpha:8541` is not linked while `lemmy-alpha` is blocked); `allowed` and
    `blocked` are the lists' own entries, as the admin saved them."""
    rows = (
        await session.execute(
            select(Instance, FederationQueueState)
            .outerjoin(FederationQueueState, FederationQueueState.instance_id == Instance.id)
            .where(Instance.id.not_in(select(Site.instance_id)))
            .order_by(Instance.domain)
        )
    ).all()
    known = [(instance, state) for instance, state in rows]
    lists = await instance_lists(session)
    allowed = set((await session.scalars(select(FederationAllowlist.instance_id))).all())
    blocked = set((await session.scalars(select(FederationBlocklist.instance_id))).all())
    return (
        [row for row in known if lists.permits(row[0].domain)],
        [row for row in known if row[0].id in allowed],
        [row for row in known if row[0].id in blocked],
    )


async def instance_list_domains(session: AsyncSession) -> tuple[list[str], list[str]]:
    """(allowed, blocked) hosts as the admin saved them (with their ports), each sorted."""
    found: list[list[str]] = []
    for table in (FederationAllowlist, FederationBlocklist):
        domains = await session.scalars(
            select(Instance.domain).join(table, table.instance_id == Instance.id).order_by(Instance.domain)
        )
        found.append(list(domains.all()))
    return found[0], found[1]


async def open_report_count(session: AsyncSession, viewer: Viewer) -> int | None:
    """For the site header: the unresolved reports an admin or moderator can act on, or None for everyone else
    (who gets no reports link, and costs no statement: `moderates_any` came with the login)."""
    if not (viewer.is_admin or viewer.moderates_any):
        return None
    counts = await report_counts(session, viewer, None)
    return counts.post_reports + counts.comment_reports


async def community_bans(session: AsyncSession, community_id: int) -> list[tuple[Person, datetime | None]]:
    """The people banned from a community now (expired bans left out), with when their ban ends; one statement."""
    rows = await session.execute(
        select(Person, CommunityPersonBan.expires)
        .join(CommunityPersonBan, CommunityPersonBan.person_id == Person.id)
        .where(
            CommunityPersonBan.community_id == community_id,
            or_(CommunityPersonBan.expires.is_(None), CommunityPersonBan.expires > utcnow()),
        )
        .order_by(Person.name, Person.id)
    )
    return [(person, expires) for person, expires in rows.all()]
