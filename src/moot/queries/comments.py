"""CommentView and the comment tree: one range read per tree, capped at 300 comments, ordered depth-first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    bindparam,
    case,
    exists,
    func,
    not_,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from moot.db import search
from moot.db.comment import Comment, CommentActions
from moot.db.community import Community, CommunityFollower
from moot.db.fast_read import FastRead
from moot.db.params import literal_int
from moot.db.person import LocalUserLanguage, Person
from moot.db.post import Post
from moot.domain.commentpath import parent_path
from moot.domain.enums import CommentSortType, ListingType, SubscribedType
from moot.domain.errors import LemmyError
from moot.domain.validation import MAX_COMMENT_DEPTH
from moot.queries.common import (
    Col,
    NoViewerActions,
    Page,
    VoteTarget,
    comment_and_replies,
    follow_state,
    has_blocked,
    has_blocked_community,
    has_blocked_instance,
    is_admin,
    is_banned_from,
    is_moderator,
    page_of,
    read_vote_target,
    subscribed_type,
    vote_target_statement,
)
from moot.queries.rows import CommunityRow, CreatorRow, PostRow, columns_of, row_of, view_row
from moot.queries.viewer import Viewer
from moot.queries.visibility import visible_communities

TREE_CAP = 300
DELETED_TEXT = ""

Creator = aliased(Person, name="comment_creator")


@view_row
class CommentRow:
    """A comment as views show it: every column of the table, read as a plain row. Three hundred ORM entities
    per tree cost more to build than the rest of the request's Python; nothing here is ever written back."""

    id: int
    creator_id: int
    post_id: int
    content: str
    removed: bool
    deleted: bool
    distinguished: bool
    language_id: int
    path: str
    depth: int
    ap_id: str
    local: bool
    instance_id: int
    published: datetime
    updated: datetime | None
    score: int
    upvotes: int
    downvotes: int
    child_count: int
    hot_rank: float
    controversy_rank: float


_COMMENT_FIELDS = tuple(field.name for field in fields(CommentRow))
_CREATOR_FIELDS = tuple(field.name for field in fields(CreatorRow))
# A view row starts with the comment's columns, then its creator's, its post's and its community's, each in its
# row's field order, then the flags, by name.
COMMENT_COLUMNS = tuple(getattr(Comment, name) for name in _COMMENT_FIELDS)
CREATOR_COLUMNS = tuple(getattr(Creator, name) for name in _CREATOR_FIELDS)
_POST_COLUMNS = columns_of(PostRow, Post)
_COMMUNITY_COLUMNS = columns_of(CommunityRow, Community)
_CREATOR = len(_COMMENT_FIELDS)
_POST = _CREATOR + len(_CREATOR_FIELDS)
_COMMUNITY = _POST + len(_POST_COLUMNS)
_FLAGS = _COMMUNITY + len(_COMMUNITY_COLUMNS)  # the flags, in _view_columns' order
_POST_ID = _COMMENT_FIELDS.index("post_id")


@view_row
class CommentView:
    comment: CommentRow
    creator: CreatorRow
    post: PostRow
    community: CommunityRow
    creator_is_moderator: bool
    creator_is_admin: bool
    creator_banned_from_community: bool
    banned_from_community: bool
    subscribed: SubscribedType
    saved: bool
    creator_blocked: bool
    my_vote: int | None


@dataclass(frozen=True, slots=True)
class _Reader:
    """The logged-in reader as a statement sees them: their ids as values (a statement built for one request), or
    as parameters bound when it runs (a tree's statement, built once per shape: `_tree_statement`)."""

    viewer: Viewer
    person_id: ColumnElement[int] | int
    local_user_id: ColumnElement[int] | int

    @property
    def show_bot_accounts(self) -> bool:
        return self.viewer.local_user.show_bot_accounts


_READER = bindparam("comment_reader_id", type_=Integer)
_READER_LOCAL_USER = bindparam("comment_reader_local_user_id", type_=Integer)


def _reader(viewer: Viewer | None, *, bound: bool = False) -> _Reader | None:
    if viewer is None:
        return None
    if bound:
        return _Reader(viewer, _READER, _READER_LOCAL_USER)
    return _Reader(viewer, viewer.person_id, viewer.local_user.id)


def _reader_params(viewer: Viewer | None) -> dict[str, int]:
    if viewer is None:
        return {}
    return {_READER.key: viewer.person_id, _READER_LOCAL_USER.key: viewer.local_user.id}


