"""PostView and the post listing: one SQL statement per page, every viewer flag joined in."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import (
    ARRAY,
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from moot.db import search
from moot.db.base import UTCDateTime
from moot.db.community import Community, CommunityFollower, CommunityModerator
from moot.db.engine import setting
from moot.db.fast_read import FastRead
from moot.db.params import literal_int, literal_param
from moot.db.person import LocalUserLanguage, Person
from moot.db.post import Post, PostActions
from moot.domain.enums import ListingType, SortType, SubscribedType
from moot.domain.errors import LemmyError
from moot.domain.ranking import TOP_WINDOWS
from moot.domain.timefmt import utcnow
from moot.queries.common import (
    LIMIT_MAX,
    NoViewerActions,
    SortKey,
    VoteTarget,
    escape_like,
    follow_state,
    has_blocked,
    has_blocked_community,
    has_blocked_instance,
    is_admin,
    is_banned_from,
    is_moderator,
    keyset_after,
    page_of,
    read_vote_target,
    site_has_content_warning,
    subscribed_type,
    vote_target_statement,
)
from moot.queries.rows import CommunityRow, CreatorRow, PostRow, columns_of, view_row
from moot.queries.viewer import Viewer
from moot.queries.visibility import visible_communities

Creator = aliased(Person, name="creator")
# The viewer's person id: a value, or a bound parameter in a statement kept for reuse.
MeParam = int | ColumnElement[int] | None
_MyFollow = aliased(CommunityFollower, name="my_follow")

UNDETERMINED_LANGUAGE = 0
# Ids are 32-bit in the database: a cursor naming a larger one is garbage, not a query to run.
MAX_ID = 2**31 - 1


@view_row
class PostView:
    post: PostRow
    creator: CreatorRow
    community: CommunityRow
    creator_is_moderator: bool
    creator_is_admin: bool
    creator_banned_from_community: bool
    banned_from_community: bool
    subscribed: SubscribedType
    saved: bool
    read: bool
    hidden: bool
    creator_blocked: bool
    my_vote: int | None
    unread_comments: int


# A view row is the post's columns, its creator's, its community's (each in its row's field order), then the flags.
_POST_COLUMNS = columns_of(PostRow, Post)
_CREATOR_COLUMNS = columns_of(CreatorRow, Creator)
_COMMUNITY_COLUMNS = columns_of(CommunityRow, Community)
_AT_CREATOR = len(_POST_COLUMNS)
_AT_COMMUNITY = _AT_CREATOR + len(_CREATOR_COLUMNS)
_AT_FLAGS = _AT_COMMUNITY + len(_COMMUNITY_COLUMNS)
_FLAG_COUNT = 11


def _my_actions(me: MeParam) -> ColumnElement[bool]:
    """The join to the viewer's own row of post_actions; for an anonymous reader, to none (NoViewerActions)."""
    if me is None:
        return NoViewerActions(PostActions.person_id)
    return and_(PostActions.post_id == Post.id, PostActions.person_id == me)


def _select_views(viewer: Viewer | None, me: MeParam = None) -> Select[*tuple[Any, ...]]:
    """Every post a read model returns comes through here: the community visibility rule applies to all."""
    if me is None and viewer is not None:
        me = viewer.person_id
    actions = _my_actions(me)
    return (
        select(
            *_POST_COLUMNS,
            *_CREATOR_COLUMNS,
            *_COMMUNITY_COLUMNS,
            # The flags, _FLAG_COUNT of them, in post_view_of's order.
            is_moderator(Post.community_id, Post.creator_id, per_row=True).label("creator_is_moderator"),
            is_admin(Post.creator_id).label("creator_is_admin"),
            is_banned_from(Post.community_id, Post.creator_id, per_row=True).label("creator_banned"),
            is_banned_from(Post.community_id, me, per_row=True).label("banned"),
            follow_state(me, Post.community_id).label("follow_pending"),
            PostActions.saved,
            PostActions.read,
            PostActions.hidden,
            has_blocked(me, Post.creator_id).label("creator_blocked"),
            PostActions.like_score,
            PostActions.read_comments_amount,
        )
        .join(Creator, Creator.id == Post.creator_id)
        .join(Community, Community.id == Post.community_id)
        .outerjoin(PostActions, actions)
        .where(visible_communities(viewer))
    )


