"""Pieces every read model shares: viewer-dependent flags as correlated subqueries, keyset predicates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Exists,
    Select,
    SQLColumnExpression,
    and_,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import defer
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from moot.db.comment import Comment
from moot.db.community import Community, CommunityBlock, CommunityFollower, CommunityModerator, CommunityPersonBan
from moot.db.fast_read import Entities, FastRead, hold
from moot.db.params import literal_int
from moot.db.person import InstanceBlock, LocalUser, PersonBlock
from moot.db.site import LocalSite, Site
from moot.domain.commentpath import AFTER_SEPARATOR, SEPARATOR
from moot.domain.enums import SubscribedType
from moot.domain.errors import LemmyError

Col = SQLColumnExpression
SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])

PAGE_MAX = 100
LIMIT_MAX = 50
LIMIT_DEFAULT = 10


class NoViewerActions(ColumnElement[bool]):
    """The ON condition of an anonymous reader's join to an actions table (their votes, saves, reads): it
    matches no row. PostgreSQL is given `false` (a one-time filter: the join is never run). SQLite is given
    `person_id = -1`: with a constant `0 = 1` it scanned the whole actions table once per joined row (a
    300-comment tree took 2.6 s at 100,000 comments, the front page 65 ms; with this 6 ms and 2 ms), while
    a person id that cannot exist is one probe of the primary key, which finds nothing."""

    inherit_cache = True
    # No Boolean type: SQLite (no native booleans) would compare a boolean-typed expression with 1 again.
    _traverse_internals = [("person_id", InternalTraversal.dp_clauseelement)]

    def __init__(self, person_id: Col[Any]) -> None:
        self.person_id = person_id


@compiles(NoViewerActions)
def _no_viewer_actions(element: NoViewerActions, compiler: SQLCompiler, **kw: Any) -> str:
    return "false"


@compiles(NoViewerActions, "sqlite")
def _no_viewer_actions_sqlite(element: NoViewerActions, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.person_id == -1, **kw)


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int

    def of(self, stmt: SelectT) -> SelectT:
        """This page of `stmt`, its bounds written into the SQL (db/params.py: planned once per connection)."""
        return stmt.offset(literal_int(self.offset)).limit(literal_int(self.limit))


def page_of(page: int | None, limit: int | None, default_limit: int = LIMIT_DEFAULT) -> Page:
    """Lemmy's paging rules: page 1..100, limit 1..50. Deep offsets are refused, cursors are the way on."""
    page = 1 if page is None else page
    limit = default_limit if limit is None else limit
    if not 1 <= page <= PAGE_MAX:
        raise LemmyError("unknown", f"page must be between 1 and {PAGE_MAX}")
    if not 1 <= limit <= LIMIT_MAX:
        raise LemmyError("unknown", f"limit must be between 1 and {LIMIT_MAX}")
    return Page(limit=limit, offset=(page - 1) * limit)


def _exists(query: Select[Any], per_row: bool) -> Exists:
    """EXISTS of `query`; with `per_row`, looked up by index for each row the statement returns, never hashed.

    PostgreSQL may answer a correlated EXISTS in a view's columns by hashing its whole table once (an
    "alternative subplan") when it expects many calls, and it counts them before the LIMIT: a page of 20
    comments by one person hashed all 11,000 moderator rows of the bench database for
    `creator_is_moderator`, half of the statement's 3.4 ms. An OFFSET (even 0) keeps the subquery as written
    (PostgreSQL rewrites only an EXISTS without one), so each returned row probes the primary key instead:
    1.8 ms. For a view's columns only: a filter keeps the plain EXISTS, which PostgreSQL may turn into a join."""
    return query.offset(literal_int(0)).exists() if per_row else query.exists()