def _view_columns(reader: _Reader | None, c: Any, community_id: Col[int]) -> list[Any]:
    """A view row: the comment's columns, its creator, post and community, then the flags, named. `c` is the
    comment table, or a subquery with its columns (a tree's ranked comments); the flags that depend on the
    community read it from `community_id` (the post's, or the ranked comments')."""
    me = reader.person_id if reader else None
    return [
        *(getattr(c, name) for name in _COMMENT_FIELDS),
        *CREATOR_COLUMNS,
        *_POST_COLUMNS,
        *_COMMUNITY_COLUMNS,
        # per_row: looked up by index for each returned row; otherwise PostgreSQL hashes the whole moderator
        # table for every tree and person page (queries/common.py, `_exists`).
        is_moderator(community_id, c.creator_id, per_row=True).label("creator_is_moderator"),
        is_admin(c.creator_id).label("creator_is_admin"),
        is_banned_from(community_id, c.creator_id, per_row=True).label("creator_banned"),
        is_banned_from(community_id, me, per_row=True).label("banned"),
        follow_state(me, community_id).label("follow_pending"),
        CommentActions.saved,
        has_blocked(me, c.creator_id).label("creator_blocked"),
        CommentActions.like_score,
    ]


def _my_actions(reader: _Reader | None, comment_id: Col[int] = Comment.id) -> ColumnElement[bool]:
    if reader is None:
        return NoViewerActions(CommentActions.person_id)
    return and_(CommentActions.comment_id == comment_id, CommentActions.person_id == reader.person_id)


def select_comment_views(viewer: Viewer | None, *, bound: bool = False) -> Select[*tuple[Any, ...]]:
    """Every comment a read model returns comes through here: the community visibility rule applies to all.
    `bound`: the reader's ids are parameters (`_reader_params`), for a statement built once."""
    reader = _reader(viewer, bound=bound)
    return (
        select(*_view_columns(reader, Comment, Post.community_id))
        .join(Creator, Creator.id == Comment.creator_id)
        .join(Post, Post.id == Comment.post_id)
        .join(Community, Community.id == Post.community_id)
        .outerjoin(CommentActions, _my_actions(reader))
        .where(visible_communities(viewer))
    )


def comment_view_of(
    row: Any, viewer: Viewer | None, post: PostRow | None = None, community: CommunityRow | None = None
) -> CommentView:
    """The view of a row of `select_comment_views` (or of a tree, which names each post and community once:
    then they come as arguments)."""
    values = tuple(row)  # by position: a tree's 300 rows, read by name, cost a millisecond more
    comment = CommentRow(*values[:_CREATOR])
    if (comment.deleted or comment.removed) and not (viewer and viewer.is_admin):
        # The tree keeps its shape; the words of a deleted or removed comment are gone.
        comment = replace(comment, content=DELETED_TEXT)
    moderator, admin, creator_banned, banned, follow_pending, saved, blocked, my_vote = values[_FLAGS : _FLAGS + 8]
    return CommentView(
        comment=comment,
        creator=CreatorRow(*values[_CREATOR:_POST]),
        post=post or PostRow(*values[_POST:_COMMUNITY]),
        community=community or CommunityRow(*values[_COMMUNITY:_FLAGS]),
        creator_is_moderator=bool(moderator),
        creator_is_admin=bool(admin),
        creator_banned_from_community=bool(creator_banned),
        banned_from_community=bool(banned),
        subscribed=subscribed_type(follow_pending),
        saved=saved is not None,
        creator_blocked=bool(blocked),
        my_vote=my_vote,
    )


_VIEWED = bindparam("viewed_comment_id", type_=Integer)
# get_comment_view's statement for an anonymous reader (False) and a logged-in one (True): only whether there is
# a reader shapes it, their ids are bound (built for each view, it cost more Python than the database's work).
_VIEW_STATEMENTS: dict[bool, FastRead] = {}


def _comment_view_statement(viewer: Viewer | None) -> FastRead:
    logged_in = viewer is not None
    read = _VIEW_STATEMENTS.get(logged_in)
    if read is None:
        read = FastRead(select_comment_views(viewer, bound=True).where(Comment.id == _VIEWED))
        _VIEW_STATEMENTS[logged_in] = read
    return read


