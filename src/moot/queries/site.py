"""The site view (settings, counts, admins) and what the logged-in user follows, moderates and blocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.comment import Comment
from moot.db.community import Community
from moot.db.instance import Instance
from moot.db.params import literal_int
from moot.db.person import LocalUserLanguage, Person
from moot.db.post import Post
from moot.db.site import LocalSite, LocalSiteRateLimit, Secret, Site, SiteCountsRow, SiteLanguage, Tagline
from moot.domain.errors import LemmyError
from moot.queries.communities import blocked_communities, follows, moderated_by
from moot.queries.persons import PersonView, admins, blocked_instances, blocked_people
from moot.queries.rows import CommunityRow
from moot.queries.viewer import Viewer


@dataclass(frozen=True, slots=True)
class LocalSiteRow:
    site: Site
    local_site: LocalSite
    rate_limit: LocalSiteRateLimit
    jwt_secret: str


async def load_local_site(session: AsyncSession) -> LocalSiteRow | None:
    row = (
        await session.execute(
            select(Site, LocalSite, LocalSiteRateLimit)
            .join(LocalSite, LocalSite.site_id == Site.id)
            .join(LocalSiteRateLimit, LocalSiteRateLimit.local_site_id == LocalSite.id)
        )
    ).first()
    secret = await session.scalar(select(Secret.jwt_secret))
    if row is None or secret is None:
        return None
    return LocalSiteRow(site=row[0], local_site=row[1], rate_limit=row[2], jwt_secret=secret)


@dataclass(frozen=True, slots=True)
class SiteCounts:
    users: int
    posts: int
    comments: int
    communities: int


@dataclass(frozen=True, slots=True)
class SiteView:
    row: LocalSiteRow
    counts: SiteCounts
    admins: list[PersonView]
    taglines: list[Tagline]
    discussion_languages: list[int]


@dataclass(frozen=True, slots=True)
class MyUser:
    viewer: Viewer
    follows: list[Community]
    moderates: list[CommunityRow]
    community_blocks: list[Community]
    person_blocks: list[Person]
    instance_blocks: list[Instance]
    discussion_languages: list[int]


def _count_local(model: Any) -> Any:
    return (
        select(func.count()).select_from(model).where(model.local.is_(True), model.deleted.is_(False)).scalar_subquery()
    )


async def _counts(session: AsyncSession, users: Any, posts: Any, comments: Any, communities: Any) -> SiteCounts:
    row = (await session.execute(select(users, posts, comments, communities))).one()
    return SiteCounts(users=row[0], posts=row[1], comments=row[2], communities=row[3])


async def local_counts(session: AsyncSession) -> SiteCounts:
    """People, posts, comments and communities of this instance (deleted ones not counted), as the database
    keeps them (db/site.SiteCountsRow: the sums of its rows)."""
    c = SiteCountsRow
    return await _counts(
        session, *(func.coalesce(func.sum(column), 0) for column in (c.users, c.posts, c.comments, c.communities))
    )


async def recount_local(session: AsyncSession) -> SiteCounts:
    """The same counts, counted from the rows (every row read: seconds on a large instance). For the bench seed,
    which loads with triggers off, and for tests that check the stored counts."""
    return await _counts(session, *(_count_local(model) for model in (Person, Post, Comment, Community)))


async def get_site_view(session: AsyncSession) -> SiteView:
    row = await load_local_site(session)
    if row is None:
        raise LemmyError("couldnt_find_object", status=404)
    counts = await local_counts(session)
    taglines = list((await session.scalars(select(Tagline).order_by(Tagline.id))).all())
    languages = list(
        (await session.scalars(select(SiteLanguage.language_id).where(SiteLanguage.site_id == row.site.id))).all()
    )
    return SiteView(
        row=row,
        counts=counts,
        admins=await admins(session),
        taglines=taglines,
        discussion_languages=sorted(languages),
    )


async def get_my_user(session: AsyncSession, viewer: Viewer) -> MyUser:
    languages = list(
        (
            await session.scalars(
                select(LocalUserLanguage.language_id).where(LocalUserLanguage.local_user_id == viewer.local_user.id)
            )
        ).all()
    )
    return MyUser(
        viewer=viewer,
        follows=await follows(session, viewer.person_id),
        moderates=[c for c, _ in await moderated_by(session, viewer.person_id, viewer)],
        community_blocks=await blocked_communities(session, viewer.person_id),
        person_blocks=await blocked_people(session, viewer.person_id),
        instance_blocks=await blocked_instances(session, viewer.person_id),
        discussion_languages=sorted(languages),
    )


# Built once: GET /user reads it for every profile.
_SITE_OF_INSTANCE = (
    select(Site).where(Site.instance_id == bindparam("site_instance_id", type_=Integer)).limit(literal_int(1))
)


async def site_of_instance(session: AsyncSession, instance_id: int) -> Site | None:
    """The site actor of an instance, when we know it (always for our own)."""
    found: Site | None = await session.scalar(_SITE_OF_INSTANCE, {"site_instance_id": instance_id})
    return found
