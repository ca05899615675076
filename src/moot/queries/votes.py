"""Who voted how on a post or a comment (Lemmy's VoteView), for the moderators of its community and admins.

One statement per page: the voter, whether they are banned from the post's community, the score; downvotes first,
then by the time of the vote (Lemmy 0.19's order)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.comment import CommentActions
from moot.db.person import Person
from moot.db.post import Post, PostActions
from moot.queries.common import is_banned_from, page_of


@dataclass(frozen=True, slots=True)
class VoteView:
    creator: Person
    creator_banned_from_community: bool
    score: int


async def _list(
    session: AsyncSession,
    actions: type[PostActions] | type[CommentActions],
    which: ColumnElement[bool],
    page: int | None,
    limit: int | None,
) -> list[VoteView]:
    paging = page_of(page, limit)
    stmt: Any = (
        select(Person, is_banned_from(Post.community_id, actions.person_id).label("banned"), actions.like_score)
        .join(Person, Person.id == actions.person_id)
        .join(Post, Post.id == actions.post_id)
        .where(which, actions.like_score.is_not(None))
        .order_by(actions.like_score, actions.liked, actions.person_id)
        .offset(paging.offset)
        .limit(paging.limit)
    )
    rows = (await session.execute(stmt)).all()
    return [VoteView(creator=row[0], creator_banned_from_community=bool(row.banned), score=row[2]) for row in rows]


async def post_votes(session: AsyncSession, post_id: int, page: int | None, limit: int | None) -> list[VoteView]:
    return await _list(session, PostActions, PostActions.post_id == post_id, page, limit)


async def comment_votes(session: AsyncSession, comment_id: int, page: int | None, limit: int | None) -> list[VoteView]:
    return await _list(session, CommentActions, CommentActions.comment_id == comment_id, page, limit)
