"""CommunityView, lookups by id or `name@host`, listings, and moderator lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, false, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.community import Community, CommunityBlock, CommunityFollower, CommunityModerator
from moot.db.instance import Instance
from moot.db.person import Person
from moot.domain.enums import ListingType, SortType, SubscribedType
from moot.domain.errors import LemmyError
from moot.queries.common import escape_like, follow_state, is_banned_from, page_of, subscribed_type
from moot.queries.viewer import Viewer


@dataclass(frozen=True, slots=True)
class CommunityView:
    community: Community
    subscribed: SubscribedType
    blocked: bool
    banned_from_community: bool


def _select_views(viewer: Viewer | None) -> Select[*tuple[Any, ...]]:
    me = viewer.person_id if viewer else None
    blocked = (
        exists().where(CommunityBlock.person_id == me, CommunityBlock.community_id == Community.id)
        if me is not None
        else false()
    )
    return select(
        Community,
        follow_state(me, Community.id).label("follow_pending"),
        blocked.label("blocked"),
        is_banned_from(Community.id, me).label("banned"),
    )


def _to_view(row: Any) -> CommunityView:
    return CommunityView(
        community=row[0],
        subscribed=subscribed_type(row.follow_pending),
        blocked=bool(row.blocked),
        banned_from_community=bool(row.banned),
    )


async def get_community_view(session: AsyncSession, community_id: int, viewer: Viewer | None) -> CommunityView:
    row = (await session.execute(_select_views(viewer).where(Community.id == community_id))).first()
    if row is None:
        raise LemmyError("couldnt_find_community", status=404)
    return _to_view(row)


async def find_community_id(session: AsyncSession, name: str, local_domain: str) -> int:
    """`name` for a local community, `name@host` for any (the host compared case-insensitively)."""
    base, _, host = name.strip().lstrip("!").partition("@")
    stmt = select(Community.id).where(func.lower(Community.name) == base.lower())
    if not host or host.lower() == local_domain.lower():
        stmt = stmt.where(Community.local.is_(True))
    else:
        stmt = stmt.join(Instance, Instance.id == Community.instance_id).where(Instance.domain == host.lower())
    found = await session.scalar(stmt.limit(1))
    if found is None:
        raise LemmyError("couldnt_find_community", status=404)
    return found


async def moderators(session: AsyncSession, community_id: int) -> list[tuple[Community, Person]]:
    rows = await session.execute(
        select(Community, Person)
        .join(CommunityModerator, CommunityModerator.community_id == Community.id)
        .join(Person, Person.id == CommunityModerator.person_id)
        .where(Community.id == community_id)
        .order_by(CommunityModerator.published, Person.id)
    )
    return [(c, p) for c, p in rows.all()]


async def moderated_by(session: AsyncSession, person_id: int) -> list[tuple[Community, Person]]:
    rows = await session.execute(
        select(Community, Person)
        .join(CommunityModerator, CommunityModerator.community_id == Community.id)
        .join(Person, Person.id == CommunityModerator.person_id)
        .where(Person.id == person_id, Community.deleted.is_(False), Community.removed.is_(False))
        .order_by(CommunityModerator.published, Community.id)
    )
    return [(c, p) for c, p in rows.all()]


_COMMUNITY_SORTS: dict[SortType, Any] = {
    SortType.NEW: Community.published.desc(),
    SortType.OLD: Community.published.asc(),
    SortType.MOST_COMMENTS: Community.comments.desc(),
    SortType.NEW_COMMENTS: Community.comments.desc(),
    SortType.ACTIVE: Community.users_active_week.desc(),
}


async def list_communities(
    session: AsyncSession,
    viewer: Viewer | None,
    listing_type: ListingType = ListingType.ALL,
    sort: SortType = SortType.TOP_ALL,
    show_nsfw: bool | None = None,
    page: int | None = None,
    limit: int | None = None,
    search: str | None = None,
) -> list[CommunityView]:
    paging = page_of(page, limit)
    me = viewer.person_id if viewer else None
    stmt = _select_views(viewer).where(Community.deleted.is_(False), Community.removed.is_(False))
    if listing_type == ListingType.LOCAL:
        stmt = stmt.where(Community.local.is_(True))
    elif listing_type == ListingType.SUBSCRIBED:
        if me is None:
            return []
        stmt = stmt.where(follow_state(me, Community.id).is_not(None))
    elif listing_type == ListingType.MODERATOR_VIEW:
        if me is None:
            return []
        stmt = stmt.where(
            exists().where(CommunityModerator.community_id == Community.id, CommunityModerator.person_id == me)
        )
    show = show_nsfw if show_nsfw is not None else bool(viewer and viewer.local_user.show_nsfw)
    if not show:
        stmt = stmt.where(Community.nsfw.is_(False))
    if not (viewer and viewer.is_admin):
        stmt = stmt.where(or_(Community.hidden.is_(False), follow_state(me, Community.id).is_not(None)))
    if search:
        pattern = f"%{escape_like(search)}%"
        stmt = stmt.where(or_(Community.name.ilike(pattern, escape="\\"), Community.title.ilike(pattern, escape="\\")))
    if me is not None and listing_type != ListingType.SUBSCRIBED:
        stmt = stmt.where(
            not_(exists().where(CommunityBlock.person_id == me, CommunityBlock.community_id == Community.id))
        )
    order = _COMMUNITY_SORTS.get(sort)
    if order is None:
        order = Community.hot_rank.desc() if sort in (SortType.HOT, SortType.SCALED) else Community.subscribers.desc()
    stmt = stmt.order_by(order, Community.id.desc()).offset(paging.offset).limit(paging.limit)
    return [_to_view(row) for row in (await session.execute(stmt)).all()]


async def follows(session: AsyncSession, person_id: int) -> list[Community]:
    rows = await session.scalars(
        select(Community)
        .join(CommunityFollower, CommunityFollower.community_id == Community.id)
        .where(CommunityFollower.person_id == person_id)
        .order_by(Community.name)
    )
    return list(rows.all())


async def blocked_communities(session: AsyncSession, person_id: int) -> list[Community]:
    rows = await session.scalars(
        select(Community)
        .join(CommunityBlock, CommunityBlock.community_id == Community.id)
        .where(CommunityBlock.person_id == person_id)
        .order_by(Community.name)
    )
    return list(rows.all())