async def get_comment_view(session: AsyncSession, comment_id: int, viewer: Viewer | None) -> CommentView:
    # Read in a write's own transaction, the row must be what was written: views are plain rows read from the
    # database (no identity map hands back the changed object), and sessions do not autoflush. No SQL when clean.
    await session.flush()
    params = {**_reader_params(viewer), _VIEWED.key: comment_id}
    row = await _comment_view_statement(viewer).first(session, params)
    if row is None:
        raise LemmyError("couldnt_find_comment", status=404)
    view = comment_view_of(row, viewer)
    if viewer is not None and view.my_vote is None:
        # A single read tells a logged-in reader "you have not voted" as 0 (a list leaves it out).
        return replace(view, my_vote=0)
    return view


def written_comment_view(
    comment: Comment,
    author: Person,
    post: Post,
    community: Community,
    *,
    author_is_moderator: bool,
    author_is_admin: bool,
    follow_pending: bool | None,
) -> CommentView:
    """The view of a comment its author has just written, to the author, from the rows the write holds: no read
    after the commit. A new comment carries its author's vote only (the upvote it starts with), nobody has
    saved it, its author was let write by the access gate (not banned in the community) and cannot block
    themself. The post's row is as the write found it: no field a comment view shows changes with a reply.
    (tests/test_write_statement_counts.py compares it with the view read afterwards.)"""
    return CommentView(
        comment=row_of(CommentRow, comment),
        creator=row_of(CreatorRow, author),
        post=row_of(PostRow, post),
        community=row_of(CommunityRow, community),
        creator_is_moderator=author_is_moderator,
        creator_is_admin=author_is_admin,
        creator_banned_from_community=False,
        banned_from_community=False,
        subscribed=subscribed_type(follow_pending),
        saved=False,
        creator_blocked=False,
        my_vote=1,
    )


_TO_VOTE_ON: dict[bool, FastRead] = {}  # built with the first voter (a statement for readers who are logged in)


async def comment_to_vote_on(session: AsyncSession, comment_id: int, viewer: Viewer) -> VoteTarget[CommentView]:
    """The comment's view for a vote of the viewer's, read as its target (queries/common.py `VoteTarget`)."""
    read = _TO_VOTE_ON.get(True)
    if read is None:
        views = select_comment_views(viewer, bound=True).where(Comment.id == _VIEWED)
        read = _TO_VOTE_ON[True] = vote_target_statement(views, Comment)
    found = await read_vote_target(session, read, {**_reader_params(viewer), _VIEWED.key: comment_id})
    if found is None:
        raise LemmyError("couldnt_find_comment", status=404)
    row, community, downvotes_enabled = found
    return VoteTarget(comment_view_of(row, viewer), community, downvotes_enabled)


def _sort_order(sort: CommentSortType, c: Any = Comment, *, unindexed: bool = False) -> list[Any]:
    """The order of a sort over `c`: the comment table, or a subquery with the same column names. `unindexed`:
    the same order written so that no index gives it, for a listing that must read
    its few candidates and sort them rather than walk a site-wide sort index (see `_reads_its_candidates`)."""
    match sort:
        case CommentSortType.TOP:
            keys = [c.score, c.published]
        case CommentSortType.NEW | CommentSortType.OLD:
            keys = [c.published]
        case CommentSortType.CONTROVERSIAL:
            keys = [c.controversy_rank, c.score]
        case _:
            keys = [c.hot_rank, c.score]
    if unindexed:
        keys[0] = func.coalesce(keys[0], keys[0])  # the same value (never null), not an indexed expression
    if sort == CommentSortType.OLD:
        return [key.asc() for key in keys]
    return [key.desc() for key in keys]


@dataclass(slots=True)
class CommentQuery:
    sort: CommentSortType = CommentSortType.HOT
    listing_type: ListingType = ListingType.ALL
    max_depth: int | None = None
    post_id: int | None = None
    # A link's joined thread (queries/link_groups.py): the comments of several posts, merged under one sort.
    post_ids: list[int] | None = None
    parent_id: int | None = None
    community_id: int | None = None
    creator_id: int | None = None
    saved_only: bool = False
    liked_only: bool = False
    disliked_only: bool = False
    page: int | None = None
    limit: int | None = None
    search_text: str | None = None


def _depth_first(rows: list[CommentView], root_path: str) -> list[CommentView]:
    """Put the rows in tree order: each comment right after its parent, siblings in the order fetched.
    Rows whose parent did not make the cap are dropped, so every client can rebuild the tree."""
    children: dict[str, list[CommentView]] = {}
    for view in rows:
        children.setdefault(parent_path(view.comment.path), []).append(view)
    ordered: list[CommentView] = []
    stack = list(reversed(children.get(root_path, [])))
    while stack:
        view = stack.pop()
        ordered.append(view)
        stack.extend(reversed(children.get(view.comment.path, [])))
    return ordered