def _to_view(row: Any) -> PostView:
    values = tuple(row)  # by position: a page's rows, read by name, cost more than building them
    post = PostRow(*values[:_AT_CREATOR])
    moderator, admin, creator_banned, banned, follow_pending, saved, read, hidden, blocked, my_vote, read_amount = (
        values[_AT_FLAGS : _AT_FLAGS + _FLAG_COUNT]
    )
    return PostView(
        post=post,
        creator=CreatorRow(*values[_AT_CREATOR:_AT_COMMUNITY]),
        community=CommunityRow(*values[_AT_COMMUNITY:_AT_FLAGS]),
        creator_is_moderator=bool(moderator),
        creator_is_admin=bool(admin),
        creator_banned_from_community=bool(creator_banned),
        banned_from_community=bool(banned),
        subscribed=subscribed_type(follow_pending),
        saved=saved is not None,
        read=read is not None,
        hidden=hidden is not None,
        creator_blocked=bool(blocked),
        my_vote=my_vote,
        unread_comments=post.comments - read_amount if read_amount is not None else post.comments,
    )


# The same columns and flags for read models built around a post (reports): reused, never rewritten. Their own
# columns follow the view's.
select_post_views = _select_views
post_view_of = _to_view


async def _sees_hidden_content(session: AsyncSession, post: PostRow, viewer: Viewer | None) -> bool:
    """The author, admins and the community's moderators still read a deleted or removed post."""
    if viewer is None:
        return False
    if viewer.is_admin or viewer.person_id == post.creator_id:
        return True
    return bool(await session.scalar(select(is_moderator(post.community_id, viewer.person_id))))


async def get_post_view(session: AsyncSession, post_id: int, viewer: Viewer | None) -> PostView:
    # Read in a write's own transaction (a vote's answer), the row must be what was written: views are plain rows
    # read from the database (no identity map hands back the changed object), and sessions do not autoflush.
    # No SQL when clean.
    await session.flush()
    read = _BY_ID.get(viewer is not None)
    if read is None:
        read = _BY_ID[viewer is not None] = FastRead(_views(viewer).where(Post.id == _POST_ID))
    params = {"view_post_id": post_id}
    if viewer is not None:
        params["viewer_person_id"] = viewer.person_id
    row = await read.first(session, params)
    if row is None:
        raise LemmyError("couldnt_find_post", status=404)
    return await _shown(session, _to_view(row), viewer)


async def _shown(session: AsyncSession, view: PostView, viewer: Viewer | None) -> PostView:
    if (view.post.deleted or view.post.removed) and not await _sees_hidden_content(session, view.post, viewer):
        # Deleted and removed posts stay reachable (their comments matter) but lose their content.
        return dataclasses.replace(view, post=dataclasses.replace(view.post, body=None, url=None))
    return view


async def post_to_vote_on(session: AsyncSession, post_id: int, viewer: Viewer) -> VoteTarget[PostView]:
    """The post's view for a vote of the viewer's, read as its target (queries/common.py `VoteTarget`)."""
    read = _TO_VOTE_ON.get(True)
    if read is None:
        read = _TO_VOTE_ON[True] = vote_target_statement(_views(viewer).where(Post.id == _POST_ID), Post)
    found = await read_vote_target(session, read, {"view_post_id": post_id, "viewer_person_id": viewer.person_id})
    if found is None:
        raise LemmyError("couldnt_find_post", status=404)
    row, community, downvotes_enabled = found
    return VoteTarget(await _shown(session, _to_view(row), viewer), community, downvotes_enabled)


@dataclass(slots=True)
class PostQuery:
    listing_type: ListingType = ListingType.ALL
    sort: SortType = SortType.HOT
    community_id: int | None = None
    creator_id: int | None = None
    saved_only: bool = False
    liked_only: bool = False
    disliked_only: bool = False
    show_hidden: bool = False
    show_read: bool | None = None
    show_nsfw: bool | None = None
    page: int | None = None
    limit: int | None = None
    page_cursor: str | None = None
    # Deleted posts of anyone (moderation views); otherwise only their author sees them.
    include_deleted: bool = False
    # Search: words in the title (and body unless title_only), or a substring of the link.
    search_text: str | None = None
    title_only: bool = False
    search_url: str | None = None
    # A bounded site-wide search's try (`search_posts`): among the posts above this id, the last word whole.
    search_newer_than: int = 0
    search_whole_words: bool = False
    # Cross-posts: the same link (its normalised form), except one post.
    url_match: str | None = None
    exclude_post_id: int | None = None


def _sort_keys(sort: SortType, by_community: bool) -> list[SortKey]:
    featured = Post.featured_community if by_community else Post.featured_local
    keys = [SortKey(featured, True)]
    match sort:
        case SortType.ACTIVE:
            keys.append(SortKey(Post.hot_rank_active, True))
        case SortType.HOT:
            keys.append(SortKey(Post.hot_rank, True))
        case SortType.SCALED:
            keys.append(SortKey(Post.scaled_rank, True))
        case SortType.CONTROVERSIAL:
            keys.append(SortKey(Post.controversy_rank, True))
        case SortType.NEW:
            keys.append(SortKey(Post.published, True))
        case SortType.OLD:
            keys.append(SortKey(Post.published, False))
        case SortType.NEW_COMMENTS:
            keys.append(SortKey(Post.newest_comment_time, True))
        case SortType.MOST_COMMENTS:
            keys.append(SortKey(Post.comments, True))
        case _:
            keys.append(SortKey(Post.score, True))
    if sort not in (SortType.NEW, SortType.OLD, SortType.NEW_COMMENTS):
        keys.append(SortKey(Post.published, True))
    keys.append(SortKey(Post.id, sort != SortType.OLD))
    return keys


