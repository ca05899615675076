"""The one access gate: may this person act here? Every write action asks it, local or arriving by federation.

As Lemmy's `check_community_user_action` and `check_community_mod_action`: the rules live here only, and
every action of `moot.actions` calls one of the `check_*` functions below before it changes anything (a test
walks every write endpoint against a banned person, a removed community and a locked post).

Ranks: an admin outranks every moderator; among admins and among moderators, the one who became so first
outranks the later ones (Lemmy's `check_is_higher_admin` / `check_is_higher_mod`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.community import Community, CommunityModerator, CommunityPersonBan
from moot.db.message import PrivateMessage
from moot.db.moderation import ModlogEntry
from moot.db.person import LocalUser, Person, PersonBlock
from moot.db.post import Post
from moot.domain.errors import LemmyError
from moot.domain.timefmt import utcnow
from moot.queries.common import Col
from moot.queries.common import is_banned_from as views_is_banned_from
from moot.queries.viewer import Actor


class Bannable(Protocol):
    """A person, or a row of their columns (a comment view's creator)."""

    @property
    def banned(self) -> bool: ...

    @property
    def ban_expires(self) -> datetime | None: ...


def is_site_banned(person: Bannable) -> bool:
    """A site ban with an expiry stops applying when it expires, without a job having run."""
    return person.banned and (person.ban_expires is None or person.ban_expires > utcnow())


def check_person_valid(person: Person) -> None:
    """Lemmy's `check_user_valid`: a banned or deleted person does nothing."""
    if is_site_banned(person):
        raise LemmyError("site_ban")
    if person.deleted:
        raise LemmyError("deleted")


def check_not_a_bot(person: Person) -> None:
    """Lemmy's `check_bot_account`: a bot account may not vote (on posts or comments, through the API)."""
    if person.bot_account:
        raise LemmyError("invalid_bot_action")


async def is_banned_from(session: AsyncSession, community_id: int, person_id: int) -> bool:
    row = (
        await session.execute(
            select(CommunityPersonBan.expires).where(
                CommunityPersonBan.community_id == community_id, CommunityPersonBan.person_id == person_id
            )
        )
    ).first()
    return row is not None and (row[0] is None or row[0] > utcnow())


def banned_here(community_id: Col[Any], person_id: ColumnElement[int] | int) -> ColumnElement[bool]:
    """`is_banned_from` as a column, for a statement that reads the community anyway (the rule the views show:
    a ban whose expiry has passed no longer counts)."""
    return views_is_banned_from(community_id, person_id, per_row=True)


async def is_moderator(session: AsyncSession, community_id: int, person_id: int) -> bool:
    found = await session.scalar(
        select(CommunityModerator.person_id).where(
            CommunityModerator.community_id == community_id, CommunityModerator.person_id == person_id
        )
    )
    return found is not None


async def is_mod_or_admin(session: AsyncSession, actor: Actor, community_id: int) -> bool:
    return (
        actor.is_admin
        or await is_moderator(session, community_id, actor.person_id)
        or await speaks_for_community_instance(session, actor, community_id)
    )


async def speaks_for_community_instance(session: AsyncSession, actor: Actor, community_id: int) -> bool:
    """Lemmy's `verify_mod_action`: a mod action by a person of the remote community's own server is taken as
    that server's admin's (Lemmy does not federate who its admins are). Never for a local person or community."""
    if actor.person.local:
        return False
    instance_id = await session.scalar(
        select(Community.instance_id).where(Community.id == community_id, Community.local.is_(False))
    )
    return instance_id is not None and instance_id == actor.person.instance_id


async def check_community_user_action(
    session: AsyncSession, actor: Actor, community: Community, *, banned: bool | None = None
) -> None:
    """Writing in a community (post, comment, vote, edit, delete, report, follow): a valid person, not banned
    from it, a live community, and a local-only community only for this server's people. `banned` is the ban
    as the caller read it with the community (`banned_here`, a column of its statement: one round trip less on
    the busiest writes); without it, it is read here."""
    check_person_valid(actor.person)
    # First: to a person of another server a local-only community does not exist, whatever else is true of it.
    if community.visibility == "LocalOnly" and not actor.person.local:
        raise LemmyError("couldnt_find_community", status=404)
    if banned is None:
        banned = await is_banned_from(session, community.id, actor.person_id)
    if banned:
        raise LemmyError("banned_from_community")
    if community.deleted or community.removed:
        raise LemmyError("deleted")


async def check_can_post(session: AsyncSession, actor: Actor, community: Community) -> None:
    """A new post: the community gate, and `posting_restricted_to_mods`."""
    await check_community_user_action(session, actor, community)
    if community.posting_restricted_to_mods and not await is_mod_or_admin(session, actor, community.id):
        raise LemmyError("only_mods_can_post_in_community")


async def check_can_comment(
    session: AsyncSession, actor: Actor, post: Post, community: Community, *, banned: bool | None = None
) -> None:
    """A new comment: the community gate (`banned` as there), and a post that is neither locked nor gone.
    Moderators and admins may still write under a locked post (to explain why it is)."""
    await check_community_user_action(session, actor, community, banned=banned)
    if post.deleted or post.removed:
        raise LemmyError("deleted")
    if post.locked and not await is_mod_or_admin(session, actor, community.id):
        raise LemmyError("locked")


async def check_community_mod_action(
    session: AsyncSession, actor: Actor, community: Community, *, allow_deleted: bool = False
) -> None:
    """A moderator's action (or an admin's): a valid person, mod of this community or admin, not banned from it,
    and (unless restoring) a live community."""
    check_person_valid(actor.person)
    if not await is_mod_or_admin(session, actor, community.id):
        raise LemmyError("not_a_mod_or_admin")
    if not actor.is_admin and await is_banned_from(session, community.id, actor.person_id):
        raise LemmyError("banned_from_community")
    if not allow_deleted and (community.deleted or community.removed):
        raise LemmyError("deleted")


async def check_remove_community(session: AsyncSession, actor: Actor, community: Community) -> None:
    """Removing or restoring a community. Here: a moderator's rights first (`not_a_mod_or_admin`, even for a
    removed community), then an admin only (`not_an_admin`). By federation (Lemmy's `verify_mod_action`): a
    moderator of the community or a person of its own server, and never one of our communities, which only
    our admins remove (`only_local_admin_can_remove_community`)."""
    await check_community_mod_action(session, actor, community, allow_deleted=True)
    if actor.person.local:
        check_is_admin(actor)
    elif community.local:
        raise LemmyError("only_local_admin_can_remove_community")


async def check_delete_community(session: AsyncSession, actor: Actor, community: Community) -> None:
    """Deleting or restoring a community (not a removal). Here: its top moderator only (the creator, first in
    the list: `not_top_mod`). By federation (Lemmy's `verify_mod_action`): any moderator of the community, or a
    person of the remote community's own server."""
    await check_community_mod_action(session, actor, community, allow_deleted=True)
    if not actor.person.local and not community.local:
        return
    # One of our communities: only its top moderator deletes it, whichever server they are on.
    top = await session.scalar(
        select(CommunityModerator.person_id)
        .where(CommunityModerator.community_id == community.id)
        .order_by(CommunityModerator.published, CommunityModerator.person_id)
        .limit(1)
    )
    if top != actor.person_id:
        raise LemmyError("not_top_mod")


def check_account_deletion(actor: Actor, target: Person) -> None:
    """A person's account is deleted by that person only (Lemmy's `DeleteUser`: actor and object are the same)."""
    if actor.person_id != target.id:
        raise LemmyError("couldnt_update_user")


def check_is_admin(actor: Actor) -> None:
    check_person_valid(actor.person)
    if not actor.is_admin:
        raise LemmyError("not_an_admin")


async def check_can_message(session: AsyncSession, actor: Actor, recipient_id: int) -> None:
    """A new private message (Lemmy's create_private_message): a valid sender (not site-banned, not deleted), and
    a recipient who has not blocked them (`person_is_blocked`)."""
    check_person_valid(actor.person)
    blocked = await session.scalar(
        select(PersonBlock.person_id).where(
            PersonBlock.person_id == recipient_id, PersonBlock.target_id == actor.person_id
        )
    )
    if blocked is not None:
        raise LemmyError("person_is_blocked")


def check_private_message_creator(actor: Actor, message: PrivateMessage) -> None:
    """Editing, deleting or restoring a private message: its creator only (`edit_private_message_not_allowed`)."""
    check_person_valid(actor.person)
    if message.creator_id != actor.person_id:
        raise LemmyError("edit_private_message_not_allowed")


def check_private_message_recipient(actor: Actor, message: PrivateMessage, error: str) -> None:
    """Marking a private message read (`couldnt_update_private_message`) or reporting it (`couldnt_create_report`):
    its recipient only."""
    check_person_valid(actor.person)
    if message.recipient_id != actor.person_id:
        raise LemmyError(error)


async def check_remote_site_ban(session: AsyncSession, actor: Actor, target: Person) -> None:
    """A site ban arriving from another server (Lemmy's BlockUser with a site target): its sender bans a person
    of their own server only (Lemmy does not federate who its admins are), and never one of ours. While our own
    admins' ban of that person stands, the other server neither lifts nor shortens it."""
    check_person_valid(actor.person)
    if actor.person.local or target.local or actor.person.instance_id != target.instance_id:
        raise LemmyError("not_an_admin")
    if is_site_banned(target) and await _site_banned_here(session, target.id):
        raise LemmyError("banned")


async def _site_banned_here(session: AsyncSession, person_id: int) -> bool:
    """Whether the person's standing site ban is our admins' (the newest ModBan row names one of our people)."""
    latest = (
        await session.execute(
            select(ModlogEntry.state, Person.local)
            .join(Person, Person.id == ModlogEntry.mod_person_id)
            .where(ModlogEntry.kind == "ModBan", ModlogEntry.other_person_id == person_id)
            .order_by(ModlogEntry.published.desc(), ModlogEntry.id.desc())
            .limit(1)
        )
    ).first()
    return latest is not None and bool(latest[0]) and bool(latest[1])


async def is_mod_of_any_or_admin(session: AsyncSession, actor: Actor) -> bool:
    """Lemmy's `check_community_mod_of_any_or_admin_action` as a yes/no: a valid person who is an admin or
    moderates some community (report queues, report counts, moderators' names in the modlog)."""
    if is_site_banned(actor.person) or actor.person.deleted:
        return False
    if actor.is_admin:
        return True
    found = await session.scalar(
        select(CommunityModerator.community_id).where(CommunityModerator.person_id == actor.person_id).limit(1)
    )
    return found is not None


async def check_mod_of_any_or_admin(session: AsyncSession, actor: Actor) -> None:
    check_person_valid(actor.person)
    if not await is_mod_of_any_or_admin(session, actor):
        raise LemmyError("not_a_mod_or_admin")


async def _admin_since(session: AsyncSession, person_id: int) -> tuple[object, int] | None:
    row = (
        await session.execute(
            select(Person.published, Person.id)
            .join(LocalUser, LocalUser.person_id == Person.id)
            .where(Person.id == person_id, LocalUser.admin.is_(True))
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def _mod_since(session: AsyncSession, community_id: int, person_id: int) -> tuple[object, int] | None:
    row = (
        await session.execute(
            select(CommunityModerator.published, CommunityModerator.person_id).where(
                CommunityModerator.community_id == community_id, CommunityModerator.person_id == person_id
            )
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def outranks(session: AsyncSession, actor: Actor, target_person_id: int, community_id: int | None) -> bool:
    """Whether `actor` stands above `target_person_id`, here (a community) or on the site (`community_id` None).
    Nobody outranks themself."""
    if actor.person_id == target_person_id:
        return False
    if community_id is not None and await speaks_for_community_instance(session, actor, community_id):
        return True
    target_admin = await _admin_since(session, target_person_id)
    if actor.is_admin:
        if target_admin is None:
            return True
        mine = await _admin_since(session, actor.person_id)
        return mine is not None and mine < target_admin
    if target_admin is not None or community_id is None:
        return False
    mine = await _mod_since(session, community_id, actor.person_id)
    if mine is None:
        return False
    theirs = await _mod_since(session, community_id, target_person_id)
    return theirs is None or mine < theirs


async def check_outranks(session: AsyncSession, actor: Actor, target_person_id: int, community_id: int | None) -> None:
    """Acting on another moderator or admin (banning, removing a moderator) needs a higher rank (`not_higher_mod`,
    or `not_higher_admin` on the site)."""
    if not await outranks(session, actor, target_person_id, community_id):
        raise LemmyError("not_higher_mod" if community_id is not None else "not_higher_admin")
