"""CommunityView, lookups by id or `name@host`, listings, and moderator lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, false, func, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.community import Community, CommunityBlock, CommunityFollower, CommunityModerator
from moot.db.fast_read import FastRead
from moot.db.instance import Instance
from moot.db.person import Person
from moot.db.site import Site
from moot.domain.enums import ListingType, SortType, SubscribedType
from moot.domain.errors import LemmyError
from moot.queries.common import (
    escape_like,
    follow_state,
    follows_community,
    has_blocked_community,
    has_blocked_instance,
    is_banned_from,
    is_moderator,
    page_of,
    site_has_content_warning,
    subscribed_type,
)
from moot.queries.rows import CommunityRow, CreatorRow, columns_of, view_row
from moot.queries.viewer import Viewer
from moot.queries.visibility import visible_communities


@view_row
class CommunityView:
    community: Community
    subscribed: SubscribedType
    blocked: bool
    banned_from_community: bool


def _select_views(viewer: Viewer | None, me: ColumnElement[int] | None = None) -> Select[*tuple[Any, ...]]:
    """`me`: the reader's id as a bound parameter, for a statement built once (else their id, as a value)."""
    reader: ColumnElement[int] | int | None = me if me is not None else viewer.person_id if viewer else None
    blocked = has_blocked_community(reader, Community.id)
    return select(
        Community,
        follow_state(reader, Community.id).label("follow_pending"),
        blocked.label("blocked"),
        is_banned_from(Community.id, reader).label("banned"),
    )


def _to_view(row: Any) -> CommunityView:
    return CommunityView(
        community=row[0],
        subscribed=subscribed_type(row.follow_pending),
        blocked=bool(row.blocked),
        banned_from_community=bool(row.banned),
    )


def _alive() -> ColumnElement[bool]:
    return and_(Community.deleted.is_(False), Community.removed.is_(False))


async def get_community_view(
    session: AsyncSession, community_id: int, viewer: Viewer | None, *, mod_or_admin: bool = True
) -> CommunityView:
    """`mod_or_admin=False` reads as a plain member would: deleted and removed ones are not found. A community
    the viewer may not read (queries/visibility.py) is never found."""
    params = {_VIEWED.key: community_id} | ({_ME.key: viewer.person_id} if viewer is not None else {})
    row = (await session.execute(_view_statement(viewer, mod_or_admin), params)).first()
    if row is None:
        raise LemmyError("couldnt_find_community", status=404)
    return _to_view(row)


_ME = bindparam("community_reader_id", type_=Integer)
_VIEWED = bindparam("viewed_community_id", type_=Integer)
# get_community_view's statements, by (logged in, mod_or_admin): built once, the ids bound when they run (built
# for each view, a statement cost more Python than the database's work; GET /post reads one every time).
_VIEW_STATEMENTS: dict[tuple[bool, bool], Select[*tuple[Any, ...]]] = {}


def _view_statement(viewer: Viewer | None, mod_or_admin: bool) -> Select[*tuple[Any, ...]]:
    key = (viewer is not None, mod_or_admin)
    statement = _VIEW_STATEMENTS.get(key)
    if statement is None:
        me = _ME if viewer is not None else None
        statement = _select_views(viewer, me).where(Community.id == _VIEWED, visible_communities(viewer))
        if not mod_or_admin:
            statement = statement.where(_alive())
        _VIEW_STATEMENTS[key] = statement
    return statement


@dataclass(frozen=True, slots=True)
class CommunityPage:
    """A community as its own page shows it: the view, and the site it lives on when we know it."""

    view: CommunityView
    site: Site | None