def encode_cursor(post_id: int) -> str:
    return f"P{post_id:x}"


def _bad_cursor() -> LemmyError:
    # Lemmy 0.19 reports a diesel query-builder error here, which reaches the client as `unknown`.
    return LemmyError("unknown", "Could not parse pagination token")


def _decode_cursor(cursor: str) -> int:
    if not cursor.startswith("P"):
        raise _bad_cursor()
    try:
        post_id = int(cursor[1:], 16)
    except ValueError as exc:
        raise _bad_cursor() from exc
    if not 0 < post_id <= MAX_ID:
        raise _bad_cursor()
    return post_id


def _content_filter(session: AsyncSession, stmt: Select[Any], q: PostQuery, me: MeParam) -> Select[Any]:
    """What exists for this listing at all: live posts in live communities, plus the viewer's own deleted ones."""
    if not q.include_deleted:
        # Authors still see their deleted posts (to restore them), except in search results.
        own = Post.creator_id == me if me is not None and not q.search_text else false()
        stmt = stmt.where(or_(Post.deleted.is_(False), own), Post.removed.is_(False))
    stmt = stmt.where(Community.deleted.is_(False), Community.removed.is_(False))
    if q.community_id is not None:
        stmt = stmt.where(Post.community_id == q.community_id)
    if q.creator_id is not None:
        stmt = stmt.where(Post.creator_id == q.creator_id)
    if q.search_text:
        stmt = stmt.where(_post_search(session, q, q.search_text))
    if q.search_url:
        stmt = stmt.where(Post.url.ilike(f"%{escape_like(q.search_url)}%", escape="\\"))
    if q.url_match is not None:
        stmt = stmt.where(Post.url_match == q.url_match)
    if q.exclude_post_id is not None:
        stmt = stmt.where(Post.id != q.exclude_post_id)
    return stmt


def _post_search(session: AsyncSession, q: PostQuery, text: str) -> ColumnElement[bool]:
    """A site-wide search, newest or ranked, ranks the newest matches (db/search.py, post_candidates). Old, a
    community's, a person's, narrower listings and pages beyond the candidates search every match, as they
    would miss theirs."""
    if q.title_only:
        return Post.name.ilike(f"%{escape_like(text)}%", escape="\\")
    if _bounded_search(q):
        return search.post_candidates(session, text, newer_than=q.search_newer_than, whole_words=q.search_whole_words)
    return search.post_matches(session, text)


def _bounded_search(q: PostQuery) -> bool:
    paging = page_of(q.page, q.limit)
    site_wide = q.community_id is None and q.creator_id is None and q.listing_type == ListingType.ALL
    within = q.page_cursor is None and paging.offset + paging.limit <= search.SEARCH_CANDIDATES
    return site_wide and within and q.sort != SortType.OLD and not q.title_only


async def search_posts(session: AsyncSession, q: PostQuery, viewer: Viewer | None) -> list[PostView]:
    """Posts with the words, in the sort's order. A site-wide search ranks the newest matches, among the newest
    posts first (db/search.py, `search_tries`, as comments do): the window with the last word whole, then as a
    prefix, then among all posts, until the page is full."""
    assert q.search_text
    if not _bounded_search(q):
        return (await list_posts(session, q, viewer))[0]
    limit = page_of(q.page, q.limit).limit
    found: list[PostView] = []
    for newer_than, whole_words in search.search_tries(await search.post_window_floor(session)):
        try_q = dataclasses.replace(q, search_newer_than=newer_than, search_whole_words=whole_words)
        found = (await list_posts(session, try_q, viewer))[0]
        if len(found) == limit:
            break
    return found


def _listing_filter(stmt: Select[Any], q: PostQuery, me: MeParam) -> Select[Any]:
    """All, Local, Subscribed or ModeratorView (the last two with a viewer: list_posts saw to it)."""
    match q.listing_type:
        case ListingType.LOCAL:
            stmt = stmt.where(Community.local.is_(True))
        case ListingType.SUBSCRIBED:
            stmt = stmt.where(_followed_by(me, Post.community_id))
        case ListingType.MODERATOR_VIEW:
            stmt = stmt.where(
                exists().where(CommunityModerator.community_id == Post.community_id, CommunityModerator.person_id == me)
            )
    if q.community_id is None and q.listing_type in (ListingType.ALL, ListingType.LOCAL):
        # Communities hidden by an admin stay out of All and Local unless you follow them (a moderator's
        # view shows them, as in Lemmy 0.19).
        stmt = stmt.where(or_(Community.hidden.is_(False), follow_state(me, Post.community_id).is_not(None)))
    return stmt