def is_moderator(community_id: Col[Any] | int, person_id: Col[Any] | int, *, per_row: bool = False) -> Exists:
    """Correlated when given columns; with plain ids it also stands alone, as `select(is_moderator(c, p))`.
    `per_row`: a view's column (see `_exists`)."""
    return _exists(
        select(CommunityModerator.person_id).where(
            CommunityModerator.community_id == community_id, CommunityModerator.person_id == person_id
        ),
        per_row,
    )


def is_admin(person_id: Col[Any]) -> ColumnElement[bool]:
    # `admin = true` (not `IS TRUE`) so that PostgreSQL matches the partial index ix_local_user_admin.
    return exists().where(LocalUser.person_id == person_id, LocalUser.admin == true())


def is_banned_from(
    community_id: Col[Any], person_id: Col[Any] | ColumnElement[int] | int | None, *, per_row: bool = False
) -> ColumnElement[bool]:
    """A ban whose expiry has passed no longer counts (no job has to lift it first). The clock is the database's
    (CURRENT_TIMESTAMP), so statements built once and cached stay right. `per_row`: a view's column (`_exists`)."""
    if person_id is None:
        return false()
    return _exists(
        select(CommunityPersonBan.person_id).where(
            CommunityPersonBan.community_id == community_id,
            CommunityPersonBan.person_id == person_id,
            or_(CommunityPersonBan.expires.is_(None), CommunityPersonBan.expires > func.current_timestamp()),
        ),
        per_row,
    )


def has_blocked(
    viewer_id: ColumnElement[int] | int | None, target_id: Col[Any], *, per_row: bool = False
) -> ColumnElement[bool]:
    """`per_row` (see `_exists`): also for a filter on an ordered walk that stops at a LIMIT. As a join (an anti
    join, hashed) it cost a logged-in reader's tree its order: PostgreSQL's generic plan, which expects a post's
    average 80 comments, read all 11,816 of the biggest thread and sorted them (22 ms; 3.3 ms per row)."""
    if viewer_id is None:
        return false()
    return _exists(
        select(PersonBlock.target_id).where(PersonBlock.person_id == viewer_id, PersonBlock.target_id == target_id),
        per_row,
    )


def has_blocked_community(
    viewer_id: ColumnElement[int] | int | None, community_id: Col[Any], *, per_row: bool = False
) -> ColumnElement[bool]:
    """Whether the reader blocked the community. `per_row`: as for `has_blocked`."""
    if viewer_id is None:
        return false()
    return _exists(
        select(CommunityBlock.community_id).where(
            CommunityBlock.person_id == viewer_id, CommunityBlock.community_id == community_id
        ),
        per_row,
    )


def has_blocked_instance(
    viewer_id: ColumnElement[int] | int | None, instance_id: Col[Any], *, per_row: bool = False
) -> ColumnElement[bool]:
    """Whether the reader blocked the instance. `per_row`: as for `has_blocked`."""
    if viewer_id is None:
        return false()
    return _exists(
        select(InstanceBlock.instance_id).where(
            InstanceBlock.person_id == viewer_id, InstanceBlock.instance_id == instance_id
        ),
        per_row,
    )


def follow_state(viewer_id: ColumnElement[int] | int | None, community_id: Col[Any]) -> ColumnElement[Any]:
    """NULL when not following, else the `pending` flag (true until a remote community accepts)."""
    if viewer_id is None:
        return select(false()).where(false()).scalar_subquery()
    return (
        select(CommunityFollower.pending)
        .where(CommunityFollower.community_id == community_id, CommunityFollower.person_id == viewer_id)
        .scalar_subquery()
    )


def follows_community(viewer_id: ColumnElement[int] | int, community_id: Col[Any]) -> ColumnElement[bool]:
    """Whether the viewer follows the community (pending or accepted), as a filter: an EXISTS the planner can
    drive from the viewer's follows, where `follow_state(...) IS NOT NULL` is a subquery run for every row."""
    return exists().where(CommunityFollower.community_id == community_id, CommunityFollower.person_id == viewer_id)


