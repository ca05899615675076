"""CommentView and the comment tree: one range read per tree, capped at 300 comments, ordered depth-first."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, Subquery, and_, exists, false, func, not_, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from moot.db.comment import Comment, CommentActions
from moot.db.community import Community, CommunityBlock
from moot.db.person import InstanceBlock, LocalUserLanguage, Person
from moot.db.post import Post
from moot.db.search import comment_matches
from moot.domain.commentpath import parent_path
from moot.domain.enums import CommentSortType, ListingType, SubscribedType
from moot.domain.errors import LemmyError
from moot.domain.validation import MAX_COMMENT_DEPTH
from moot.queries.common import (
    comment_and_replies,
    follow_state,
    has_blocked,
    is_admin,
    is_banned_from,
    is_moderator,
    page_of,
    subscribed_type,
    without_keys,
)
from moot.queries.viewer import Viewer
from moot.queries.visibility import visible_communities

TREE_CAP = 300
DELETED_TEXT = ""

Creator = aliased(Person, name="comment_creator")


@dataclass(frozen=True, slots=True)
class CommentView:
    comment: Comment
    creator: Person
    post: Post
    community: Community
    creator_is_moderator: bool
    creator_is_admin: bool
    creator_banned_from_community: bool
    banned_from_community: bool
    subscribed: SubscribedType
    saved: bool
    creator_blocked: bool
    my_vote: int | None


def select_comment_views(viewer: Viewer | None) -> Select[*tuple[Any, ...]]:
    """Every comment a read model returns comes through here: the community visibility rule applies to all."""
    me = viewer.person_id if viewer else None
    actions = (
        and_(CommentActions.comment_id == Comment.id, CommentActions.person_id == me) if me is not None else false()
    )
    return (
        select(
            Comment,
            Creator,
            Post,
            Community,
            is_moderator(Post.community_id, Comment.creator_id).label("creator_is_moderator"),
            is_admin(Comment.creator_id).label("creator_is_admin"),
            is_banned_from(Post.community_id, Comment.creator_id).label("creator_banned"),
            is_banned_from(Post.community_id, me).label("banned"),
            follow_state(me, Post.community_id).label("follow_pending"),
            CommentActions.saved,
            has_blocked(me, Comment.creator_id).label("creator_blocked"),
            CommentActions.like_score,
        )
        .join(Creator, Creator.id == Comment.creator_id)
        .join(Post, Post.id == Comment.post_id)
        .join(Community, Community.id == Post.community_id)
        .outerjoin(CommentActions, actions)
        .where(visible_communities(viewer))
        .options(*without_keys(Creator, Community))
    )


def comment_view_of(row: Any, viewer: Viewer | None) -> CommentView:
    comment: Comment = row[0]
    if (comment.deleted or comment.removed) and not (viewer and viewer.is_admin):
        # The tree keeps its shape; the words of a deleted or removed comment are gone. Set as if loaded so
        # that a session which later commits never writes the blank back.
        set_committed_value(comment, "content", DELETED_TEXT)
    return CommentView(
        comment=comment,
        creator=row[1],
        post=row[2],
        community=row[3],
        creator_is_moderator=bool(row.creator_is_moderator),
        creator_is_admin=bool(row.creator_is_admin),
        creator_banned_from_community=bool(row.creator_banned),
        banned_from_community=bool(row.banned),
        subscribed=subscribed_type(row.follow_pending),
        saved=row.saved is not None,
        creator_blocked=bool(row.creator_blocked),
        my_vote=row.like_score,
    )


async def get_comment_view(session: AsyncSession, comment_id: int, viewer: Viewer | None) -> CommentView:
    row = (await session.execute(select_comment_views(viewer).where(Comment.id == comment_id))).first()
    if row is None:
        raise LemmyError("couldnt_find_comment", status=404)
    view = comment_view_of(row, viewer)
    if viewer is not None and view.my_vote is None:
        # A single read tells a logged-in reader "you have not voted" as 0 (a list leaves it out).
        return replace(view, my_vote=0)
    return view


def _sort_order(sort: CommentSortType, c: Any = Comment) -> list[Any]:
    """The order of a sort over `c`: the comment table, or a subquery with the same column names."""
    match sort:
        case CommentSortType.TOP:
            return [c.score.desc(), c.published.desc()]
        case CommentSortType.NEW:
            return [c.published.desc()]
        case CommentSortType.OLD:
            return [c.published.asc()]
        case CommentSortType.CONTROVERSIAL:
            return [c.controversy_rank.desc(), c.score.desc()]
        case _:
            return [c.hot_rank.desc(), c.score.desc()]


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


def _filtered(stmt: Select[Any], q: CommentQuery, viewer: Viewer | None) -> Select[Any] | None:
    """The filters every comment listing shares; None when the answer is known to be empty."""
    me = viewer.person_id if viewer else None
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
    if viewer is not None and not viewer.local_user.show_bot_accounts:
        stmt = stmt.where(Creator.bot_account.is_(False))
    if q.listing_type == ListingType.MODERATOR_VIEW:
        return stmt  # a moderator sees everything in their communities, people they blocked included
    # Lemmy 0.19 (comment_view.rs): the reader's languages, and nothing of the communities they block, of the
    # communities of the instances they block, or by the people they block, in every listing (a post's too).
    assert viewer is not None
    my_languages = select(LocalUserLanguage.language_id).where(LocalUserLanguage.local_user_id == viewer.local_user.id)
    return stmt.where(
        or_(
            Comment.language_id == 0,  # undetermined: in everyone's languages, as Lemmy adds it to each
            not_(exists(my_languages)),
            Comment.language_id.in_(my_languages.scalar_subquery()),
        ),
        not_(exists().where(CommunityBlock.person_id == me, CommunityBlock.community_id == Post.community_id)),
        not_(exists().where(InstanceBlock.person_id == me, InstanceBlock.instance_id == Community.instance_id)),
        not_(has_blocked(me, Comment.creator_id)),
    )


async def list_comments(session: AsyncSession, q: CommentQuery, viewer: Viewer | None) -> list[CommentView]:
    """With `max_depth` (or `parent_id`) this is a tree fetch: at most 300 comments, shallow and best first,
    returned depth-first so that a parent always precedes its replies. Otherwise a flat, paged list."""
    if q.liked_only and q.disliked_only:
        raise LemmyError("contradicting_filters")
    base = select_comment_views(viewer).where(Post.deleted.is_(False), Post.removed.is_(False))
    stmt = _filtered(base, q, viewer)
    if stmt is None:
        return []
    if q.max_depth is None and q.parent_id is None:
        return await _flat(session, stmt, q, viewer)
    return await _tree(session, stmt, q, viewer)


async def _flat(session: AsyncSession, stmt: Select[Any], q: CommentQuery, viewer: Viewer | None) -> list[CommentView]:
    paging = page_of(q.page, q.limit)
    if q.search_text:
        stmt = stmt.where(
            comment_matches(session, q.search_text), Comment.deleted.is_(False), Comment.removed.is_(False)
        )
    # Deleted and removed comments stay in a listing (with their words hidden), as in Lemmy.
    order = [CommentActions.saved.desc()] if q.saved_only else []
    stmt = stmt.order_by(*order, *_sort_order(q.sort), Comment.id.desc()).offset(paging.offset).limit(paging.limit)
    return [comment_view_of(row, viewer) for row in (await session.execute(stmt)).all()]


async def _tree(session: AsyncSession, stmt: Select[Any], q: CommentQuery, viewer: Viewer | None) -> list[CommentView]:
    root_path = "0"
    base_depth = 0
    if q.parent_id is not None:
        parent = await session.get(Comment, q.parent_id)
        if parent is None:
            raise LemmyError("couldnt_find_comment", status=404)
        # Lemmy's `path <@ parent.path`: the parent itself, then everything under it (one indexed range read).
        root_path, base_depth = parent_path(parent.path), parent.depth
        stmt = stmt.where(Comment.post_id == parent.post_id, comment_and_replies(parent.path))
    depth = min(q.max_depth if q.max_depth is not None else MAX_COMMENT_DEPTH, MAX_COMMENT_DEPTH)
    stmt = stmt.where(Comment.depth <= base_depth + depth)
    in_post = q.post_id is not None or q.post_ids is not None or q.parent_id is not None
    if q.post_ids is not None and len(q.post_ids) > 1:
        # A joined tree: the best 300 ids with their rank, joined to their views and put in order here (sorting
        # 300 whole views again in the database costs more than the rest of the statement).
        best = _best_of_each_post(stmt, q.post_ids, q.sort)
        stmt = stmt.add_columns(best.c.tree_rank).join(best, best.c.id == Comment.id)
        ordered = sorted((await session.execute(stmt)).all(), key=lambda row: int(row.tree_rank))
    else:
        stmt = stmt.order_by(*_tree_order(q.sort, Comment, in_post)).limit(TREE_CAP)
        ordered = list((await session.execute(stmt)).all())
    return _depth_first([comment_view_of(row, viewer) for row in ordered], root_path)


def _tree_order(sort: CommentSortType, c: Any, in_post: bool) -> list[Any]:
    """Shallow first, then (within a post) distinguished first, then the sort: ix_comment_tree_hot's order."""
    return [c.depth.asc(), *([c.distinguished.desc()] if in_post else []), *_sort_order(sort, c), c.id.asc()]


