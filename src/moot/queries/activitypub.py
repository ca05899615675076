"""Read models of the ActivityPub GET side (federation/routes.py): what other servers may fetch from us. The
routes build documents from these rows and run no SQL of their own; who may see what is decided here and in
domain/visibility.py."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.comment import Comment
from moot.db.community import Community, CommunityFollower, CommunityLanguage, CommunityModerator
from moot.db.federation import SentActivity
from moot.db.person import Person
from moot.db.post import Post
from moot.db.site import Site
from moot.domain.errors import LemmyError
from moot.domain.visibility import OPEN_TO_ALL
from moot.queries.communities import find_community_id
from moot.queries.persons import find_person_id


async def site(session: AsyncSession) -> Site | None:
    return await session.scalar(select(Site))


async def local_person(session: AsyncSession, name: str, *, include_deleted: bool = True) -> Person | None:
    """A local person by name, in any case (a deleted one is still found, to answer with a Tombstone)."""
    stmt = select(Person).where(func.lower(Person.name) == name.lower(), Person.local.is_(True))
    if not include_deleted:
        stmt = stmt.where(Person.deleted.is_(False))
    return await session.scalar(stmt)


async def local_community(session: AsyncSession, name: str) -> Community | None:
    """A local community by name, in any case, whatever its state (the caller decides what others may see)."""
    return await session.scalar(
        select(Community).where(func.lower(Community.name) == name.lower(), Community.local.is_(True))
    )


async def discoverable_community(session: AsyncSession, name: str) -> Community | None:
    """A local community WebFinger may name: not deleted or removed, and open to other servers."""
    return await session.scalar(
        select(Community).where(
            func.lower(Community.name) == name.lower(),
            Community.local.is_(True),
            Community.deleted.is_(False),
            Community.removed.is_(False),
            Community.visibility == OPEN_TO_ALL,
        )
    )


async def local_community_by_ap_id(session: AsyncSession, ap_id: str) -> Community | None:
    return await session.scalar(select(Community).where(Community.ap_id == ap_id, Community.local.is_(True)))


async def community_languages(session: AsyncSession, community_id: int) -> list[int]:
    rows = await session.scalars(
        select(CommunityLanguage.language_id).where(CommunityLanguage.community_id == community_id)
    )
    return list(rows.all())


async def follower_count(session: AsyncSession, community_id: int) -> int:
    total = await session.scalar(
        select(func.count()).select_from(CommunityFollower).where(CommunityFollower.community_id == community_id)
    )
    return int(total or 0)


async def moderator_ids(session: AsyncSession, community_id: int) -> list[str]:
    """The moderators' actor ids, the oldest first (as Lemmy orders its moderators collection)."""
    rows = await session.scalars(
        select(Person.ap_id)
        .join(CommunityModerator, CommunityModerator.person_id == Person.id)
        .where(CommunityModerator.community_id == community_id)
        .order_by(CommunityModerator.published)
    )
    return list(rows.all())


async def community_posts(
    session: AsyncSession, community_id: int, *, featured_only: bool, limit: int
) -> list[tuple[Post, Person]]:
    """The community's newest posts that are neither deleted nor removed, with their authors."""
    stmt = (
        select(Post, Person)
        .join(Person, Person.id == Post.creator_id)
        .where(Post.community_id == community_id, Post.deleted.is_(False), Post.removed.is_(False))
    )
    if featured_only:
        stmt = stmt.where(Post.featured_community.is_(True))
    rows = (await session.execute(stmt.order_by(Post.published.desc()).limit(limit))).all()
    return [(post, person) for post, person in rows]


async def sent_activity(session: AsyncSession, ap_id: str) -> SentActivity | None:
    return await session.scalar(select(SentActivity).where(SentActivity.ap_id == ap_id))


async def post_in_community(session: AsyncSession, post_id: int) -> tuple[Post, Community, Person] | None:
    row = (
        await session.execute(
            select(Post, Community, Person)
            .join(Community, Community.id == Post.community_id)
            .join(Person, Person.id == Post.creator_id)
            .where(Post.id == post_id)
        )
    ).first()
    return (row[0], row[1], row[2]) if row is not None else None


async def comment_in_community(session: AsyncSession, comment_id: int) -> tuple[Comment, Community, Person] | None:
    row = (
        await session.execute(
            select(Comment, Community, Person)
            .join(Post, Post.id == Comment.post_id)
            .join(Community, Community.id == Post.community_id)
            .join(Person, Person.id == Comment.creator_id)
            .where(Comment.id == comment_id)
        )
    ).first()
    return (row[0], row[1], row[2]) if row is not None else None


async def actor_by_handle(session: AsyncSession, kind: str, handle: str, domain: str) -> Person | Community | None:
    """The person (`kind` "u") or community ("c") that `name@host` names, local or remote, or None."""
    try:
        if kind == "u":
            return await session.get(Person, await find_person_id(session, handle, domain))
        return await session.get(Community, await find_community_id(session, handle, domain))
    except LemmyError:
        return None
