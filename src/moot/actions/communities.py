"""Communities: create, edit, delete, follow, block."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import content_filter, images
from moot.actions.access import (
    check_community_mod_action,
    check_community_user_action,
    check_delete_community,
    check_person_valid,
)
from moot.actions.instances import get_or_create_instance
from moot.db.community import (
    Community,
    CommunityBlock,
    CommunityFollower,
    CommunityLanguage,
    CommunityModerator,
)
from moot.domain import validation
from moot.domain.apids import community_ap_id
from moot.domain.errors import LemmyError
from moot.domain.keys import generate_keypair
from moot.domain.timefmt import utcnow
from moot.federation import outbox
from moot.queries.defaults import site_switches
from moot.queries.site import load_local_site
from moot.queries.viewer import Actor, Viewer
from moot.settings import Settings


async def _load(session: AsyncSession, community_id: int) -> Community:
    community = await session.get(Community, community_id)
    if community is None:
        raise LemmyError("couldnt_find_community", status=404)
    return community


async def create_community(
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
    *,
    name: str,
    title: str,
    description: str | None = None,
    icon: str | None = None,
    banner: str | None = None,
    nsfw: bool = False,
    posting_restricted_to_mods: bool = False,
    visibility: str = "Public",
    discussion_languages: list[int] | None = None,
) -> Community:
    """The creator becomes the first moderator and the first follower."""
    check_person_valid(viewer.person)
    loaded = await load_local_site(session)
    if loaded is None:
        raise LemmyError("couldnt_find_object", status=404)
    if loaded.local_site.community_creation_admin_only and not viewer.is_admin:
        raise LemmyError("only_admins_can_create_communities")
    validation.check_actor_name(name, loaded.local_site.actor_name_max_length)
    title = validation.check_community_title(title)
    # The site's slur filter, as Lemmy: a name or title with a slur is refused, a description loses it.
    slurs = validation.slur_pattern(loaded.local_site.slur_filter_regex)
    content_filter.check_names(slurs, name, title)
    description = await content_filter.filter_markdown(session, slurs, description)
    validation.check_description(description)
    if nsfw and not loaded.local_site.enable_nsfw:
        nsfw = False
    taken = await session.scalar(
        select(Community.id).where(func.lower(Community.name) == name.lower(), Community.local.is_(True))
    )
    if taken is not None:
        raise LemmyError("community_already_exists")
    now = utcnow()
    keys = generate_keypair()
    ap_id = community_ap_id(settings.base_url, name)
    community = Community(
        name=name,
        title=title,
        description=description or None,
        icon=icon or None,
        banner=banner or None,
        nsfw=nsfw,
        posting_restricted_to_mods=posting_restricted_to_mods,
        visibility=visibility,
        ap_id=ap_id,
        local=True,
        instance_id=await get_or_create_instance(session, settings.domain),
        inbox_url=f"{ap_id}/inbox",
        shared_inbox_url=f"{settings.base_url}/inbox",
        followers_url=f"{ap_id}/followers",
        moderators_url=f"{ap_id}/moderators",
        featured_url=f"{ap_id}/featured",
        public_key=keys.public_pem,
        private_key=keys.private_pem,
        last_refreshed_at=now,
        published=now,
    )
    session.add(community)
    await session.flush()
    session.add(CommunityModerator(community_id=community.id, person_id=viewer.person_id, published=now))
    await follow_community(session, viewer, community.id, follow=True)
    if discussion_languages:
        session.add_all(CommunityLanguage(community_id=community.id, language_id=i) for i in set(discussion_languages))
    return community


async def edit_community(
    session: AsyncSession, viewer: Viewer, community_id: int, changes: dict[str, object]
) -> Community:
    community = await _load(session, community_id)
    await check_community_mod_action(session, viewer, community)
    slurs = validation.slur_pattern((await site_switches(session)).slur_filter_regex)
    title = changes.get("title")
    if isinstance(title, str):
        community.title = validation.check_community_title(title)
        validation.check_slurs(community.title, slurs)
    description = changes.get("description")
    if isinstance(description, str):
        description = await content_filter.filter_markdown(session, slurs, description) or ""
        validation.check_description(description)
        community.description = description or None
    replaced = [community.icon, community.banner]
    for key in ("icon", "banner"):
        value = changes.get(key)
        if isinstance(value, str):
            setattr(community, key, value or None)
    # A replaced icon or banner uploaded here that nothing else shows is deleted (as Lemmy).
    await images.release_uploads(session, replaced)
    for key in ("nsfw", "posting_restricted_to_mods", "visibility"):
        value = changes.get(key)
        if value is not None:
            setattr(community, key, value)
    languages = changes.get("discussion_languages")
    if isinstance(languages, list):
        await session.execute(delete(CommunityLanguage).where(CommunityLanguage.community_id == community_id))
        session.add_all(CommunityLanguage(community_id=community_id, language_id=int(i)) for i in set(languages))
    community.updated = utcnow()
    await outbox.community_updated(session, viewer.person, community)
    return community


async def delete_community(session: AsyncSession, viewer: Actor, community_id: int, deleted: bool) -> Community:
    """Only the top moderator (the creator, first in the list) deletes or restores a community; admins remove.
    By federation, a moderator of it (actions/access.py). Sent as Delete{Group} (or Undo) by that moderator."""
    community = await _load(session, community_id)
    await check_delete_community(session, viewer, community)
    community.deleted = deleted
    community.updated = utcnow()
    await outbox.deleted(session, viewer.person, community.ap_id, community.id, restored=not deleted)
    return community


async def follow_community(session: AsyncSession, viewer: Actor, community_id: int, follow: bool) -> None:
    """Local communities accept at once; remote ones stay `Pending` until their Accept arrives."""
    community = await _load(session, community_id)
    existing = await session.get(CommunityFollower, (community_id, viewer.person_id))
    if follow:
        if existing is not None:
            return
        await check_community_user_action(session, viewer, community)
        session.add(
            CommunityFollower(
                community_id=community_id, person_id=viewer.person_id, pending=not community.local, published=utcnow()
            )
        )
        await count_follower(session, community, +1, viewer.person.local)
        await outbox.follow(session, viewer.person, community, following=True)
        # A follow ends a block: you cannot both hide and follow a community.
        await session.execute(
            delete(CommunityBlock).where(
                CommunityBlock.community_id == community_id, CommunityBlock.person_id == viewer.person_id
            )
        )
    elif existing is not None:
        await session.delete(existing)
        await count_follower(session, community, -1, viewer.person.local)
        await outbox.follow(session, viewer.person, community, following=False)
    await session.flush()


async def count_follower(session: AsyncSession, community: Community, delta: int, person_local: bool) -> None:
    """A follow row added (+1) or removed (-1), counted as Lemmy 0.19's trigger counts it: `subscribers` only
    for our own communities (a remote one's is its home server's total, read from its followers collection when
    it is fetched: actions/remote.py), `subscribers_local` for every follow by one of our people, whichever
    community it is of. So a follow of a remote community leaves its `subscribers` alone: the home server counts
    the new follower when it accepts, and we see that at the next refresh."""
    values: dict[str, Any] = {}
    if community.local:
        values["subscribers"] = Community.subscribers + delta
    if person_local:
        values["subscribers_local"] = Community.subscribers_local + delta
    if values:
        await session.execute(update(Community).where(Community.id == community.id).values(**values))


async def block_community(session: AsyncSession, viewer: Viewer, community_id: int, block: bool) -> None:
    await _load(session, community_id)
    existing = await session.get(CommunityBlock, (viewer.person_id, community_id))
    if block:
        if existing is None:
            await follow_community(session, viewer, community_id, follow=False)
            session.add(CommunityBlock(person_id=viewer.person_id, community_id=community_id, published=utcnow()))
    elif existing is not None:
        await session.delete(existing)
    await session.flush()
