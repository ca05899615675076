"""People and communities of other instances, as federation (and the demo import) records them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions.access import check_community_mod_action
from moot.actions.instances import get_or_create_instance
from moot.db.base import insert_if_absent
from moot.db.community import Community, CommunityModerator
from moot.db.person import Person
from moot.db.post import Post
from moot.domain import validation
from moot.domain.errors import LemmyError
from moot.domain.timefmt import utcnow
from moot.queries.viewer import Actor


async def upsert_remote_person(
    session: AsyncSession,
    *,
    ap_id: str,
    name: str,
    domain: str,
    display_name: str | None = None,
    published: datetime | None = None,
    updated: datetime | None = None,
) -> Person:
    """`published` and `updated` are the actor document's own (as Lemmy keeps them): every server shows the
    same times. Without them, a new row is published now and an existing one keeps its times."""
    person = await session.scalar(select(Person).where(Person.ap_id == ap_id))
    now = utcnow()
    if person is None:
        validation.check_actor_name(name, 255)
        values = {
            "name": name,
            "ap_id": ap_id,
            "local": False,
            "instance_id": await get_or_create_instance(session, domain),
            "inbox_url": f"{ap_id}/inbox",
            "published": published or now,
        }
        # Race-free: two activities of an actor we have not seen yet may arrive together.
        await insert_if_absent(session, Person, values, key="ap_id")
        person = await session.scalar(select(Person).where(Person.ap_id == ap_id))
        assert person is not None
    if display_name is not None:
        person.display_name = display_name
    if published is not None:
        person.published = published
    if updated is not None:
        person.updated = updated
    person.last_refreshed_at = now
    await session.flush()
    return person


async def upsert_remote_community(
    session: AsyncSession,
    *,
    ap_id: str,
    name: str,
    domain: str,
    title: str | None = None,
    published: datetime | None = None,
    updated: datetime | None = None,
    subscribers: int | None = None,
) -> Community:
    """Times as for people. `subscribers` of a remote community is the `totalItems` of its followers collection,
    as its home server counts them (Lemmy's update_federated_followers); None leaves the count as it was. Our
    own people's follows of it are `subscribers_local`, kept by follow_community."""
    community = await session.scalar(select(Community).where(Community.ap_id == ap_id))
    now = utcnow()
    if community is None:
        validation.check_actor_name(name, 255)
        values = {
            "name": name,
            "title": title or name,
            "ap_id": ap_id,
            "local": False,
            "instance_id": await get_or_create_instance(session, domain),
            "inbox_url": f"{ap_id}/inbox",
            "followers_url": f"{ap_id}/followers",
            "moderators_url": f"{ap_id}/moderators",
            "featured_url": f"{ap_id}/featured",
            "published": published or now,
        }
        await insert_if_absent(session, Community, values, key="ap_id")
        community = await session.scalar(select(Community).where(Community.ap_id == ap_id))
        assert community is not None
    elif title is not None:
        community.title = title
    if published is not None:
        community.published = published
    if updated is not None:
        community.updated = updated
    if subscribers is not None:
        community.subscribers = subscribers
    community.last_refreshed_at = now
    await session.flush()
    return community


async def set_remote_moderators(session: AsyncSession, community: Community, person_ids: list[int]) -> None:
    """A remote community's moderators, as its moderators collection lists them (Lemmy's
    handle_community_moderators): people no longer listed leave, new ones join in the collection's order (the
    first is the top moderator). Never for a local community: its moderators are decided here."""
    if community.local:
        raise ValueError("the moderators of a local community are never taken from another server")
    wanted = list(dict.fromkeys(person_ids))
    current = set(
        (
            await session.scalars(
                select(CommunityModerator.person_id).where(CommunityModerator.community_id == community.id)
            )
        ).all()
    )
    gone = current - set(wanted)
    if gone:
        await session.execute(
            delete(CommunityModerator).where(
                CommunityModerator.community_id == community.id, CommunityModerator.person_id.in_(gone)
            )
        )
    now = utcnow()
    for rank, person_id in enumerate(wanted):
        if person_id not in current:
            # Moderators are listed by `published`: one microsecond apart keeps the collection's order.
            values = {
                "community_id": community.id,
                "person_id": person_id,
                "published": now + timedelta(microseconds=rank),
            }
            await insert_if_absent(session, CommunityModerator, values, key=("community_id", "person_id"))
    await session.flush()


async def set_remote_featured(session: AsyncSession, community: Community, post_ids: list[int]) -> None:
    """Exactly these posts of a remote community are featured in it, as its featured collection says (Lemmy's
    set_featured_posts). Posts of other communities in the list are ignored."""
    if community.local:
        raise ValueError("the featured posts of a local community are never taken from another server")
    await session.execute(
        update(Post)
        .where(Post.community_id == community.id, or_(Post.featured_community.is_(True), Post.id.in_(post_ids)))
        .values(featured_community=Post.id.in_(post_ids))
    )


async def update_remote_community(
    session: AsyncSession,
    actor: Actor,
    community_id: int,
    *,
    title: str | None,
    description: str | None,
    icon: str | None,
    banner: str | None,
    nsfw: bool,
    posting_restricted_to_mods: bool,
) -> Community:
    """A remote community as one of its moderators changed it (Lemmy's Update{Group}): its title, description,
    icons and flags. The sender must moderate it (or be of its own server): the access gate decides."""
    community = await session.get(Community, community_id)
    if community is None or community.local:
        raise LemmyError("couldnt_find_community", status=404)
    await check_community_mod_action(session, actor, community, allow_deleted=True)
    if title:
        community.title = title[:255]
    community.description = description
    community.icon = icon
    community.banner = banner
    community.nsfw = nsfw
    community.posting_restricted_to_mods = posting_restricted_to_mods
    community.updated = utcnow()
    await session.flush()
    return community
