"""Content moderation, as Lemmy 0.19 does it: remove / restore, lock and feature posts; remove and distinguish
comments; remove and hide communities (admins).

Each action asks the access gate (actions/access.py), changes the row and the counters, writes its modlog row
(actions/modlog.py) and records the outgoing activity (federation/outbox.py), all in the caller's transaction.
Like Lemmy, none of them refuses a repeat (removing a removed post again writes another modlog row), except
removing or restoring a comment its author deleted (`couldnt_update_comment`: it would show the words in the
modlog). The actor is a local account or, for activities received by federation, a remote moderator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import modlog
from moot.actions.access import (
    check_community_mod_action,
    check_community_user_action,
    check_is_admin,
    check_outranks,
    check_person_valid,
    check_remove_community,
    is_mod_or_admin,
)
from moot.actions.comments import adjust_counts, load_comment
from moot.actions.posts import load_post
from moot.db.comment import Comment
from moot.db.community import Community
from moot.db.moderation import CommentReport, PostReport
from moot.db.person import Person
from moot.db.post import Post
from moot.domain.errors import LemmyError
from moot.domain.timefmt import utcnow
from moot.federation import outbox
from moot.queries.viewer import Actor
from moot.queries.votes import VoteView, comment_votes, post_votes

# Lemmy's PostFeatureType: "Community" or "Local" (anything else is taken as Local: admins only).
FeatureType = str


async def _community(session: AsyncSession, community_id: int) -> Community:
    community = await session.get(Community, community_id)
    if community is None:
        raise LemmyError("couldnt_find_community", status=404)
    return community


async def _check_may_act_on(session: AsyncSession, actor: Actor, creator_id: int, community_id: int) -> None:
    """Lemmy's `is_higher_mod_or_admin_check`: a moderator may not remove the content of an admin or of a moderator
    older than themself (`not_higher_mod`); their own content they may."""
    if creator_id != actor.person_id:
        await check_outranks(session, actor, creator_id, community_id)


async def count_post(session: AsyncSession, post: Post, diff: int) -> None:
    """Add `diff` to the post counts of its community and creator: Lemmy counts posts that are neither deleted nor
    removed, so the first of the two takes one away and the restoring of the last gives it back."""
    await session.execute(
        update(Community).where(Community.id == post.community_id).values(posts=Community.posts + diff)
    )
    await session.execute(
        update(Person).where(Person.id == post.creator_id).values(post_count=Person.post_count + diff)
    )


async def remove_post(
    session: AsyncSession,
    actor: Actor,
    post_id: int,
    removed: bool,
    reason: str | None = None,
    *,
    when: datetime | None = None,
) -> Post:
    """A moderator or admin removes (or restores) a post. Its open reports are resolved by the remover."""
    post = await load_post(session, post_id)
    community = await _community(session, post.community_id)
    await check_community_mod_action(session, actor, community)
    await _check_may_act_on(session, actor, post.creator_id, community.id)
    was_counted = not (post.deleted or post.removed)
    post.removed = removed
    now_counted = not (post.deleted or post.removed)
    if was_counted != now_counted:
        await count_post(session, post, 1 if now_counted else -1)
    await session.execute(
        update(PostReport)
        .where(PostReport.post_id == post.id, PostReport.resolved.is_(False))
        .values(resolved=True, resolver_id=actor.person_id, updated=utcnow())
    )
    await modlog.record(
        session,
        "ModRemovePost",
        actor.person_id,
        state=removed,
        post_id=post.id,
        community_id=community.id,
        other_person_id=post.creator_id,
        reason=reason,
        when=when,
    )
    await outbox.mod_removed(session, actor.person, post.ap_id, community, removed, reason)
    return post


async def lock_post(
    session: AsyncSession, actor: Actor, post_id: int, locked: bool, *, when: datetime | None = None
) -> Post:
    """A locked post takes no new comments but from its community's moderators and admins (access.check_can_comment)."""
    post = await load_post(session, post_id)
    community = await _community(session, post.community_id)
    await check_community_mod_action(session, actor, community)
    post.locked = locked
    await session.flush()
    await modlog.record(
        session,
        "ModLockPost",
        actor.person_id,
        state=locked,
        post_id=post.id,
        community_id=community.id,
        other_person_id=post.creator_id,
        when=when,
    )
    await outbox.post_locked(session, actor.person, post, community, locked)
    return post


async def feature_post(
    session: AsyncSession,
    actor: Actor,
    post_id: int,
    featured: bool,
    feature_type: FeatureType,
    *,
    when: datetime | None = None,
) -> Post:
    """Pinned first in its community (`Community`, its moderators) or on this site's front page (`Local`, admins
    only). Only the community feature federates (the community's `featured` collection)."""
    post = await load_post(session, post_id)
    community = await _community(session, post.community_id)
    await check_community_mod_action(session, actor, community)
    in_community = feature_type == "Community"
    if not in_community:
        check_is_admin(actor)
    if in_community:
        post.featured_community = featured
    else:
        post.featured_local = featured
    await session.flush()
    await modlog.record(
        session,
        "ModFeaturePost",
        actor.person_id,
        state=featured,
        post_id=post.id,
        community_id=community.id,
        other_person_id=post.creator_id,
        featured_community=in_community,
        when=when,
    )
    if in_community:
        await outbox.post_featured(session, actor.person, post, community, featured)
    return post


