"""PostView and the post listing: one SQL statement per page, every viewer flag joined in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, false, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from moot.db.community import Community, CommunityBlock, CommunityFollower, CommunityModerator
from moot.db.person import InstanceBlock, Person
from moot.db.post import Post, PostActions
from moot.db.search import post_matches
from moot.domain.enums import ListingType, SortType, SubscribedType
from moot.domain.errors import LemmyError
from moot.domain.ranking import TOP_WINDOWS
from moot.domain.timefmt import utcnow
from moot.queries.common import (
    SortKey,
    escape_like,
    follow_state,
    has_blocked,
    is_admin,
    is_banned_from,
    is_moderator,
    keyset_after,
    page_of,
    subscribed_type,
)
from moot.queries.viewer import Viewer

Creator = aliased(Person, name="creator")


@dataclass(frozen=True, slots=True)
class PostView:
    post: Post
    creator: Person
    community: Community
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


def _select_views(viewer: Viewer | None) -> Select[*tuple[Any, ...]]:
    me = viewer.person_id if viewer else None
    actions = and_(PostActions.post_id == Post.id, PostActions.person_id == me) if me is not None else false()
    return (
        select(
            Post,
            Creator,
            Community,
            is_moderator(Post.community_id, Post.creator_id).label("creator_is_moderator"),
            is_admin(Post.creator_id).label("creator_is_admin"),
            is_banned_from(Post.community_id, Post.creator_id).label("creator_banned"),
            is_banned_from(Post.community_id, me).label("banned"),
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
    )


def _to_view(row: Any) -> PostView:
    post: Post = row[0]
    read_amount = row.read_comments_amount
    return PostView(
        post=post,
        creator=row[1],
        community=row[2],
        creator_is_moderator=bool(row.creator_is_moderator),
        creator_is_admin=bool(row.creator_is_admin),
        creator_banned_from_community=bool(row.creator_banned),
        banned_from_community=bool(row.banned),
        subscribed=subscribed_type(row.follow_pending),
        saved=row.saved is not None,
        read=row.read is not None,
        hidden=row.hidden is not None,
        creator_blocked=bool(row.creator_blocked),
        my_vote=row.like_score,
        unread_comments=post.comments - read_amount if read_amount is not None else post.comments,
    )


async def get_post_view(session: AsyncSession, post_id: int, viewer: Viewer | None) -> PostView:
    row = (await session.execute(_select_views(viewer).where(Post.id == post_id))).first()
    if row is None:
        raise LemmyError("couldnt_find_post", status=404)
    view = _to_view(row)
    hidden_from_viewer = (view.post.deleted or view.post.removed) and not (
        viewer and (viewer.is_admin or viewer.person_id == view.post.creator_id)
    )
    if hidden_from_viewer:
        # Deleted and removed posts stay reachable (their comments matter) but lose their content.
        view.post.body = None
        view.post.url = None
    return view


async def cross_posts(session: AsyncSession, post: Post, viewer: Viewer | None) -> list[PostView]:
    """Other live posts carrying the same link (compared after normalising the URL)."""
    if post.url_match is None:
        return []
    stmt = (
        _select_views(viewer)
        .where(
            Post.url_match == post.url_match,
            Post.id != post.id,
            Post.deleted.is_(False),
            Post.removed.is_(False),
            Community.deleted.is_(False),
            Community.removed.is_(False),
        )
        .order_by(Post.published.asc(), Post.id.asc())
        .limit(50)
    )
    return [_to_view(row) for row in (await session.execute(stmt)).all()]


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
    # A person's own profile lists their deleted posts too; listings never do.
    include_deleted: bool = False
    # Search: words in the title (and body unless title_only), or a substring of the link.
    search_text: str | None = None
    title_only: bool = False
    search_url: str | None = None


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


def _decode_cursor(cursor: str) -> int:
    if not cursor.startswith("P"):
        raise LemmyError("couldnt_parse_pagination_token")
    try:
        return int(cursor[1:], 16)
    except ValueError as exc:
        raise LemmyError("couldnt_parse_pagination_token") from exc


async def list_posts(session: AsyncSession, q: PostQuery, viewer: Viewer | None) -> tuple[list[PostView], str | None]:
    """A page of posts in Lemmy's order: featured first, then the sort key, then newest, then id."""
    paging = page_of(q.page, q.limit)
    me = viewer.person_id if viewer else None
    stmt = _select_views(viewer)
    if not q.include_deleted:
        stmt = stmt.where(Post.deleted.is_(False), Post.removed.is_(False))
    stmt = stmt.where(Community.deleted.is_(False), Community.removed.is_(False))
    if q.community_id is not None:
        stmt = stmt.where(Post.community_id == q.community_id)
    if q.creator_id is not None:
        stmt = stmt.where(Post.creator_id == q.creator_id)
    if q.search_text:
        stmt = stmt.where(
            Post.name.ilike(f"%{escape_like(q.search_text)}%", escape="\\")
            if q.title_only
            else post_matches(session, q.search_text)
        )
    if q.search_url:
        stmt = stmt.where(Post.url.ilike(f"%{escape_like(q.search_url)}%", escape="\\"))
    match q.listing_type:
        case ListingType.LOCAL:
            stmt = stmt.where(Community.local.is_(True))
        case ListingType.SUBSCRIBED:
            if me is None:
                return [], None
            stmt = stmt.where(
                exists().where(
                    CommunityFollower.community_id == Post.community_id,
                    CommunityFollower.person_id == me,
                    CommunityFollower.pending.is_(False),
                )
            )
        case ListingType.MODERATOR_VIEW:
            if me is None:
                return [], None
            stmt = stmt.where(
                exists().where(CommunityModerator.community_id == Post.community_id, CommunityModerator.person_id == me)
            )
    if q.community_id is None and q.listing_type != ListingType.SUBSCRIBED:
        # Communities hidden by an admin stay out of All and Local unless you follow them.
        stmt = stmt.where(or_(Community.hidden.is_(False), follow_state(me, Post.community_id).is_not(None)))
    if me is not None:
        if q.saved_only:
            stmt = stmt.where(PostActions.saved.is_not(None))
        if q.liked_only:
            stmt = stmt.where(PostActions.like_score == 1)
        elif q.disliked_only:
            stmt = stmt.where(PostActions.like_score == -1)
        if not q.show_hidden and q.community_id is None:
            stmt = stmt.where(PostActions.hidden.is_(None))
        show_read = viewer.local_user.show_read_posts if viewer and q.show_read is None else q.show_read
        if show_read is False:
            stmt = stmt.where(PostActions.read.is_(None))
        stmt = stmt.where(not_(has_blocked(me, Post.creator_id)))
        if q.community_id is None:
            stmt = stmt.where(
                not_(exists().where(CommunityBlock.person_id == me, CommunityBlock.community_id == Post.community_id)),
                not_(exists().where(InstanceBlock.person_id == me, InstanceBlock.instance_id == Community.instance_id)),
            )
    elif q.saved_only or q.liked_only or q.disliked_only:
        return [], None
    show_nsfw = q.show_nsfw if q.show_nsfw is not None else bool(viewer and viewer.local_user.show_nsfw)
    if not show_nsfw:
        stmt = stmt.where(Post.nsfw.is_(False), Community.nsfw.is_(False))
    window = TOP_WINDOWS.get(q.sort)
    if window is not None:
        stmt = stmt.where(Post.published > utcnow() - window)
    keys = _sort_keys(q.sort, q.community_id is not None)
    if q.page_cursor:
        anchor = await session.get(Post, _decode_cursor(q.page_cursor))
        if anchor is None:
            raise LemmyError("couldnt_parse_pagination_token")
        anchor_values = [getattr(anchor, str(key.column.key)) for key in keys]  # type: ignore[attr-defined]
        stmt = stmt.where(keyset_after(keys, anchor_values))
    else:
        stmt = stmt.offset(paging.offset)
    stmt = stmt.order_by(*[k.column.desc() if k.descending else k.column.asc() for k in keys]).limit(paging.limit)
    views = [_to_view(row) for row in (await session.execute(stmt)).all()]
    next_page = encode_cursor(views[-1].post.id) if len(views) == paging.limit else None
    return views, next_page
