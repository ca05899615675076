"""What the admin and moderator pages show beside the site settings: the federation lists as stored, the
header's report count."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.community import CommunityPersonBan
from moot.db.federation import FederationAllowlist, FederationBlocklist
from moot.db.instance import Instance
from moot.db.person import Person
from moot.domain.timefmt import utcnow
from moot.queries.reports import report_counts
from moot.queries.viewer import Viewer


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