def _filtered(stmt: Select[Any], q: CommentQuery, reader: _Reader | None) -> Select[Any] | None:
    """The filters every comment listing shares; None when the answer is known to be empty."""
    me = reader.person_id if reader else None
    if q.post_id is not None:
        stmt = stmt.where(Comment.post_id == q.post_id)
    if q.post_ids is not None:
        stmt = stmt.where(Comment.post_id.in_(q.post_ids))
    if q.community_id is not None:
        stmt = stmt.where(Post.community_id == q.community_id)
    if q.creator_id is not None:
        stmt = stmt.where(Comment.creator_id == q.creator_id)
    if q.listing_type == ListingType.LOCAL:
        stmt = stmt.where(Community.local.is_(True))
    elif q.listing_type == ListingType.SUBSCRIBED:
        if me is None:
            return None
        stmt = stmt.where(follow_state(me, Post.community_id).is_(False))
    elif q.listing_type == ListingType.MODERATOR_VIEW:
        # Comments in the communities you moderate; nobody moderates as an anonymous reader (as in Lemmy 0.19,
        # where admins too see only their own communities here).
        if me is None:
            return None
        stmt = stmt.where(is_moderator(Post.community_id, me))
    if me is None:
        return None if q.saved_only or q.liked_only or q.disliked_only else stmt
    if q.saved_only:
        stmt = stmt.where(CommentActions.saved.is_not(None))
    if q.liked_only or q.disliked_only:
        # Lemmy leaves out your own comments: everyone has upvoted those.
        score = 1 if q.liked_only else -1
        stmt = stmt.where(CommentActions.like_score == score, Comment.creator_id != me)
    if reader is not None and not reader.show_bot_accounts:
        stmt = stmt.where(Creator.bot_account.is_(False))
    if q.listing_type == ListingType.MODERATOR_VIEW:
        return stmt  # a moderator sees everything in their communities, people they blocked included
    # Lemmy 0.19 (comment_view.rs): the reader's languages, and nothing of the communities they block, of the
    # communities of the instances they block, or by the people they block, in every listing (a post's too).
    assert reader is not None
    my_languages = select(LocalUserLanguage.language_id).where(LocalUserLanguage.local_user_id == reader.local_user_id)
    return stmt.where(
        or_(
            Comment.language_id == 0,  # undetermined: in everyone's languages, as Lemmy adds it to each
            not_(exists(my_languages)),
            Comment.language_id.in_(my_languages.scalar_subquery()),
        ),
        # Per row, all three: as anti joins the planner took the community's and instance's block rows for
        # filters that leave almost nothing, and read and sorted every comment of a big community (6 s for
        # 264,000, logged in) instead of walking the sort's index; they also keep a tree's walk in order.
        not_(has_blocked_community(me, Post.community_id, per_row=True)),
        not_(has_blocked_instance(me, Community.instance_id, per_row=True)),
        not_(has_blocked(me, Comment.creator_id, per_row=True)),
    )


async def list_comments(session: AsyncSession, q: CommentQuery, viewer: Viewer | None) -> list[CommentView]:
    """With `max_depth` (or `parent_id`) this is a tree fetch: at most 300 comments, shallow and best first,
    returned depth-first so that a parent always precedes its replies. Otherwise a flat, paged list."""
    if q.liked_only and q.disliked_only:
        raise LemmyError("contradicting_filters")
    if q.max_depth is not None or q.parent_id is not None:
        return await _tree(session, q, viewer)
    if not q.search_text:
        return await _flat(session, q, viewer)
    stmt = _filtered(_live_posts(select_comment_views(viewer)), q, _reader(viewer))
    if stmt is None:
        return []
    return await _searched(session, stmt, q, viewer)


def _live_posts(stmt: Select[Any]) -> Select[Any]:
    return stmt.where(Post.deleted.is_(False), Post.removed.is_(False))


async def _flat(session: AsyncSession, q: CommentQuery, viewer: Viewer | None) -> list[CommentView]:
    """A flat, paged listing. Deleted and removed comments stay in it (with their words hidden), as in Lemmy."""
    paging = page_of(q.page, q.limit)
    unindexed = await _reads_its_candidates(session, q, viewer.person_id if viewer else None)
    stmt = _flat_statement(session, q, viewer, unindexed, paging)
    if stmt is None:
        return []
    params = {**_reader_params(viewer), **_bound_values(q, _FLAT_BOUND_FIELDS)}
    return [comment_view_of(row, viewer) for row in await stmt.rows(session, params)]