_TREE_SORT_COLUMNS = (
    Comment.id,
    Comment.depth,
    Comment.distinguished,
    Comment.hot_rank,
    Comment.score,
    Comment.published,
    Comment.controversy_rank,
)


def _best_of_each_post(stmt: Select[Any], post_ids: list[int], sort: CommentSortType) -> Subquery:
    """The ids of a joined tree (a link's posts merged): each post's best 300 (an ordered range read of its own
    tree index, as one thread's tree is), merged, and the best 300 of those. PostgreSQL merges the ordered parts
    (Merge Append) and stops after 300 rows. With `post_id IN (...)` alone it reads every comment of every post
    and sorts them all, in parallel workers: several times the work of one thread of the same size."""
    order = _tree_order(sort, Comment, True)
    parts = [
        stmt.with_only_columns(*_TREE_SORT_COLUMNS)
        .where(Comment.post_id == post_id)
        .order_by(*order)
        .limit(TREE_CAP)
        .subquery()
        for post_id in post_ids
    ]
    merged = union_all(*(select(*part.c) for part in parts)).subquery()
    merged_order = _tree_order(sort, merged.c, True)
    rank = func.row_number().over(order_by=merged_order).label("tree_rank")
    return select(merged.c.id, rank).order_by(*merged_order).limit(TREE_CAP).subquery("best")