def _followed_by(me: MeParam, community_id: Any) -> ColumnElement[bool]:
    """The Subscribed listing's rule: a community the reader follows, the follow accepted (not pending)."""
    return exists().where(
        CommunityFollower.community_id == community_id,
        CommunityFollower.person_id == me,
        CommunityFollower.pending.is_(False),
    )


def _viewer_filters(
    stmt: Select[Any], q: PostQuery, viewer: Viewer, me: MeParam, local_user_id: ColumnElement[int] | int
) -> Select[Any]:
    """Saved, voted, read and hidden filters, bots, languages and blocks, as Lemmy applies them."""
    front_or_community = q.creator_id is None
    if q.saved_only:
        stmt = stmt.where(PostActions.saved.is_not(None))
    # Saved posts show even when read posts are hidden; a profile always shows everything.
    elif front_or_community and not (viewer.local_user.show_read_posts if q.show_read is None else q.show_read):
        stmt = stmt.where(PostActions.read.is_(None))
    if not q.show_hidden and front_or_community:
        stmt = stmt.where(PostActions.hidden.is_(None))
    # Your own posts carry your automatic upvote; "liked" means other people's posts you liked.
    if q.liked_only:
        stmt = stmt.where(PostActions.like_score == 1, Post.creator_id != me)
    elif q.disliked_only:
        stmt = stmt.where(PostActions.like_score == -1, Post.creator_id != me)
    if not viewer.local_user.show_bot_accounts:
        stmt = stmt.where(Creator.bot_account.is_(False))
    if q.listing_type == ListingType.MODERATOR_VIEW:
        return stmt  # moderators see everything in their communities, blocks and languages aside
    # A person's posts: the blocks probed per row (`per_row`), not joined. As anti joins they made PostgreSQL
    # expect one of a person's 10,748 posts to be left, so it read and sorted them all (66 ms) instead of walking
    # the creator's index. Listings of many creators keep the joins (per row, the front page took 1-4 ms more).
    fenced = q.creator_id is not None
    stmt = stmt.where(_in_my_languages(local_user_id), not_(has_blocked(me, Post.creator_id, per_row=fenced)))
    if q.community_id is None:
        stmt = stmt.where(
            not_(has_blocked_community(me, Post.community_id, per_row=fenced)),
            not_(has_blocked_instance(me, Community.instance_id, per_row=fenced)),
        )
    return stmt


def _in_my_languages(local_user_id: ColumnElement[int] | int) -> ColumnElement[bool]:
    """Undetermined posts always show (Lemmy adds it to every user's languages); no rows means every language."""
    mine = select(LocalUserLanguage.language_id).where(LocalUserLanguage.local_user_id == local_user_id)
    return or_(
        Post.language_id == UNDETERMINED_LANGUAGE,
        not_(exists(mine)),
        Post.language_id.in_(mine.scalar_subquery()),
    )


def _needs_viewer(q: PostQuery) -> bool:
    return q.saved_only or q.liked_only or q.disliked_only or q.listing_type == ListingType.SUBSCRIBED


async def _check_anchor(session: AsyncSession, anchor_id: int) -> None:
    """A cursor naming no post is refused, as before its page was read within the listing's statement (an empty
    page is the only place one shows: its sort keys read as NULL, and nothing comes after NULL)."""
    if await session.scalar(select(Post.id).where(Post.id == anchor_id)) is None:
        raise _bad_cursor()


def _ordering(keys: list[SortKey]) -> list[ColumnElement[Any]]:
    return [k.column.desc() if k.descending else k.column.asc() for k in keys]


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _top(
    stmt: Select[Any],
    keys: list[SortKey],
    order: list[SortKey],
    wanted: int | BindParameter[int],
    *where: ColumnElement[bool],
) -> Select[Any]:
    """The listing's ids and sort keys (labelled k0, k1, ...), filtered further, best `wanted` by `order`."""
    labels: list[Any] = [k.column.label(f"k{i}") for i, k in enumerate(keys)]
    return stmt.with_only_columns(Post.id, *labels).where(*where).order_by(*_ordering(order)).limit(wanted)


def _per_community(stmt: Select[Any], keys: list[SortKey], wanted: int, *where: ColumnElement[bool]) -> Select[Any]:
    """For each community the viewer follows, its own best `wanted` by the sort key, the front page's featured
    flag left out (LATERAL: one walk per community down an index in that order)."""
    inner = _top(stmt, keys, keys[1:], wanted, Post.community_id == _MyFollow.community_id, *where).lateral()
    return select(*inner.c).select_from(_MyFollow).join(inner, true())