def site_has_content_warning() -> ColumnElement[bool]:
    """Whether this site shows a content warning (then NSFW content is shown unless a reader says otherwise)."""
    return exists().where(LocalSite.site_id == Site.id, Site.content_warning.is_not(None), Site.content_warning != "")


def subscribed_type(pending: bool | None) -> SubscribedType:
    if pending is None:
        return SubscribedType.NOT_SUBSCRIBED
    return SubscribedType.PENDING if pending else SubscribedType.SUBSCRIBED


@dataclass(frozen=True, slots=True)
class SortKey:
    column: Col[Any]
    descending: bool


def keyset_after(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order `keys` describe (mixed directions allowed)."""
    # SQLAlchemy refuses `<` against a bare True/False (the featured flags), so those become bound literals;
    # other values stay raw so the column's own type (e.g. UTC datetimes on SQLite) binds them.
    bound = [literal(value) if isinstance(value, bool) else value for value in values]
    clauses: list[ColumnElement[bool]] = []
    for i, key in enumerate(keys):
        equal_before = [keys[j].column == bound[j] for j in range(i)]
        beyond = key.column < bound[i] if key.descending else key.column > bound[i]
        clauses.append(and_(*equal_before, beyond))
    return or_(*clauses)


def escape_like(text: str) -> str:
    """Make user text literal inside a LIKE pattern (escape character: backslash)."""
    return text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def without_keys(*actors: Any) -> list[Any]:
    """Loader options that leave actors' key pairs out of view rows: half the bytes of a listing, never shown.
    Built once per set of actors (they are the same few aliases on every request)."""
    found = _WITHOUT_KEYS.get(actors)
    if found is None:
        found = [defer(actor.public_key) for actor in actors] + [defer(actor.private_key) for actor in actors]
        _WITHOUT_KEYS[actors] = found
    return found


_WITHOUT_KEYS: dict[tuple[Any, ...], list[Any]] = {}


def comment_and_replies(root_path: str | SQLColumnExpression[str]) -> ColumnElement[bool]:
    """The comment at `root_path` and every reply under it, at any depth (Lemmy's `path <@ root`): one range of
    the path index. `root_path` is a value or a column (a join on the root comment)."""
    return or_(
        Comment.path == root_path,
        and_(Comment.path > root_path + SEPARATOR, Comment.path < root_path + AFTER_SEPARATOR),
    )


V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class VoteTarget(Generic[V]):
    """An item's view read for a vote of the viewer's (`vote_target_statement`): the vote's target (its checks,
    the counts its move starts from, where its activity goes) and, with what the vote changes written into it,
    its answer (actions/posts.py `like_post`, actions/comments.py `like_comment`): one statement and round trip
    less than reading the view again after the vote."""

    view: V
    community: Community  # the item's, one of the session's (the vote's activity is addressed to it)
    downvotes_enabled: bool  # the site's switch (no site yet, never in a running server: on)


_VOTED_COMMUNITY = Entities(Community)


def vote_target_statement(views: Select[Any], voted: type[Any]) -> FastRead:
    """A view's statement read as a vote's target: the voted item's row locked until the commit (PostgreSQL;
    SQLite's writers take turns anyway) and, after the view's columns, its community's and the site's
    `enable_downvotes`."""
    extra = (*_VOTED_COMMUNITY.columns, select(LocalSite.enable_downvotes).scalar_subquery())
    return FastRead(views.with_for_update(of=voted).add_columns(*extra))


async def read_vote_target(
    session: AsyncSession, read: FastRead, params: dict[str, Any]
) -> tuple[Sequence[Any], Community, bool] | None:
    """The row of a `vote_target_statement` (None: no such item), its community (an entity of the session's,
    held until the commit: the activity's `session.get` finds it) and the site's `enable_downvotes`."""
    row = await read.first(session, params)
    if row is None:
        return None
    community = _VOTED_COMMUNITY.in_session(session, row, len(row) - len(_VOTED_COMMUNITY) - 1)
    hold(session, community)
    return row, community, row[-1] is not False