async def get_community_page(session: AsyncSession, community_id: int, viewer: Viewer | None) -> CommunityPage:
    """One query; deleted and removed communities only for their mods and admins, and only communities the viewer
    may read (queries/visibility.py)."""
    me = viewer.person_id if viewer else None
    mod = is_moderator(Community.id, me) if me is not None else false()
    stmt = (
        _select_views(viewer)
        .add_columns(mod.label("is_mod"), Site)
        .outerjoin(Site, Site.instance_id == Community.instance_id)
        .where(Community.id == community_id, visible_communities(viewer))
        .order_by(Site.id)
        .limit(1)
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        raise LemmyError("couldnt_find_community", status=404)
    view = _to_view(row)
    privileged = bool(row.is_mod) or (viewer is not None and viewer.is_admin)
    if (view.community.deleted or view.community.removed) and not privileged:
        raise LemmyError("couldnt_find_community", status=404)
    site: Site | None = row._mapping[Site]
    return CommunityPage(view=view, site=site)


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


_COMMUNITY_COLUMNS = columns_of(CommunityRow, Community)
_AT_MODERATOR = len(_COMMUNITY_COLUMNS)
# A community and one of its moderators per row, as plain rows (`_moderator_rows`): what `moderators` and
# `moderated_by` narrow.
_MODERATOR_ROWS = (
    select(*_COMMUNITY_COLUMNS, *columns_of(CreatorRow, Person))
    .join(CommunityModerator, CommunityModerator.community_id == Community.id)
    .join(Person, Person.id == CommunityModerator.person_id)
)


def _moderator_rows(rows: Sequence[Sequence[Any]]) -> list[tuple[CommunityRow, CreatorRow]]:
    return [(CommunityRow(*row[:_AT_MODERATOR]), CreatorRow(*row[_AT_MODERATOR:])) for row in rows]


_BLOCKED = FastRead(
    select(
        has_blocked_community(bindparam("blocker_id", type_=Integer), bindparam("blocked_community_id", type_=Integer))
    )
)


async def blocks_community(session: AsyncSession, community_id: int, viewer: Viewer | None) -> bool:
    """Whether the reader blocked the community (nothing is read for an anonymous one): what GET /post's
    community view needs beside what the post's view holds."""
    if viewer is None:
        return False
    rows = await _BLOCKED.rows(session, {"blocker_id": viewer.person_id, "blocked_community_id": community_id})
    return bool(rows[0][0])


# Read with every GET /post, community page and thread page: compiled once (db/fast_read.py).
_MODERATORS = FastRead(
    _MODERATOR_ROWS.where(Community.id == bindparam("moderated_community_id", type_=Integer)).order_by(
        CommunityModerator.published, Person.id
    )
)


async def moderators(session: AsyncSession, community_id: int) -> list[tuple[CommunityRow, CreatorRow]]:
    """The community's moderators, first appointed first, each with the community (as Lemmy's ModeratorView)."""
    return _moderator_rows(await _MODERATORS.rows(session, {"moderated_community_id": community_id}))


# moderated_by's statement for an anonymous reader (False) and a logged-in one (True), built and compiled once:
# GET /user and every logged-in GET /site read it.
_MODERATED_BY: dict[bool, FastRead] = {}


async def moderated_by(
    session: AsyncSession, person_id: int, viewer: Viewer | None
) -> list[tuple[CommunityRow, CreatorRow]]:
    """The live communities a person moderates, those `viewer` may read (queries/visibility.py)."""
    read = _MODERATED_BY.get(viewer is not None)
    if read is None:
        read = _MODERATED_BY[viewer is not None] = FastRead(
            _MODERATOR_ROWS.where(
                Person.id == bindparam("moderator_id", type_=Integer),
                Community.deleted.is_(False),
                Community.removed.is_(False),
                visible_communities(viewer),  # whether there is a reader, not who it is
            ).order_by(CommunityModerator.published, Community.id)
        )
    return _moderator_rows(await read.rows(session, {"moderator_id": person_id}))


_COMMUNITY_SORTS: dict[SortType, Any] = {
    SortType.NEW: Community.published.desc(),
    SortType.OLD: Community.published.asc(),
    SortType.MOST_COMMENTS: Community.comments.desc(),
    SortType.CONTROVERSIAL: Community.comments.desc(),
    SortType.NEW_COMMENTS: Community.users_active_day.desc(),
    SortType.TOP_DAY: Community.users_active_day.desc(),
    SortType.TOP_TWELVE_HOUR: Community.users_active_day.desc(),
    SortType.TOP_SIX_HOUR: Community.users_active_day.desc(),
    SortType.TOP_HOUR: Community.users_active_day.desc(),
    SortType.TOP_WEEK: Community.users_active_week.desc(),
    SortType.TOP_MONTH: Community.users_active_month.desc(),
    SortType.TOP_THREE_MONTHS: Community.users_active_half_year.desc(),
    SortType.TOP_SIX_MONTHS: Community.users_active_half_year.desc(),
    SortType.TOP_NINE_MONTHS: Community.subscribers.desc(),
    SortType.TOP_YEAR: Community.subscribers.desc(),
    SortType.TOP_ALL: Community.subscribers.desc(),
}


def community_order(sort: SortType) -> Any:
    """Lemmy's mapping of post sorts onto communities; Hot, Active and Scaled (and the rest) use hot_rank."""
    return _COMMUNITY_SORTS.get(sort, Community.hot_rank.desc())


def fuzzy_pattern(text: str) -> str:
    """A LIKE pattern as Lemmy builds it: the text literal, anywhere, with spaces matching any run."""
    return f"%{escape_like(text).replace(' ', '%')}%"


def _nsfw_filter(viewer: Viewer | None, asked: bool | None) -> ColumnElement[bool]:
    """Lemmy ORs the request flag with the account setting, or (anonymously) with the site's content warning."""
    if asked or (viewer is not None and viewer.local_user.show_nsfw):
        return true()
    safe = Community.nsfw.is_(False)
    if asked is None or viewer is None:
        return or_(safe, site_has_content_warning())
    return safe


async def list_communities(
    session: AsyncSession,
    viewer: Viewer | None,
    listing_type: ListingType = ListingType.ALL,
    sort: SortType = SortType.HOT,
    show_nsfw: bool | None = None,
    page: int | None = None,
    limit: int | None = None,
    search: str | None = None,
) -> list[CommunityView]:
    """Admins also see deleted, removed and hidden communities, as in Lemmy. ModeratorView lists like All:
    Lemmy 0.19 narrows it for posts and comments, not here."""
    paging = page_of(page, limit)
    me = viewer.person_id if viewer else None
    stmt = _select_views(viewer).where(visible_communities(viewer))
    if not (viewer and viewer.is_admin):
        stmt = stmt.where(_alive(), or_(Community.hidden.is_(False), follow_state(me, Community.id).is_not(None)))
    if listing_type == ListingType.LOCAL:
        stmt = stmt.where(Community.local.is_(True))
    elif listing_type == ListingType.SUBSCRIBED:
        if me is None:
            return []
        stmt = stmt.where(follows_community(me, Community.id))
    stmt = stmt.where(_nsfw_filter(viewer, show_nsfw))
    if search:
        pattern = fuzzy_pattern(search)
        stmt = stmt.where(or_(Community.name.ilike(pattern, escape="\\"), Community.title.ilike(pattern, escape="\\")))
    if me is not None:
        stmt = stmt.where(
            not_(has_blocked_community(me, Community.id)),
            not_(has_blocked_instance(me, Community.instance_id)),
        )
    stmt = paging.of(stmt.order_by(community_order(sort), Community.id.desc()))
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