def _bound_values(q: CommentQuery, bound: dict[str, BindParameter[Any]]) -> dict[str, Any]:
    """The query's values for the parameters a statement built once binds in their place (those it has)."""
    return {param.key: getattr(q, name) for name, param in bound.items() if getattr(q, name) is not None}


def _shape(q: CommentQuery, bound: dict[str, BindParameter[Any]], *, unshaped: tuple[str, ...]) -> tuple[Any, ...]:
    """What of the query shapes a statement built once: every field but `unshaped`, those `bound` reduced to
    whether they are given (their values are parameters)."""
    return tuple(
        (f.name, getattr(q, f.name) is not None if f.name in bound else getattr(q, f.name))
        for f in fields(q)
        if f.name not in unshaped
    )


def _bound_query(q: CommentQuery, bound: dict[str, BindParameter[Any]]) -> CommentQuery:
    """The query with the parameters in place of the values of its `bound` fields, where the filters compare
    them (as posts.py builds its listings)."""
    values = {name: param for name, param in bound.items() if getattr(q, name) is not None}
    return replace(q, **values)  # type: ignore[arg-type]


# A flat listing's values that change from request to request but not its statement's shape: bound when it runs.
_FLAT_BOUND_FIELDS = {
    "post_id": bindparam("flat_post_id", type_=Integer),
    "post_ids": bindparam("flat_post_ids", type_=Integer, expanding=True),
    "community_id": bindparam("flat_community_id", type_=Integer),
    "creator_id": bindparam("flat_creator_id", type_=Integer),
}
_FLAT_CACHE: dict[tuple[Any, ...], FastRead | None] = {}
_FLAT_CACHE_SIZE = 256


def _flat_statement(
    session: AsyncSession, q: CommentQuery, viewer: Viewer | None, unindexed: bool, paging: Page
) -> FastRead | None:
    """A flat listing's statement, built once per shape as a tree's is (`_tree_statement`): building it was a
    tenth of a person's page (GET /user). The shape is every field of the query, those bound reduced to whether
    they are given, the page (its bounds are written into the SQL for the planner), the way it reads
    (`_reads_its_candidates`) and what of the reader it reads. None when the answer is known to be empty."""
    shape = _shape(q, _FLAT_BOUND_FIELDS, unshaped=("page", "limit"))
    reader_shape = None if viewer is None else viewer.local_user.show_bot_accounts
    key = (session.get_bind().dialect.name, shape, reader_shape, unindexed, paging.limit, paging.offset)
    if key in _FLAT_CACHE:
        return _FLAT_CACHE[key]
    if len(_FLAT_CACHE) >= _FLAT_CACHE_SIZE:
        _FLAT_CACHE.clear()
    bound_query = _bound_query(q, _FLAT_BOUND_FIELDS)
    reader = _reader(viewer, bound=True)
    stmt = _filtered(_live_posts(select_comment_views(viewer, bound=True)), bound_query, reader)
    if stmt is not None:
        order = [CommentActions.saved.desc()] if q.saved_only else []
        ordered = [*order, *_sort_order(q.sort, unindexed=unindexed), Comment.id.desc()]
        if unindexed:
            # The page's ids first, from the listing's joins and filters alone: PostgreSQL computes a row's select
            # list before it sorts, so sorting the views themselves would probe every candidate's badges and
            # flags (up to thousands here); then the views of the page's comments only, in the same order.
            page = paging.of(stmt.with_only_columns(Comment.id).order_by(*ordered)).scalar_subquery()
            stmt = stmt.where(Comment.id.in_(page)).order_by(*ordered)
        else:
            stmt = paging.of(stmt.order_by(*ordered))
    read = _FLAT_CACHE[key] = None if stmt is None else FastRead(stmt)
    return read


# A flat listing narrowed to a community, a person or the communities a reader follows either reads every
# comment it could show and sorts them, or walks a site-wide sort index (ix_comment_hot, ix_comment_top,
# ix_comment_controversy, ix_comment_published) and stops after a page. The planner cannot tell which is cheaper
# (it takes every community or person for an average one), and each way is ruinous for the other: at 10,000,000
# comments the Hot page of a 102-comment community took 2.4 s walking (2.5 ms reading), that of a 1,500,000-comment
# one 6.3 s reading (5 ms walking). Measured there: reading costs about 5 us per comment of the listing, walking
# about 1.8 us per index entry, and a walk visits (all comments x page / the listing's comments) entries: the two
# meet where the listing's comments are about the square root of 7 x all comments (8,500 of 10,000,000; 850 of
# 100,000), the page being 20.
CROSSOVER = 7