async def remove_comment(
    session: AsyncSession,
    actor: Actor,
    comment_id: int,
    removed: bool,
    reason: str | None = None,
    *,
    when: datetime | None = None,
) -> Comment:
    """A moderator or admin removes (or restores) a comment; its words are then shown to admins only."""
    comment = await load_comment(session, comment_id)
    post = await load_post(session, comment.post_id)
    community = await _community(session, post.community_id)
    await check_community_mod_action(session, actor, community)
    await _check_may_act_on(session, actor, comment.creator_id, community.id)
    if comment.deleted:
        # Restoring or removing what its author deleted would put its words in the modlog.
        raise LemmyError("couldnt_update_comment")
    was_counted = not comment.removed
    comment.removed = removed
    if was_counted != (not removed):
        await adjust_counts(session, comment, -1 if removed else 1)
    await session.execute(
        update(CommentReport)
        .where(CommentReport.comment_id == comment.id, CommentReport.resolved.is_(False))
        .values(resolved=True, resolver_id=actor.person_id, updated=utcnow())
    )
    await modlog.record(
        session,
        "ModRemoveComment",
        actor.person_id,
        state=removed,
        comment_id=comment.id,
        post_id=post.id,
        community_id=community.id,
        other_person_id=comment.creator_id,
        reason=reason,
        when=when,
    )
    await outbox.mod_removed(session, actor.person, comment.ap_id, community, removed, reason)
    return comment


async def distinguish_comment(session: AsyncSession, actor: Actor, comment_id: int, distinguished: bool) -> Comment:
    """A moderator (or admin) marks their own comment as speaking for the community; nobody else's (Lemmy 0.19:
    the community gate, then `no_comment_edit_allowed` for someone else's comment, then the moderator gate).
    Sent as an Update of the comment, whose Note carries `distinguished`. No modlog row, as in Lemmy."""
    comment = await load_comment(session, comment_id)
    post = await load_post(session, comment.post_id)
    community = await _community(session, post.community_id)
    await check_community_user_action(session, actor, community)
    if comment.creator_id != actor.person_id:
        raise LemmyError("no_comment_edit_allowed")
    await check_community_mod_action(session, actor, community)
    comment.distinguished = distinguished
    await session.flush()
    await outbox.comment_saved(session, actor.person, comment, created=False)
    return comment


async def remove_community(
    session: AsyncSession,
    actor: Actor,
    community_id: int,
    removed: bool,
    reason: str | None = None,
    expires: datetime | None = None,
    *,
    when: datetime | None = None,
) -> Community:
    """An admin removes (or restores) a community: its posts leave every listing, nothing more is written in it.
    Lemmy's order: the moderator gate first (`not_a_mod_or_admin`, even for a removed community), then admins
    only (`not_an_admin`)."""
    community = await _community(session, community_id)
    await check_remove_community(session, actor, community)
    community.removed = removed
    community.updated = utcnow()
    await session.flush()
    await modlog.record(
        session,
        "ModRemoveCommunity",
        actor.person_id,
        state=removed,
        community_id=community.id,
        reason=reason,
        expires=expires,
        when=when,
    )
    await outbox.community_removed(session, actor.person, community, removed, reason)
    return community


async def hide_community(
    session: AsyncSession,
    actor: Actor,
    community_id: int,
    hidden: bool,
    reason: str | None = None,
    *,
    when: datetime | None = None,
) -> Community:
    """An admin hides (or shows again) a community: it leaves the All and Local listings and the community list
    of everyone who does not follow it (queries/posts.py, queries/communities.py)."""
    check_is_admin(actor)
    community = await _community(session, community_id)
    community.hidden = hidden
    community.updated = utcnow()
    await session.flush()
    await modlog.record(
        session,
        "ModHideCommunity",
        actor.person_id,
        state=hidden,
        community_id=community.id,
        reason=reason,
        when=when,
    )
    await outbox.community_updated(session, actor.person, community)
    return community


async def _check_mod_or_admin(session: AsyncSession, actor: Actor, community_id: int) -> None:
    """Lemmy's `is_mod_or_admin` (for reads): a valid person who moderates the community or is an admin."""
    check_person_valid(actor.person)
    if not await is_mod_or_admin(session, actor, community_id):
        raise LemmyError("not_a_mod_or_admin")


async def list_post_votes(
    session: AsyncSession, actor: Actor, post_id: int, page: int | None, limit: int | None
) -> list[VoteView]:
    """Who voted how on a post: for the moderators of its community and admins."""
    post = await load_post(session, post_id)
    await _check_mod_or_admin(session, actor, post.community_id)
    return await post_votes(session, post.id, page, limit)


async def list_comment_votes(
    session: AsyncSession, actor: Actor, comment_id: int, page: int | None, limit: int | None
) -> list[VoteView]:
    """Who voted how on a comment: for the moderators of its community and admins."""
    comment = await load_comment(session, comment_id)
    post = await load_post(session, comment.post_id)
    await _check_mod_or_admin(session, actor, post.community_id)
    return await comment_votes(session, comment.id, page, limit)