# How many of the site's best posts (by the listing's sort) a Subscribed page is first looked for among.
SUBSCRIBED_WINDOW = 150  # 300: 2.3-2.7 ms for 50 big follows (the filters run on ~130 posts); 150: 1.25-1.5 ms


async def _subscribed_ids_near_top(
    session: AsyncSession,
    shape: _ShapeKey | None,
    stmt: Select[Any],
    params: dict[str, Any],
    q: PostQuery,
    keys: list[SortKey],
    wanted: int,
) -> list[int] | None:
    """The ids of a Subscribed page when the viewer's communities hold at least `wanted` of the site's best
    `SUBSCRIBED_WINDOW` posts by the sort (someone who follows busy communities): those are then the page's, and
    the posts featured on the front page (few) come first, as in any listing. None when they hold fewer: then
    `_subscribed_ids` looks community by community.

    The window is a plain walk down the sort's index, its ids collected into an array once (an InitPlan), and
    the listing's filters run on those rows alone (found by primary key). Asked as a join or a semi join,
    PostgreSQL guesses a followed community holds the average hundred posts and reads all of theirs instead
    (0.4-0.5 s for 10 big ones). On the bench database (generic plan, 50 followed communities): 1.25-1.5 ms, against
    2.7-12.5 ms community by community. The statement is built once per shape (`_ShapeKey`)."""
    values = {**params, _WANTED.key: wanted}
    if shape is None:
        rows: Sequence[Sequence[Any]] = (await session.execute(_near_top_statement(stmt, q, keys), values)).all()
    else:
        read = _built_once(_NEAR_CACHE, shape, lambda: _near_top_statement(stmt, q, keys))
        rows = await read.rows(session, values)
    if not rows or rows[0][1] < wanted:
        return None
    return [row[0] for row in rows]


def _near_top_statement(stmt: Select[Any], q: PostQuery, keys: list[SortKey]) -> Select[Any]:
    window = (
        select(Post.id, Post.community_id)
        .where(Post.featured_local.is_(False), *([Post.published > _SINCE] if TOP_WINDOWS.get(q.sort) else []))
        .order_by(*_ordering(keys[1:]))
        .limit(literal_int(SUBSCRIBED_WINDOW))
        .subquery("window")
    )
    # Only the window's posts of followed communities are looked up again (by primary key) and filtered: the
    # walk has their community at hand (the filter applies after the LIMIT: the window stays the site's best).
    ids = select(func.array_agg(window.c.id)).where(_followed_by(_ME, window.c.community_id))
    # ANY over one array (CAST keeps it one value): `= ANY (SELECT ...)` would compare with each row instead.
    in_window = Post.id == any_(cast(ids.scalar_subquery(), ARRAY(Integer)))
    near = _top(stmt, keys, keys, _WANTED, Post.featured_local.is_(False), in_window).add_columns(true().label("near"))
    featured = _top(stmt, keys, keys, _WANTED, Post.featured_local.is_(True)).add_columns(false().label("near"))
    candidates = union(featured, near).subquery("candidates")
    found = func.count().filter(candidates.c.near).over()  # of the window's posts, before the LIMIT
    return select(candidates.c.id, found).order_by(*_candidate_ordering(candidates, keys)).limit(_WANTED)


_NEAR_CACHE: dict[Any, FastRead] = {}


def _built_once(cache: dict[Any, FastRead], key: Any, build: Callable[[], Select[Any]]) -> FastRead:
    """A listing statement of one shape, built and compiled once per process (the caches are cleared, not
    evicted, once they hold `_BASE_CACHE_SIZE`: shapes are few)."""
    read = cache.get(key)
    if read is None:
        if len(cache) >= _BASE_CACHE_SIZE:
            cache.clear()
        read = cache[key] = FastRead(build())
    return read


def _candidate_ordering(candidates: Any, keys: list[SortKey]) -> list[ColumnElement[Any]]:
    """The sort's order on a union of `_top`s (its keys labelled k0, k1, ...)."""
    return [
        candidates.c[f"k{i}"].desc() if key.descending else candidates.c[f"k{i}"].asc() for i, key in enumerate(keys)
    ]