async def _reads_its_candidates(session: AsyncSession, q: CommentQuery, me: int | None) -> bool:
    """Whether the listing is narrow enough to read every comment it could show and sort them (True), rather
    than walk a site-wide sort index (False), judged by the comment counts the rows keep and the newest id (as
    the number of comments: no count, and close enough for a choice that is cheap on either side of it)."""
    if q.post_id is not None or q.post_ids is not None or q.saved_only:
        return True  # a thread's comments, or a person's saved ones: read through their own indexes
    if q.creator_id is not None and q.sort in (CommentSortType.NEW, CommentSortType.OLD):
        return False  # the person's own index (creator_id, published) is this order
    counts = []
    if q.community_id is not None:
        counts.append(select(Community.comments).where(Community.id == q.community_id).scalar_subquery())
    if q.creator_id is not None:
        counts.append(select(Person.comment_count).where(Person.id == q.creator_id).scalar_subquery())
    if q.listing_type == ListingType.SUBSCRIBED and me is not None:
        followed = select(func.coalesce(func.sum(Community.comments), 0)).join(
            CommunityFollower, CommunityFollower.community_id == Community.id
        )
        counts.append(followed.where(CommunityFollower.person_id == me).scalar_subquery())
    if not counts:
        return False
    everything = select(func.coalesce(func.max(Comment.id), 0)).scalar_subquery()
    # The narrowest filter decides; a community or person gone counts as none (the listing is empty anyway).
    *narrow, total = (await session.execute(select(*(func.coalesce(c, 0) for c in counts), everything))).one()
    smallest = min(narrow)
    return bool(smallest * smallest < CROSSOVER * total)


def _bounded_search(q: CommentQuery) -> bool:
    """A site-wide search, newest or ranked, within the candidates: bounded (db/search.py, comment_candidates).
    Old, a community's, a person's, a listing narrower than All, saved or voted ones, and pages beyond the
    candidates search every match, as they would miss theirs among the site's newest."""
    paging = page_of(q.page, q.limit)
    return (
        q.sort != CommentSortType.OLD
        and q.listing_type == ListingType.ALL
        and q.community_id is None
        and q.creator_id is None
        and not (q.saved_only or q.liked_only or q.disliked_only)
        and paging.offset + paging.limit <= search.SEARCH_CANDIDATES
    )


async def _searched(
    session: AsyncSession, stmt: Select[Any], q: CommentQuery, viewer: Viewer | None
) -> list[CommentView]:
    """Live comments with the words, in the sort's order: the newest matches ranked, among the window's first,
    of all when the window does not fill the page; the last word whole first, then as a prefix."""
    assert q.search_text
    paging = page_of(q.page, q.limit)
    stmt = paging.of(stmt.order_by(*_sort_order(q.sort), Comment.id.desc()))
    stmt = stmt.where(Comment.deleted.is_(False), Comment.removed.is_(False))

    async def page(matches: ColumnElement[bool]) -> list[CommentView]:
        return [comment_view_of(row, viewer) for row in (await session.execute(stmt.where(matches))).all()]

    if not _bounded_search(q):
        return await page(search.comment_matches(session, q.search_text))
    found: list[CommentView] = []
    for newer_than, whole_words in search.search_tries(await search.comment_window_floor(session)):
        found = await page(
            search.comment_candidates(session, q.search_text, newer_than=newer_than, whole_words=whole_words)
        )
        if len(found) == paging.limit:
            break
    return found


