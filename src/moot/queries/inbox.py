"""A person's inbox: replies to them and mentions of them, and the unread counts."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.comment import Comment, CommentReply, PersonMention
from moot.domain.enums import CommentSortType
from moot.queries.comments import CommentView, comment_view_of, select_comment_views
from moot.queries.common import page_of
from moot.queries.viewer import Viewer


def _order(sort: CommentSortType | None, published: object) -> list[object]:
    if sort == CommentSortType.OLD:
        return [published.asc()]  # type: ignore[attr-defined]
    if sort == CommentSortType.TOP:
        return [Comment.score.desc()]
    return [published.desc()]  # type: ignore[attr-defined]


async def replies(
    session: AsyncSession,
    viewer: Viewer,
    sort: CommentSortType | None,
    unread_only: bool,
    page: int | None,
    limit: int | None,
) -> list[tuple[CommentReply, CommentView]]:
    paging = page_of(page, limit)
    stmt = (
        select_comment_views(viewer)
        .add_columns(CommentReply)
        .join(CommentReply, CommentReply.comment_id == Comment.id)
        .where(CommentReply.recipient_id == viewer.person_id)
    )
    if unread_only:
        stmt = stmt.where(CommentReply.read.is_(False))
    stmt = stmt.order_by(*_order(sort, CommentReply.published), CommentReply.id.desc())  # type: ignore[arg-type]
    rows = (await session.execute(stmt.offset(paging.offset).limit(paging.limit))).all()
    return [(row[-1], comment_view_of(row, viewer)) for row in rows]


async def mentions(
    session: AsyncSession,
    viewer: Viewer,
    sort: CommentSortType | None,
    unread_only: bool,
    page: int | None,
    limit: int | None,
) -> list[tuple[PersonMention, CommentView]]:
    paging = page_of(page, limit)
    stmt = (
        select_comment_views(viewer)
        .add_columns(PersonMention)
        .join(PersonMention, PersonMention.comment_id == Comment.id)
        .where(PersonMention.recipient_id == viewer.person_id)
    )
    if unread_only:
        stmt = stmt.where(PersonMention.read.is_(False))
    stmt = stmt.order_by(*_order(sort, PersonMention.published), PersonMention.id.desc())  # type: ignore[arg-type]
    rows = (await session.execute(stmt.offset(paging.offset).limit(paging.limit))).all()
    return [(row[-1], comment_view_of(row, viewer)) for row in rows]


async def unread_counts(session: AsyncSession, person_id: int) -> tuple[int, int]:
    live = (Comment.deleted.is_(False), Comment.removed.is_(False))
    counts = (
        await session.execute(
            select(
                select(func.count())
                .select_from(CommentReply)
                .join(Comment, Comment.id == CommentReply.comment_id)
                .where(CommentReply.recipient_id == person_id, CommentReply.read.is_(False), *live)
                .scalar_subquery(),
                select(func.count())
                .select_from(PersonMention)
                .join(Comment, Comment.id == PersonMention.comment_id)
                .where(PersonMention.recipient_id == person_id, PersonMention.read.is_(False), *live)
                .scalar_subquery(),
            )
        )
    ).one()
    return int(counts[0]), int(counts[1])