async def _subscribed_ids(
    session: AsyncSession,
    stmt: Select[Any],
    params: dict[str, Any],
    q: PostQuery,
    keys: list[SortKey],
    me: int,
    wanted: int,
) -> list[int]:
    """The ids that can make a Subscribed page, found community by community (PostgreSQL).

    Joined the plain way, the listing reads every post of every followed community before it can sort them:
    450,000 rows and 3.7 s for someone following 50 big communities of a million-post instance (EXPLAIN
    ANALYZE on the bench database). Here each followed community gives only its own best `wanted` posts,
    walking an index it already has in the sort's order, with every filter of the listing applied; with the
    posts featured on the front page (there are few) they hold the page's posts, whatever the page: a post
    that makes it is featured, or has fewer than `wanted` posts in its community with a better key (each of
    those would be on the page before it). The page itself is then read by id."""
    follows = and_(_MyFollow.person_id == me, _MyFollow.pending.is_(False))
    featured = _top(stmt, keys, keys, wanted, Post.featured_local.is_(True))
    if q.sort in (SortType.NEW, SortType.OLD):
        parts = [_per_community(stmt, keys, wanted).where(follows)]  # ix_post_community_published
    else:
        # ix_post_community_<sort> is (community_id, featured_community, <key>, published): one walk for the
        # posts featured in their community, one for the others.
        parts = [
            _per_community(stmt, keys, wanted, Post.featured_community.is_(flag)).where(follows)
            for flag in (True, False)
        ]
    # A featured post also comes from its community: UNION keeps it once.
    candidates = union(featured, *parts).subquery("candidates")
    ordering = _candidate_ordering(candidates, keys)
    # The planner guesses every community holds the average hundred posts, and then prefers to read all of
    # a followed community's posts through a bitmap and sort them: 4.7 s instead of 20 ms for 50 big ones
    # (EXPLAIN ANALYZE, bench database). Only for this statement it walks the index.
    async with setting(session, "enable_bitmapscan", "off"):
        rows = (await session.execute(select(candidates.c.id).order_by(*ordering).limit(wanted), params)).all()
    return [row[0] for row in rows]


# Values that change from request to request but not the statement's shape: bound at execution time.
_ME = bindparam("viewer_person_id", type_=Integer)
_LOCAL_USER = bindparam("viewer_local_user_id", type_=Integer)
_COMMUNITY = bindparam("listing_community_id", type_=Integer)
_CREATOR = bindparam("listing_creator_id", type_=Integer)
_URL_MATCH = bindparam("listing_url_match", type_=String)
_EXCLUDED_POST = bindparam("listing_excluded_post_id", type_=Integer)
_POST_ID = bindparam("view_post_id", type_=Integer)
_SINCE = bindparam("listing_since", type_=UTCDateTime())
# Applied after the base statement (paging), or not cacheable (search text, links: their values are literal).
_PAGING_FIELDS = frozenset({"page", "limit", "page_cursor"})
_BOUND_FIELDS: dict[str, BindParameter[Any]] = {
    "community_id": _COMMUNITY,
    "creator_id": _CREATOR,
    "url_match": _URL_MATCH,  # cross-posts: every GET /post asks
    "exclude_post_id": _EXCLUDED_POST,
}
_UNCACHED_FIELDS = ("search_text", "search_url")
_ShapeKey = tuple[Any, ...]
_BASE_CACHE: dict[_ShapeKey, Select[Any]] = {}
_BASE_CACHE_SIZE = 512


def _base_statement(
    session: AsyncSession, q: PostQuery, viewer: Viewer | None
) -> tuple[Select[Any], dict[str, Any], _ShapeKey | None]:
    """The listing's filters as one statement, before cursor, order and paging, the values to bind, and the
    statement's shape (None when it is built for this request alone).

    Building it is a fifth of a listing request's Python (SQLAlchemy expression objects), and it has only a
    few dozen shapes: one per combination of the query's options and the viewer's settings, with the
    viewer, community, creator and time window as bound parameters. Each shape is built once per process.
    The key holds every field of PostQuery except those bound or applied later, so a new option is part of
    the key without anyone remembering to add it."""
    params: dict[str, Any] = {}
    if viewer is not None:
        params |= {"viewer_person_id": viewer.person_id, "viewer_local_user_id": viewer.local_user.id}
    for name, param in _BOUND_FIELDS.items():
        if getattr(q, name) is not None:
            params[param.key] = getattr(q, name)
    window = TOP_WINDOWS.get(q.sort)
    if window is not None:
        params["listing_since"] = utcnow() - window
    if any(getattr(q, name) is not None for name in _UNCACHED_FIELDS):
        return _build_base(session, q, viewer, bound=False), params, None
    shape = tuple(
        (f.name, getattr(q, f.name) is not None if f.name in _BOUND_FIELDS else getattr(q, f.name))
        for f in fields(q)
        if f.name not in _PAGING_FIELDS
    )
    lu = viewer.local_user if viewer is not None else None
    key = (
        session.get_bind().dialect.name,
        shape,
        None if lu is None else (lu.show_read_posts, lu.show_bot_accounts, lu.show_nsfw),
    )
    stmt = _BASE_CACHE.get(key)
    if stmt is None:
        if len(_BASE_CACHE) >= _BASE_CACHE_SIZE:
            _BASE_CACHE.clear()
        stmt = _BASE_CACHE[key] = _build_base(session, q, viewer, bound=True)
    return stmt, params, key