async def _tree(session: AsyncSession, q: CommentQuery, viewer: Viewer | None) -> list[CommentView]:
    root_path = "0"
    base_depth = 0
    params: dict[str, Any] = {**_reader_params(viewer)}
    if q.parent_id is not None:
        parent = await session.get(Comment, q.parent_id)
        if parent is None:
            raise LemmyError("couldnt_find_comment", status=404)
        # Lemmy's `path <@ parent.path`: the parent itself, then everything under it (one indexed range read).
        root_path, base_depth = parent_path(parent.path), parent.depth
        params |= {_PARENT_POST.key: parent.post_id, _PARENT_PATH.key: parent.path}
    depth = min(q.max_depth if q.max_depth is not None else MAX_COMMENT_DEPTH, MAX_COMMENT_DEPTH)
    params[_DEPTH_LIMIT.key] = base_depth + depth
    if q.post_ids is not None and len(q.post_ids) == 1 and q.post_id in (None, q.post_ids[0]):
        q = replace(q, post_id=q.post_ids[0], post_ids=None)  # a link's only post: its thread
    rows: Sequence[Sequence[Any]]
    if q.post_ids is not None:
        joined = _joined_tree_statement(session, q, viewer)  # built for the request: its posts are values
        if joined is None:
            return []
        rows = (await session.execute(joined, params)).all()
    else:
        views = _tree_statement(session, q, viewer)
        if views is None:
            return []
        rows = await views.rows(session, params | _bound_values(q, _TREE_BOUND_FIELDS))
    # Each post (and its community) came once, on its first row: the other rows name it by their post_id.
    places = {
        row[_POST]: (PostRow(*row[_POST:_COMMUNITY]), CommunityRow(*row[_COMMUNITY:_FLAGS]))
        for row in rows
        if row[_POST] is not None
    }
    ordered = sorted(rows, key=lambda row: int(row[-1]))  # the tree's rank, the last column
    return _depth_first([comment_view_of(row, viewer, *places[row[_POST_ID]]) for row in ordered], root_path)


# A tree's values that change from request to request but not its statement's shape: bound when it runs.
_DEPTH_LIMIT = bindparam("tree_depth_limit", type_=Integer)
_PARENT_POST = bindparam("tree_parent_post_id", type_=Integer)
_PARENT_PATH = bindparam("tree_parent_path", type_=String)
_TREE_BOUND_FIELDS = {
    "post_id": bindparam("tree_post_id", type_=Integer),
    "community_id": bindparam("tree_community_id", type_=Integer),
    "creator_id": bindparam("tree_creator_id", type_=Integer),
}
_TREE_CACHE: dict[tuple[Any, ...], FastRead | None] = {}
_TREE_CACHE_SIZE = 256


def _tree_statement(session: AsyncSession, q: CommentQuery, viewer: Viewer | None) -> FastRead | None:
    """One thread's tree (or a comment's replies) as one statement, built once per shape: building it was an
    eighth of a 300-comment tree's request (1.8 ms of SQLAlchemy expressions). The shape is every field of the
    query, those bound (`_TREE_BOUND_FIELDS`) reduced to whether they are given, and what of the reader the
    statement reads (logged in or not, bots shown); their ids, the post, the depth and the parent are bound.
    None when the answer is known to be empty."""
    dialect = session.get_bind().dialect.name
    # A tree is not paged; its depth is bound.
    shape = _shape(q, _TREE_BOUND_FIELDS, unshaped=("page", "limit", "max_depth"))
    key = (dialect, shape, None if viewer is None else viewer.local_user.show_bot_accounts)
    if key in _TREE_CACHE:
        return _TREE_CACHE[key]
    if len(_TREE_CACHE) >= _TREE_CACHE_SIZE:
        _TREE_CACHE.clear()
    bound_query = _bound_query(q, _TREE_BOUND_FIELDS)
    reader = _reader(viewer, bound=True)
    stmt = _tree_filtered(bound_query, reader, viewer)
    if stmt is not None:
        order = _tree_order(q.sort, Comment, in_post=q.post_id is not None or q.parent_id is not None)
        rank = func.row_number().over(order_by=order).label("tree_rank")
        best = stmt.add_columns(rank).order_by(*order).limit(literal_int(TREE_CAP)).subquery("best")
        stmt = _views_of(best, reader, with_comments=True)
    read = _TREE_CACHE[key] = None if stmt is None else FastRead(stmt)
    return read


def _joined_tree_statement(session: AsyncSession, q: CommentQuery, viewer: Viewer | None) -> Select[Any] | None:
    """A link's joined tree (several posts, or none): built for the request, as its posts are literal values."""
    reader = _reader(viewer, bound=True)
    stmt = _tree_filtered(q, reader, viewer)
    if stmt is None or not q.post_ids:
        return None
    sqlite = session.get_bind().dialect.name == "sqlite"
    return _views_of(_best_of_each_post(stmt, q.post_ids, q.sort, sqlite), reader, with_comments=False)


def _tree_filtered(q: CommentQuery, reader: _Reader | None, viewer: Viewer | None) -> Select[Any] | None:
    """A tree's comments, filtered as any listing is, down to the bound depth (under the bound parent)."""
    stmt = _filtered(_live_posts(_tree_comments(reader, viewer)), q, reader)
    if stmt is None:
        return None
    if q.parent_id is not None:
        stmt = stmt.where(Comment.post_id == _PARENT_POST, comment_and_replies(_PARENT_PATH))
    return stmt.where(Comment.depth <= _DEPTH_LIMIT)


