"""Moderation activities arriving from other servers (Lemmy 0.19 `activities/{deletion,block,community}`).

Each handler finds what the activity is about, then runs the same action a local moderator's API call runs
(actions/moderation.py, actions/people.py, actions/reports.py) with the sender as a RemoteActor, so the one access
gate (actions/access.py) decides: a moderator of the community, or a person of the remote community's own server
(Lemmy's `verify_mod_action`). A refusal raises inside the activity's one transaction (Inbox._apply), which
rolls back whole: nothing is stored, not even the activity's id, as for every refusal of the inbox.

- Delete / Undo{Delete} with `summary` (Lemmy's removal; the reason, "" for none): remove or restore a post,
  comment or remote community; without `summary`, of a community: its deletion by a moderator.
- Delete of a Person by that person (Lemmy's DeleteUser): the account deleted, with `removeData` its content.
- Lock / Undo{Lock} of a post.
- Add / Remove with `target` = the community's featured collection (a post) or moderators collection (a person).
- Block / Undo{Block}: `target` = a community (community ban, `expires`, `removeData`) or a site (site ban: the
  actor, the person and the site share one host, never ours: only an instance bans its own people).
- Flag: a report of a post or comment stored here, for the community's moderators.
- Update{Group} by a moderator: a remote community's title, description, icons and flags.

Each is taken directly (sent to our inbox) and inside the community's Announce (then only about that
community's own content: R3). Activities in our own communities are re-announced to their followers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import account_deletion, communities, moderation, people, reports
from moot.actions.access import check_remote_site_ban
from moot.actions.remote import update_remote_community
from moot.db.comment import Comment
from moot.db.community import Community
from moot.db.person import Person
from moot.db.post import Post
from moot.domain.errors import LemmyError
from moot.domain.timefmt import as_utc
from moot.federation.parse import ParsedActivity, Refused, id_of, is_public, parse_actor, same_host
from moot.federation.resolve import Resolver
from moot.queries.viewer import RemoteActor

if TYPE_CHECKING:
    from moot.federation.inbox import Inbox, Received

ModHandler = Callable[[Resolver, ParsedActivity, Community | None, "Received"], Awaitable[None]]


def _summary(data: dict[str, Any]) -> str | None:
    value = data.get("summary")
    return value.strip() or None if isinstance(value, str) else None


def is_removal(data: dict[str, Any]) -> bool:
    """Lemmy tells a moderator's removal from the author's own deletion by the presence of `summary`."""
    return isinstance(data.get("summary"), str)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return as_utc(datetime.fromisoformat(value.strip().upper()))
    except (ValueError, OverflowError):
        return None


def _same_community(community_id: int, by: Community | None) -> None:
    if by is not None and community_id != by.id:
        raise Refused("the announced activity is about another community's content")


class ModerationInbox:
    """The moderation handlers of one Inbox (they use its one-transaction `_apply` and its re-announce)."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def handlers(self) -> dict[str, ModHandler]:
        return {
            "Lock": self.on_lock,
            "Add": self.on_add,
            "Remove": self.on_remove,
            "Block": self.on_block,
            "Flag": self.on_flag,
        }

    async def _mod(self, resolver: Resolver, activity: ParsedActivity) -> RemoteActor:
        return RemoteActor(person=await resolver.person(activity.actor))

    async def _apply_in(
        self,
        activity: ParsedActivity,
        community_id: int,
        by: Community | None,
        received: Received,
        change: Callable[[AsyncSession], Awaitable[object]],
    ) -> None:
        """The change, then the re-announce when the community is ours, in the activity's one transaction."""

        async def apply(session: AsyncSession) -> None:
            await change(session)
            await self.inbox._announce_if_ours(session, activity, community_id, by)

        await self.inbox._apply(received, apply)

    # Delete / Undo{Delete} by a moderator

    async def removal(
        self,
        resolver: Resolver,
        activity: ParsedActivity,
        delete: dict[str, Any],
        restore: bool,
        by: Community | None,
        received: Received,
    ) -> None:
        """`delete` is the Delete (itself, or the one inside the Undo): its object and `summary` say what and why."""
        target_id = id_of(delete.get("object")) or ""
        reason = _summary(delete)
        if await self.community_deletion(resolver, activity, target_id, restore, reason, True, by, received):
            return
        target = await resolver.find_object(target_id)
        if target is None:
            return await self.inbox._apply(received)  # never seen: nothing to remove
        community_id = await self.inbox._community_of(target)
        _same_community(community_id, by)
        mod = await self._mod(resolver, activity)

        async def change(session: AsyncSession) -> None:
            if isinstance(target, Post):
                await moderation.remove_post(session, mod, target.id, not restore, reason)
            else:
                await moderation.remove_comment(session, mod, target.id, not restore, reason)

        await self._apply_in(activity, community_id, by, received, change)

    # Delete / Undo{Delete} of a community (Group): a removal with `summary`, a moderator's deletion without

    async def community_deletion(
        self,
        resolver: Resolver,
        activity: ParsedActivity,
        target_id: str,
        restore: bool,
        reason: str | None,
        removal: bool,
        by: Community | None,
        received: Received,
    ) -> bool:
        """When `target_id` is a community we know: its removal (or deletion) by a moderator or a person of its
        own server (the gate decides, actions/access.py), and True; False when it is no community of ours."""
        async with self.inbox.db.read() as session:
            community = await session.scalar(select(Community).where(Community.ap_id == target_id))
        if community is None:
            return False
        if not is_public(activity.raw):
            raise Refused("the deletion of a community must be addressed to Public")
        _same_community(community.id, by)
        mod = await self._mod(resolver, activity)
        community_id = community.id

        async def change(session: AsyncSession) -> None:
            if removal:
                await moderation.remove_community(session, mod, community_id, not restore, reason)
            else:
                await communities.delete_community(session, mod, community_id, not restore)

        await self._apply_in(activity, community_id, by, received, change)
        return True

    # Delete of a person's account (Lemmy's DeleteUser, sent to every instance, never announced)

    async def account_deletion(self, activity: ParsedActivity, by: Community | None, received: Received) -> None:
        """The person deleted their account on their own server (actor = object, the gate checks it): marked
        deleted here, their posts and comments deleted too with `removeData`. Someone never seen: nothing to do."""
        if by is not None:
            raise Refused("an account deletion is never announced by a community")
        if not is_public(activity.raw):
            raise Refused("an account deletion must be addressed to Public")
        async with self.inbox.db.read() as session:
            person = await session.scalar(select(Person).where(Person.ap_id == activity.actor))
        if person is None:
            return await self.inbox._apply(received)
        if person.local:
            raise Refused("a local account is deleted on this server only")
        actor = RemoteActor(person=person)
        person_id = person.id
        remove_data = activity.raw.get("removeData") is True

        async def change(session: AsyncSession) -> None:
            await account_deletion.delete_person(session, actor, person_id, remove_data)

        await self.inbox._apply(received, change)

    # Lock / Undo{Lock}

    async def on_lock(
        self, resolver: Resolver, activity: ParsedActivity, by: Community | None, received: Received
    ) -> None:
        await self._lock(resolver, activity, activity.object_id or "", True, by, received)

    async def _lock(
        self,
        resolver: Resolver,
        activity: ParsedActivity,
        post_ap_id: str,
        locked: bool,
        by: Community | None,
        received: Received,
    ) -> None:
        target = await resolver.find_object(post_ap_id)
        if target is None:
            return await self.inbox._apply(received)
        if not isinstance(target, Post):
            raise Refused("only posts are locked")
        _same_community(target.community_id, by)
        mod = await self._mod(resolver, activity)
        post_id = target.id

        async def change(session: AsyncSession) -> None:
            await moderation.lock_post(session, mod, post_id, locked)

        await self._apply_in(activity, target.community_id, by, received, change)

    # Add / Remove to a community's collections

    async def on_add(
        self, resolver: Resolver, activity: ParsedActivity, by: Community | None, received: Received
    ) -> None:
        await self._collection(resolver, activity, True, by, received)

    async def on_remove(
        self, resolver: Resolver, activity: ParsedActivity, by: Community | None, received: Received
    ) -> None:
        await self._collection(resolver, activity, False, by, received)

    async def _collection_owner(self, target: str) -> tuple[Community, str]:
        """The community whose featured or moderators collection `target` is, and which of the two."""
        guesses = [target.removesuffix("/featured"), target.removesuffix("/moderators")]
        async with self.inbox.db.read() as session:
            rows = await session.scalars(
                select(Community).where(
                    or_(
                        Community.featured_url == target,
                        Community.moderators_url == target,
                        Community.ap_id.in_([g for g in guesses if g != target]),
                    )
                )
            )
            for community in rows.all():
                if target in (community.featured_url, f"{community.ap_id}/featured"):
                    return community, "featured"
                if target in (community.moderators_url, f"{community.ap_id}/moderators"):
                    return community, "moderators"
        raise Refused("Add/Remove to a collection of no community we know")

    async def _collection(
        self, resolver: Resolver, activity: ParsedActivity, added: bool, by: Community | None, received: Received
    ) -> None:
        community, collection = await self._collection_owner(id_of(activity.raw.get("target")) or "")
        _same_community(community.id, by)
        mod = await self._mod(resolver, activity)
        object_id = activity.object_id or ""
        community_id = community.id
        if collection == "featured":
            found = await resolver.find_object(object_id)
            if found is None and added:
                found = await resolver.object(object_id)
            if found is None:
                return await self.inbox._apply(received)
            if not isinstance(found, Post) or found.community_id != community_id:
                raise Refused("only a post of the community itself is featured in it")
            post_id = found.id

            async def feature(session: AsyncSession) -> None:
                await moderation.feature_post(session, mod, post_id, added, "Community")

            return await self._apply_in(activity, community_id, by, received, feature)
        person = await resolver.person(object_id)

        async def appoint(session: AsyncSession) -> None:
            try:
                await people.add_moderator(session, mod, community_id, person.id, added)
            except LemmyError as exc:
                if exc.error != "community_moderator_already_exists":
                    raise
                # Already known as one (from the moderators collection): checked before anything changed.

        await self._apply_in(activity, community_id, by, received, appoint)

    # Block / Undo{Block}

    async def on_block(
        self, resolver: Resolver, activity: ParsedActivity, by: Community | None, received: Received
    ) -> None:
        await self._block(resolver, activity, activity.raw, True, by, received)

    async def _block(
        self,
        resolver: Resolver,
        activity: ParsedActivity,
        block: dict[str, Any],
        banned: bool,
        by: Community | None,
        received: Received,
    ) -> None:
        if not is_public(activity.raw):
            raise Refused("a ban must be addressed to Public")
        target = id_of(block.get("target")) or ""
        person_ap_id = id_of(block.get("object")) or ""
        reason = _summary(block)
        expires = _time(block.get("expires") or block.get("endTime")) if banned else None
        remove_data = bool(activity.raw.get("removeData" if banned else "restoreData") or block.get("removeData"))
        community = await self._community_target(resolver, target)
        mod = await self._mod(resolver, activity)
        if community is None:
            # A site ban: only an instance's own admin bans its own person, and never one of ours (Lemmy's rule).
            if by is not None:
                raise Refused("a site ban is never announced by a community")
            if not (same_host(target, activity.actor) and same_host(target, person_ap_id)):
                raise Refused("a site ban comes from the banned person's own instance")
            if resolver.is_local(person_ap_id):
                raise Refused("site bans from a remote instance can't affect this instance's people")
            person = await resolver.person(person_ap_id)

            async def site_ban(session: AsyncSession) -> None:
                target = await people.load_person(session, person.id)  # this transaction's row, to change
                await check_remote_site_ban(session, mod, target)
                await people.set_site_ban(
                    session, mod.person_id, target, banned, reason, expires, remove_data,
                    only_instance_id=mod.person.instance_id,
                )  # fmt: skip

            return await self.inbox._apply(received, site_ban)
        _same_community(community.id, by)
        person = await resolver.person(person_ap_id)
        community_id = community.id

        async def community_ban(session: AsyncSession) -> None:
            await people.ban_from_community(
                session, mod, community_id, person.id, banned, reason=reason, expires=expires, remove_data=remove_data
            )

        await self._apply_in(activity, community_id, by, received, community_ban)

    async def _community_target(self, resolver: Resolver, target: str) -> Community | None:
        """The community a Block names, or None for a site (`https://host/`, Lemmy's site actor)."""
        async with self.inbox.db.read() as session:
            found = await session.scalar(select(Community).where(Community.ap_id == target))
        if found is not None:
            return found
        try:
            host_path = target.split("://", 1)[1]
        except IndexError:
            raise Refused("Block target is not a URL") from None
        if "/" not in host_path.rstrip("/"):
            return None
        return await resolver.community(target)

    # Undo of the above

    async def on_undo(
        self, resolver: Resolver, activity: ParsedActivity, by: Community | None, received: Received
    ) -> bool:
        """Undo{Delete-with-summary, Lock, Block}; False when the Undo is of something else."""
        inner = activity.object
        if inner is None:
            return False
        kind = inner.get("type")
        if kind == "Delete" and is_removal(inner):
            await self.removal(resolver, activity, inner, True, by, received)
        elif kind == "Lock":
            await self._lock(resolver, activity, id_of(inner.get("object")) or "", False, by, received)
        elif kind == "Block":
            await self._block(resolver, activity, inner, False, by, received)
        else:
            return False
        return True

    # Flag

    async def on_flag(
        self, resolver: Resolver, activity: ParsedActivity, by: Community | None, received: Received
    ) -> None:
        """A report (Lemmy, Mastodon and Mbin: `object` may list the reported account beside the content): kept
        for the moderators of the reported post's or comment's community, when that content is stored here."""
        reason = _summary(activity.raw) or (
            activity.raw["content"].strip() if isinstance(activity.raw.get("content"), str) else ""
        )
        target: Post | Comment | None = None
        for object_id in activity.object_ids:
            target = await resolver.find_object(object_id)
            if target is not None:
                break
        if target is None:
            raise Refused("the report names no post or comment stored here")
        _same_community(await self.inbox._community_of(target), by)
        reporter = await resolver.person(activity.actor)
        object_ap_id, flag_id = target.ap_id, activity.ap_id

        async def report(session: AsyncSession) -> None:
            await reports.receive_report(session, reporter, object_ap_id, reason, flag_id)

        await self.inbox._apply(received, report)

    # Update{Group}

    async def on_update_group(
        self, resolver: Resolver, activity: ParsedActivity, by: Community | None, received: Received
    ) -> None:
        """A moderator changed a remote community: its title, description, icon, banner, NSFW and posting flags
        (never its keys, inbox or collections, which only its own document says)."""
        group = activity.object
        if group is None:
            raise Refused("Update{Group} must embed the Group")
        async with self.inbox.db.read() as session:
            community = await session.scalar(select(Community).where(Community.ap_id == activity.object_id))
        if community is None:
            return await self.inbox._apply(received)  # not followed here: nothing to update
        if community.local:
            raise Refused("a local community is changed on this server only")
        _same_community(community.id, by)
        parsed = parse_actor(group, expected_id=community.ap_id)
        mod = await self._mod(resolver, activity)
        community_id = community.id

        async def change(session: AsyncSession) -> None:
            await update_remote_community(
                session,
                mod,
                community_id,
                title=parsed.display_name or parsed.name,
                description=parsed.summary,
                icon=parsed.icon,
                banner=parsed.banner,
                nsfw=parsed.sensitive,
                posting_restricted_to_mods=parsed.posting_restricted_to_mods,
            )

        await self.inbox._apply(received, change)