def _build_base(session: AsyncSession, q: PostQuery, viewer: Viewer | None, bound: bool) -> Select[Any]:
    me: MeParam = None
    local_user: ColumnElement[int] | int = 0
    if viewer is not None:
        me, local_user = (_ME, _LOCAL_USER) if bound else (viewer.person_id, viewer.local_user.id)
    bound_query = q
    if bound:
        values = {name: param for name, param in _BOUND_FIELDS.items() if getattr(q, name) is not None}
        bound_query = dataclasses.replace(q, **values)  # type: ignore[arg-type]
    stmt = _listing_filter(_content_filter(session, _select_views(viewer, me), bound_query, me), bound_query, me)
    if viewer is not None:
        stmt = _viewer_filters(stmt, bound_query, viewer, me, local_user)
    safe = and_(Post.nsfw.is_(False), Community.nsfw.is_(False))
    if q.show_nsfw is None and viewer is None:
        # Lemmy 0.19 shows anonymous readers NSFW content when the site has a content warning (which its
        # pages show first); the site row is read inside the statement, so no cached copy can go stale.
        stmt = stmt.where(or_(safe, site_has_content_warning()))
    elif not (q.show_nsfw if q.show_nsfw is not None else bool(viewer and viewer.local_user.show_nsfw)):
        stmt = stmt.where(safe)
    if TOP_WINDOWS.get(q.sort) is not None:
        stmt = stmt.where(Post.published > _SINCE)
    return stmt


async def list_posts(session: AsyncSession, q: PostQuery, viewer: Viewer | None) -> tuple[list[PostView], str | None]:
    """A page of posts in Lemmy's order: featured first, then the sort key, then newest, then id.

    `next_page` is the cursor after the last post whenever the page is not empty, as Lemmy gives it: a
    client polling an Old listing with it later sees the posts written since."""
    paging = page_of(q.page, q.limit)
    if q.liked_only and q.disliked_only:
        raise LemmyError("contradicting_filters")
    if viewer is None and q.listing_type == ListingType.MODERATOR_VIEW:
        # Lemmy 0.19 narrows ModeratorView to your communities only when you are logged in; anonymously it
        # lists like All. (An anonymous Subscribed is empty here, where Lemmy would list All as well.)
        q = dataclasses.replace(q, listing_type=ListingType.ALL)
    if viewer is None and _needs_viewer(q):
        return [], None
    me = viewer.person_id if viewer else None
    base, params, shape = _base_statement(session, q, viewer)
    # Saved posts come most recently saved first, as in Lemmy; every other listing follows the sort.
    keys = [SortKey(PostActions.saved, True), SortKey(Post.id, True)] if q.saved_only and me else []
    keys = keys or _sort_keys(q.sort, q.community_id is not None)
    cursor = bool(q.page_cursor)
    params |= {"listing_limit": paging.limit, "listing_offset": paging.offset}
    if q.page_cursor:
        params[_ANCHOR.key] = _decode_cursor(q.page_cursor)
    # Subscribed within one community (a search can ask for it) is that community's listing, its follow checked
    # in the statement: the ways below assume the front page's order (a community's pinned posts lead its own).
    across = q.community_id is None and not q.saved_only
    if me is not None and q.listing_type == ListingType.SUBSCRIBED and across and not _is_sqlite(session):
        filtered = _after(base, keys) if cursor else base
        wanted = paging.limit + (0 if cursor else paging.offset)
        ids = None if cursor else await _subscribed_ids_near_top(session, shape, base, params, q, keys, wanted)
        if ids is None:
            ids = await _subscribed_ids(session, filtered, params, q, keys, me, wanted)
        # The ids are the listing's best `wanted`, in its order, every filter applied: the page is read by id.
        page_ids = ids if cursor else ids[paging.offset :]
        read = _built_once(_SUBSCRIBED_PAGE_CACHE, q.sort, lambda: _by_ids(viewer, keys))  # keys: the sort's
        rows = await read.rows(session, {**params, _IDS.key: page_ids})
    elif shape is None:
        stmt = _views_of_page(viewer, _after(base, keys) if cursor else base, keys, cursor)
        rows = (await session.execute(stmt, params)).all()
    else:
        rows = await _page_statement(shape, cursor, viewer, base, keys).rows(session, params)
    if cursor and not rows:
        await _check_anchor(session, params[_ANCHOR.key])
    views = [_to_view(row) for row in rows]
    return views, encode_cursor(views[-1].post.id) if views else None