def _tree_comments(reader: _Reader | None, viewer: Viewer | None) -> Select[Any]:
    """A tree's first step, to be filtered as any listing is: the comments (every column, read once from the
    tree index's range) with the community the flags are about. The creator is joined only when the filters ask
    about them (bots hidden): for everyone else that join was 300 lookups for nothing."""
    stmt = (
        select(*COMMENT_COLUMNS, Post.community_id)
        .join(Post, Post.id == Comment.post_id)
        .join(Community, Community.id == Post.community_id)
        .outerjoin(CommentActions, _my_actions(reader))
        .where(visible_communities(viewer))
    )
    if reader is not None and not reader.show_bot_accounts:
        stmt = stmt.join(Creator, Creator.id == Comment.creator_id)
    return stmt


def _views_of(best: Subquery, reader: _Reader | None, *, with_comments: bool) -> Select[Any]:
    """The views of a tree's best comments (`best`: id, post_id, community_id and tree_rank, and the comment's
    other columns too when `with_comments`; else the comments are joined by id).

    The comments are chosen first, by the filtered tree statement's ordered range read; the creators and the
    flags are then looked up for those 300 rows only. Each post and its community are joined to the first row of
    their post only: the same post in 300 rows was most of the bytes read and of the entities built. The rows
    come unsorted: putting 300 wide rows in order costs the database more than Python sorting them by rank."""
    first_of_post = func.row_number().over(partition_by=best.c.post_id, order_by=best.c.tree_rank) == 1
    first_post_id = case((first_of_post, best.c.post_id)).label("first_post_id")
    ranked = select(*best.c, first_post_id).subquery("ranked")
    c: Any = ranked.c if with_comments else Comment
    stmt = select(*_view_columns(reader, c, ranked.c.community_id), ranked.c.tree_rank).select_from(ranked)
    if not with_comments:
        stmt = stmt.join(Comment, Comment.id == ranked.c.id)
    return (
        stmt.join(Creator, Creator.id == c.creator_id)
        .outerjoin(Post, Post.id == ranked.c.first_post_id)
        .outerjoin(Community, Community.id == Post.community_id)
        .outerjoin(CommentActions, _my_actions(reader, ranked.c.id))
    )


def _tree_order(sort: CommentSortType, c: Any, in_post: bool) -> list[Any]:
    """Shallow first, then (within a post) distinguished first, then the sort: ix_comment_tree_hot's order."""
    return [c.depth.asc(), *([c.distinguished.desc()] if in_post else []), *_sort_order(sort, c), c.id.asc()]


_MERGE_COLUMNS = (
    Comment.id,
    Comment.post_id,
    Post.community_id,
    Comment.depth,
    Comment.distinguished,
    Comment.hot_rank,
    Comment.score,
    Comment.published,
    Comment.controversy_rank,
)


def _best_of_each_post(stmt: Select[Any], post_ids: list[int], sort: CommentSortType, sqlite: bool) -> Subquery:
    """The ids of a joined tree (a link's posts merged): each post's best 300 (an ordered range read of its own
    tree index, as one thread's tree is), merged, and the best 300 of those. PostgreSQL merges the ordered parts
    (Merge Append) and stops after 300 rows. With `post_id IN (...)` alone it reads every comment of every post
    and sorts them all, in parallel workers: several times the work of one thread of the same size.

    Building the statement is most of this path's Python: the parts carry only what ranks them, and on
    PostgreSQL they are united as they are, `(SELECT ... LIMIT 300) UNION ALL (...)`; SQLite takes no
    parenthesised SELECT there, so each part becomes a subquery first (ten more column collections to build)."""
    order = _tree_order(sort, Comment, True)
    narrow = stmt.with_only_columns(*_MERGE_COLUMNS)
    cap = literal_int(TREE_CAP)
    parts = [narrow.where(Comment.post_id == post_id).order_by(*order).limit(cap) for post_id in post_ids]
    if sqlite:
        parts = [select(*part.c) for part in (whole.subquery() for whole in parts)]
    merged = union_all(*parts).subquery()
    merged_order = _tree_order(sort, merged.c, True)
    rank = func.row_number().over(order_by=merged_order).label("tree_rank")
    return select(*merged.c, rank).order_by(*merged_order).limit(cap).subquery("best")
