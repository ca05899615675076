"""A person's inbox: replies to them and mentions of them, and the unread counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.comment import Comment, CommentReply, PersonMention
from moot.db.person import Person
from moot.domain.enums import CommentSortType
from moot.queries.comments import CommentView, Creator, comment_view_of, select_comment_views
from moot.queries.common import has_blocked, page_of
from moot.queries.messages import unread_private_messages
from moot.queries.viewer import Viewer

Notice = type[CommentReply] | type[PersonMention]


def _order(sort: CommentSortType, kind: Notice) -> list[Any]:
    match sort:
        case CommentSortType.HOT:
            return [Comment.hot_rank.desc()]
        case CommentSortType.CONTROVERSIAL:
            return [Comment.controversy_rank.desc()]
        case CommentSortType.OLD:
            return [kind.published.asc()]
        case CommentSortType.TOP:
            return [Comment.score.desc()]
        case _:
            return [kind.published.desc()]


def _visible(viewer: Viewer, creator_id: Any, bot_account: Any) -> list[ColumnElement[bool]]:
    """What a listing and its unread count both leave out: people the viewer blocks, and bots if unwanted."""
    wanted = [not_(has_blocked(viewer.person_id, creator_id))]
    if not viewer.local_user.show_bot_accounts:
        wanted.append(bot_account.is_(False))
    return wanted


async def _notices(
    session: AsyncSession,
    viewer: Viewer,
    kind: Notice,
    sort: CommentSortType,
    unread_only: bool,
    page: int | None,
    limit: int | None,
) -> list[tuple[Any, CommentView]]:
    paging = page_of(page, limit)
    stmt: Select[Any] = (
        select_comment_views(viewer)
        .add_columns(kind)
        .join(kind, kind.comment_id == Comment.id)
        .where(kind.recipient_id == viewer.person_id, *_visible(viewer, Comment.creator_id, Creator.bot_account))
    )
    if unread_only:
        stmt = stmt.where(kind.read.is_(False))
    stmt = stmt.order_by(*_order(sort, kind), kind.id.desc())
    rows = (await session.execute(stmt.offset(paging.offset).limit(paging.limit))).all()
    return [(row[-1], comment_view_of(row, viewer)) for row in rows]


async def replies(
    session: AsyncSession,
    viewer: Viewer,
    sort: CommentSortType | None,
    unread_only: bool,
    page: int | None,
    limit: int | None,
) -> list[tuple[CommentReply, CommentView]]:
    """Newest first unless asked otherwise (Lemmy's default for replies)."""
    return await _notices(session, viewer, CommentReply, sort or CommentSortType.NEW, unread_only, page, limit)


async def mentions(
    session: AsyncSession,
    viewer: Viewer,
    sort: CommentSortType | None,
    unread_only: bool,
    page: int | None,
    limit: int | None,
) -> list[tuple[PersonMention, CommentView]]:
    """Hot first unless asked otherwise (Lemmy's default for mentions)."""
    return await _notices(session, viewer, PersonMention, sort or CommentSortType.HOT, unread_only, page, limit)


def _unread(viewer: Viewer, kind: Notice) -> Any:
    return (
        select(func.count())
        .select_from(kind)
        .join(Comment, Comment.id == kind.comment_id)
        .join(Person, Person.id == Comment.creator_id)
        .where(
            kind.recipient_id == viewer.person_id,
            kind.read.is_(False),
            Comment.deleted.is_(False),
            Comment.removed.is_(False),
            *_visible(viewer, Comment.creator_id, Person.bot_account),
        )
        .scalar_subquery()
    )


async def unread_counts(session: AsyncSession, viewer: Viewer) -> tuple[int, int]:
    """Unread replies and mentions, counting only live comments the listings would show."""
    counts = (await session.execute(select(_unread(viewer, CommentReply), _unread(viewer, PersonMention)))).one()
    return int(counts[0]), int(counts[1])


async def unread_counts_with_messages(session: AsyncSession, viewer: Viewer) -> tuple[int, int, int]:
    """Unread replies, mentions and private messages (queries/messages.py), in one statement."""
    counted = select(_unread(viewer, CommentReply), _unread(viewer, PersonMention), unread_private_messages(viewer))
    row = (await session.execute(counted)).one()
    return int(row[0]), int(row[1]), int(row[2])