def _page_statement(
    shape: _ShapeKey, cursor: bool, viewer: Viewer | None, base: Select[Any], keys: list[SortKey]
) -> FastRead:
    """The whole statement of a listing's shape, with or without a cursor: built once per process, as its base is,
    and compiled once (db/fast_read.py: a statement of a hundred columns and subqueries is otherwise walked for
    SQLAlchemy's cache key on every run). The page's limit, offset and cursor values are bound parameters."""

    def build() -> Select[Any]:
        return _views_of_page(viewer, _after(base, keys) if cursor else base, keys, cursor)

    return _built_once(_PAGE_CACHE, (shape, cursor), build)


_PAGE_CACHE: dict[Any, FastRead] = {}


def _by_ids(viewer: Viewer | None, keys: list[SortKey]) -> Select[Any]:
    """The views of a Subscribed page's posts, given as one array parameter (`_IDS`), in the listing's order. The
    filters that found them are not run again (1.1 of the statement's 1.6 ms on the bench database)."""
    return _views(viewer).where(Post.id == any_(_IDS)).order_by(*_ordering(keys))


_SUBSCRIBED_PAGE_CACHE: dict[Any, FastRead] = {}
_IDS = bindparam("listing_ids", type_=ARRAY(Integer))
_WANTED = literal_param("listing_wanted")
# Written into the SQL (db/params.py): PostgreSQL then plans a page's statement once per connection.
_LIMIT = literal_param("listing_limit")
_OFFSET = literal_param("listing_offset")


_ANCHOR = bindparam("listing_anchor", type_=Integer)  # the cursor's post


def _anchor_keys(keys: list[SortKey]) -> list[ColumnElement[Any]]:
    """The cursor's post's sort keys, each read inside the page's statement by primary key (PostgreSQL runs
    each once, before the walk, as an InitPlan whose value bounds the index scan like a parameter's): the
    page after a cursor is one round trip, as the first page is. A key may be the viewer's (saved)."""
    post, actions = aliased(Post), aliased(PostActions)
    anchored: list[ColumnElement[Any]] = []
    for key in keys:
        if key.column is Post.id:
            anchored.append(_ANCHOR)
            continue
        attribute = key.column
        assert isinstance(attribute, InstrumentedAttribute)  # every sort key is a column of the two tables
        mine = attribute.class_ is PostActions
        column = getattr(actions if mine else post, attribute.key)
        read = select(column).select_from(post).where(post.id == _ANCHOR)
        if mine:
            read = read.outerjoin(actions, and_(actions.post_id == post.id, actions.person_id == _ME))
        anchored.append(read.scalar_subquery())
    return anchored


def _after(stmt: Select[Any], keys: list[SortKey]) -> Select[Any]:
    return stmt.where(keyset_after(keys, _anchor_keys(keys)))


def _views_of_page(viewer: Viewer | None, listing: Select[Any], keys: list[SortKey], cursor: bool) -> Select[Any]:
    """The views of a page of `listing`'s posts, the page found first by id alone (a cursor's page has no offset).

    Asked for whole views in the listing's own statement, PostgreSQL plans the viewer's flags for every post the
    listing could return (a million) and builds a hash of every moderator of every community to answer
    `creator_is_moderator`; the wide rows of the posts it skips travel through the sort too. Here the walk down
    the sort's index yields ids only, and the flags are then probed for the page's posts (20 index lookups per
    flag): the front page's statement takes 35% less time (12.3 against 18.5 ms median, 2.3 against 3.8 ms
    best, on the bench database, a busy machine)."""
    page = listing.with_only_columns(Post.id).order_by(*_ordering(keys)).limit(_LIMIT)
    if not cursor:
        page = page.offset(_OFFSET)
    return _views(viewer).where(Post.id.in_(page.scalar_subquery())).order_by(*_ordering(keys))


def _views(viewer: Viewer | None) -> Select[Any]:
    """`_select_views` with the viewer as a bound parameter, built once per kind of reader (anonymous or not):
    building it took a quarter of a listing's Python, and a statement reused whole is not hashed again for
    SQLAlchemy's compiled cache either."""
    views = _VIEWS.get(viewer is not None)
    if views is None:
        views = _VIEWS[viewer is not None] = _select_views(viewer, _ME if viewer is not None else None)
    return views


_VIEWS: dict[bool, Select[Any]] = {}
_BY_ID: dict[bool, FastRead] = {}
_TO_VOTE_ON: dict[bool, FastRead] = {}  # built with the first voter (a statement for readers who are logged in)


async def cross_posts(session: AsyncSession, post: PostRow, viewer: Viewer | None) -> list[PostView]:
    """Other posts carrying the same link (compared after normalising it), filtered like any listing: no
    blocked people or communities, no NSFW unless the viewer wants it. Read ones stay; this is no feed."""
    if post.url_match is None:
        return []
    query = PostQuery(
        sort=SortType.HOT,
        url_match=post.url_match,
        exclude_post_id=post.id,
        show_read=True,
        limit=LIMIT_MAX,
    )
    views, _ = await list_posts(session, query, viewer)
    return views
