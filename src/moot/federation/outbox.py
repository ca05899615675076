"""Outgoing activities, recorded in the same transaction as the change they describe (transactional outbox).

The actions call these functions after they change something. Only changes made by local people produce
activities here; what arrives from other servers is re-announced by the inbox instead. Nothing is sent now:
a row goes into `sent_activity`, and the delivery tasks (federation/delivery.py) send it, in order, per
instance, surviving restarts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Insert, bindparam, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.base import table_of
from moot.db.comment import Comment
from moot.db.community import Community, CommunityLanguage
from moot.db.engine import write_at_commit, writes_at_commit
from moot.db.fast_read import FastWrite
from moot.db.federation import SentActivity
from moot.db.message import PrivateMessage
from moot.db.person import Person
from moot.db.post import Post
from moot.db.site import LocalSite, Site
from moot.domain.commentpath import parent_id
from moot.domain.mentions import scrape_mentions
from moot.domain.timefmt import lemmy_time, utcnow
from moot.domain.visibility import visible_to_other_servers
from moot.federation import protocol
from moot.federation.protocol import PUBLIC, Json

# Activities the community re-announces to its followers (FEP-1b12).
ANNOUNCED = {"Create", "Update", "Delete", "Undo", "Like", "Dislike", "Remove", "Add", "Lock", "Block"}


def origin(ap_id: str) -> str:
    parts = urlsplit(ap_id)
    return f"{parts.scheme}://{parts.netloc}"


_RECORDED = ("ap_id", "data", "send_inboxes", "send_community_followers_of", "send_all_instances", "actor_ap_id",
             "published")  # fmt: skip


def _record_statement() -> Insert:
    """INSERT ... SELECT of one activity's values, the SELECT empty while federation is off. Built once with
    bound values (`sent_<column>`): building it for each activity cost more Python than the database's work."""
    columns = SentActivity.__table__.c
    row = select(*[bindparam(f"sent_{name}", type_=columns[name].type).label(name) for name in _RECORDED])
    federating = exists().where(LocalSite.federation_enabled.is_(True))
    # The table, not the entity: with a dict of values the ORM would take an entity insert for a bulk one.
    return insert(table_of(SentActivity)).from_select(list(_RECORDED), row.where(federating))


_RECORD = FastWrite(_record_statement())  # compiled once, run through the driver (db/fast_read.py)


@dataclass(frozen=True, slots=True)
class Activity:
    """An activity for the log, and where it goes: `inboxes`, the followers of the community `followers_of`, or
    every instance we know (`all_instances`)."""

    data: Json
    inboxes: list[str] | None = None
    followers_of: int | None = None
    all_instances: bool = False
    # A private message's: its text is never written into SQL text (as the commit's kept writes are: the
    # server's logs may show a statement), it goes out with bound values.
    private: bool = False

    def values(self) -> dict[str, Any]:
        return {
            "ap_id": str(self.data["id"]),
            "data": json.dumps(self.data, separators=(",", ":"), ensure_ascii=False),
            "send_inboxes": json.dumps(sorted(set(self.inboxes or []))),
            "send_community_followers_of": self.followers_of,
            "send_all_instances": self.all_instances,
            "actor_ap_id": str(self.data["actor"]),
            "published": utcnow(),
        }


async def record(
    session: AsyncSession,
    data: Json,
    *,
    inboxes: list[str] | None = None,
    followers_of: int | None = None,
    all_instances: bool = False,
    private: bool = False,
) -> None:
    """One row in the log, unless the admin turned federation off (`federation_enabled`): then nothing made
    meanwhile is ever sent, not even after it is turned on again (as Lemmy refuses every send while it is off).
    The switch is read by the INSERT itself, so a write pays no extra statement for it."""
    await record_all(session, [Activity(data, inboxes, followers_of, all_instances, private)])


async def record_all(session: AsyncSession, activities: list[Activity]) -> None:
    """`record` for the activities of one change. In a write block on PostgreSQL they go out with its COMMIT
    (db/engine.py `write_at_commit`): no round trip of their own."""
    for activity in activities:
        values = {f"sent_{name}": value for name, value in activity.values().items()}
        if writes_at_commit(session) and not activity.private:
            write_at_commit(session, _RECORD.statement, values)
        else:
            await session.flush()  # the change this activity describes goes first, as it always has
            await _RECORD.rows(session, values)


async def send_to_community(session: AsyncSession, community: Community, data: Json, extra_inboxes: list[str]) -> None:
    """A local community announces the activity to its followers' instances; a remote one gets it in its inbox
    and announces it itself. People named in `extra_inboxes` (mentions, parent authors) get it directly.
    Nothing of a local-only community ever leaves this server, to anyone (domain/visibility.py)."""
    if not visible_to_other_servers(community):
        return
    if not community.local:
        inbox = community.inbox_url or f"{community.ap_id}/inbox"
        await record(session, data, inboxes=[inbox, *extra_inboxes])
        return
    announces = [Activity(protocol.announce(origin(community.ap_id), community, data), followers_of=community.id)]
    if data.get("type") in ("Create", "Update") and isinstance(data.get("object"), dict):
        obj = data["object"]
        if obj.get("type") == "Page":
            # Mastodon and Pleroma cannot handle Announce{Create{Page}}; they get Announce{Page} too.
            page_announce = protocol.announce(origin(community.ap_id), community, {**obj, "actor": data["actor"]})
            announces.append(Activity(page_announce, followers_of=community.id))
    if extra_inboxes:
        announces.append(Activity(data, inboxes=extra_inboxes))
    await record_all(session, announces)


async def _community(session: AsyncSession, community_id: int) -> Community:
    community = await session.get(Community, community_id)
    if community is None:  # pragma: no cover - callers pass ids of rows they just used
        raise LookupError(community_id)
    return community


def _create_or_update(kind: str, actor: Person, obj: Json, community: Community, cc: list[str]) -> Json:
    return protocol.activity(
        origin(actor.ap_id),
        kind,
        actor.ap_id,
        obj,
        to=[PUBLIC],
        cc=list(dict.fromkeys([community.ap_id, *cc])),
        audience=community.ap_id,
    )


async def post_saved(session: AsyncSession, actor: Person, post: Post, created: bool) -> None:
    if not actor.local:
        return
    community = await _community(session, post.community_id)
    page = protocol.page_json(post, actor, community)
    data = _create_or_update("Create" if created else "Update", actor, page, community, [])
    await send_to_community(session, community, data, [])


async def _mentions(session: AsyncSession, comment: Comment, parent_author: Person | None) -> list[tuple[Person, str]]:
    found: list[tuple[Person, str]] = []
    if parent_author is not None:
        found.append((parent_author, f"@{parent_author.name}@{urlsplit(parent_author.ap_id).netloc}"))
    for mention in scrape_mentions(comment.content):
        rows = await session.scalars(select(Person).where(Person.name == mention.name))
        for person in rows.all():
            if urlsplit(person.ap_id).netloc.lower() == mention.domain:
                found.append((person, f"@{mention.name}@{mention.domain}"))
    unique: dict[str, tuple[Person, str]] = {}
    for person, name in found:
        unique.setdefault(person.ap_id, (person, name))
    return list(unique.values())


async def comment_note(
    session: AsyncSession, comment: Comment, creator: Person, community: Community
) -> tuple[Json, list[Person]]:
    """The Note of a local comment and the people it mentions: the one builder for the Note sent in its
    Create/Update and the Note served at its id, so both carry the same mentions (the author of the post or
    comment it replies to, and every `@name@host` in it that names someone we know)."""
    post = await session.get(Post, comment.post_id)
    assert post is not None
    parent_ap_id, parent_author = post.ap_id, await session.get(Person, post.creator_id)
    replied_to = parent_id(comment.path)
    if replied_to is not None:
        parent = await session.get(Comment, replied_to)
        if parent is not None:
            parent_ap_id, parent_author = parent.ap_id, await session.get(Person, parent.creator_id)
    mentioned = await _mentions(session, comment, parent_author)
    note = protocol.note_json(comment, creator, community, parent_ap_id, [(p.ap_id, n) for p, n in mentioned])
    return note, [p for p, _ in mentioned]


async def comment_saved(session: AsyncSession, actor: Person, comment: Comment, created: bool) -> None:
    if not actor.local:
        return
    post = await session.get(Post, comment.post_id)
    assert post is not None
    community = await _community(session, post.community_id)
    note, mentioned = await comment_note(session, comment, actor, community)
    data = _create_or_update("Create" if created else "Update", actor, note, community, [p.ap_id for p in mentioned])
    inboxes = [p.shared_inbox_url or p.inbox_url or "" for p in mentioned if not p.local]
    await send_to_community(session, community, data, [i for i in inboxes if i])


async def vote(session: AsyncSession, actor: Person, object_ap_id: str, community_id: int, old: int, new: int) -> None:
    """A vote is a Like or Dislike; taking it back is an Undo of the old one. A changed vote is the new one
    alone, as Lemmy 0.19 sends it (`send_like_activity`): a receiver replaces the voter's vote with it (Moot's
    inbox does, through the same `vote_post`), so an Undo before it was one more activity to store and deliver."""
    if not actor.local or old == new:
        return
    community = await _community(session, community_id)
    base = origin(actor.ap_id)
    if new == 0:
        previous = protocol.activity(
            base, "Like" if old == 1 else "Dislike", actor.ap_id, object_ap_id, to=[], cc=[], audience=community.ap_id
        )
        undo = protocol.activity(base, "Undo", actor.ap_id, previous, to=[PUBLIC], cc=[community.ap_id])
        undo["audience"] = community.ap_id
        await send_to_community(session, community, undo, [])
    else:
        kind = "Like" if new == 1 else "Dislike"
        data = protocol.activity(base, kind, actor.ap_id, object_ap_id, to=[], cc=[], audience=community.ap_id)
        await send_to_community(session, community, data, [])


async def deleted(session: AsyncSession, actor: Person, object_ap_id: str, community_id: int, restored: bool) -> None:
    if not actor.local:
        return
    community = await _community(session, community_id)
    base = origin(actor.ap_id)
    delete = protocol.activity(
        base, "Delete", actor.ap_id, object_ap_id, to=[PUBLIC], cc=[community.ap_id], audience=community.ap_id
    )
    data = delete
    if restored:
        data = protocol.activity(
            base, "Undo", actor.ap_id, delete, to=[PUBLIC], cc=[community.ap_id], audience=community.ap_id
        )
    await send_to_community(session, community, data, [])


async def follow(session: AsyncSession, actor: Person, community: Community, following: bool) -> None:
    """Following a remote community sends Follow (or Undo{Follow}) to its inbox; local follows need nothing."""
    if not actor.local or community.local:
        return
    base = origin(actor.ap_id)
    follow_data = protocol.activity(base, "Follow", actor.ap_id, community.ap_id, to=[community.ap_id], cc=[])
    data = (
        follow_data
        if following
        else protocol.activity(base, "Undo", actor.ap_id, follow_data, to=[community.ap_id], cc=[])
    )
    await record(session, data, inboxes=[community.inbox_url or f"{community.ap_id}/inbox"])


async def accept_follow(session: AsyncSession, community: Community, follower: Person, follow_data: Json) -> None:
    data = protocol.activity(
        origin(community.ap_id), "Accept", community.ap_id, follow_data, to=[follower.ap_id], cc=[]
    )
    await record(session, data, inboxes=[follower.inbox_url or f"{follower.ap_id}/inbox"])


async def announce_received(session: AsyncSession, community: Community, raw: dict[str, Any]) -> None:
    """Re-send an activity a remote person sent to our community, as received, to the community's followers."""
    await send_to_community(session, community, raw, [])


# Moderation (Lemmy 0.19 `activities/{deletion,block,community}`). The actions call these for every change a
# local moderator or admin makes; what a remote one did arrives through the inbox instead. In a local community
# the activity goes to its followers' instances inside the community's Announce; a local moderator of a remote
# community sends it to that community's inbox, which announces it.


def _inbox_of(person: Person) -> list[str]:
    if person.local:
        return []
    inbox = person.shared_inbox_url or person.inbox_url
    return [inbox] if inbox else []


async def mod_removed(
    session: AsyncSession, actor: Person, object_ap_id: str, community: Community, removed: bool, reason: str | None
) -> None:
    """A post or comment removed (Delete with `summary`) or restored (Undo{Delete}) by a moderator."""
    if not actor.local:
        return
    base = origin(actor.ap_id)
    data = protocol.mod_delete(base, actor.ap_id, object_ap_id, community.ap_id, reason)
    if not removed:
        data = protocol.undo(base, actor.ap_id, data, community.ap_id)
    await send_to_community(session, community, data, [])


async def community_removed(
    session: AsyncSession, actor: Person, community: Community, removed: bool, reason: str | None
) -> None:
    """An admin removed (or restored) a community: Delete{Group} with `summary`, announced by the community."""
    await mod_removed(session, actor, community.ap_id, community, removed, reason)


async def post_locked(session: AsyncSession, actor: Person, post: Post, community: Community, locked: bool) -> None:
    if not actor.local:
        return
    base = origin(actor.ap_id)
    data = protocol.lock_page(base, actor.ap_id, post.ap_id, community.ap_id)
    if not locked:
        data = protocol.undo(base, actor.ap_id, data, community.ap_id)
    await send_to_community(session, community, data, [])


async def post_featured(session: AsyncSession, actor: Person, post: Post, community: Community, featured: bool) -> None:
    """Featured in its community (not Local, which stays on this server): Add/Remove to `…/featured`."""
    if not actor.local:
        return
    kind = "Add" if featured else "Remove"
    target = protocol.featured_url(community)
    data = protocol.collection_change(origin(actor.ap_id), kind, actor.ap_id, post.ap_id, target, community.ap_id)
    await send_to_community(session, community, data, [])


async def moderator_changed(
    session: AsyncSession, actor: Person, community: Community, target: Person, added: bool
) -> None:
    """Add/Remove of `target` to the community's moderators collection; the person is told directly too."""
    if not actor.local:
        return
    kind = "Add" if added else "Remove"
    collection = protocol.moderators_url(community)
    data = protocol.collection_change(origin(actor.ap_id), kind, actor.ap_id, target.ap_id, collection, community.ap_id)
    await send_to_community(session, community, data, _inbox_of(target))


async def community_updated(session: AsyncSession, actor: Person, community: Community) -> None:
    """A moderator or admin edited (or an admin hid) a community: Update{Group} with the whole Group, by that
    person, announced by a local community to its followers (Lemmy's `UpdateCommunity`)."""
    if not actor.local:
        return
    await session.flush()  # the edited row and its languages, as the Group shows them
    languages = await session.scalars(
        select(CommunityLanguage.language_id).where(CommunityLanguage.community_id == community.id)
    )
    shared_inbox = community.shared_inbox_url or f"{origin(community.ap_id)}/inbox"
    group = protocol.group_json(community, shared_inbox, sorted(languages.all()))
    group.pop("@context", None)
    data = protocol.activity(
        origin(actor.ap_id),
        "Update",
        actor.ap_id,
        group,
        to=[PUBLIC],
        cc=[community.ap_id],
        audience=community.ap_id,
    )
    await send_to_community(session, community, data, [])


async def _local_site_ap_id(session: AsyncSession) -> str:
    ap_id = await session.scalar(select(Site.ap_id).join(LocalSite, LocalSite.site_id == Site.id))
    assert ap_id is not None
    return ap_id


async def person_banned(
    session: AsyncSession,
    actor: Person,
    target: Person,
    community: Community | None,
    banned: bool,
    reason: str | None,
    expires: datetime | None,
    remove_data: bool,
) -> None:
    """Block (or Undo{Block}) of `target`: from `community`, announced by it (the person's inbox told too),
    or, with `community` None, from this site, sent to every known instance."""
    if not actor.local:
        return
    base = origin(actor.ap_id)
    when = lemmy_time(expires) if expires is not None and banned else None
    if community is not None:
        block = protocol.block_user(
            base,
            actor.ap_id,
            target.ap_id,
            community.ap_id,
            community_ap_id=community.ap_id,
            cc=[community.ap_id],
            remove_data=remove_data if banned else None,
            reason=reason,
            expires=when,
        )
        data = block if banned else protocol.undo(base, actor.ap_id, block, community.ap_id)
        await send_to_community(session, community, data, _inbox_of(target))
        return
    block = protocol.block_user(
        base,
        actor.ap_id,
        target.ap_id,
        await _local_site_ap_id(session),
        community_ap_id=None,
        cc=[],
        remove_data=remove_data if banned else None,
        reason=reason,
        expires=when,
    )
    data = block if banned else protocol.undo(base, actor.ap_id, block, None, cc=[])
    await record(session, data, inboxes=_inbox_of(target), all_instances=True)


async def person_deleted(session: AsyncSession, person: Person, remove_data: bool) -> None:
    """A local person deleted their account (Lemmy's `DeleteUser`): Delete{Person} by the person themself, with
    `removeData` when their posts and comments go too, sent to every known instance."""
    if not person.local:
        return
    data = protocol.activity(
        origin(person.ap_id), "Delete", person.ap_id, person.ap_id, to=[PUBLIC], cc=[], removeData=remove_data
    )
    await record(session, data, all_instances=True)


async def reported(session: AsyncSession, actor: Person, object_ap_id: str, community: Community, reason: str) -> str:
    """A report (Flag) on content of a remote community goes to that community's inbox only; one in a local
    community stays here. Returns the Flag's id either way (the report row keeps it)."""
    data = protocol.flag(origin(actor.ap_id), actor.ap_id, object_ap_id, community.ap_id, reason)
    if actor.local and not community.local and visible_to_other_servers(community):
        inbox = community.shared_inbox_url or community.inbox_url or f"{community.ap_id}/inbox"
        await record(session, data, inboxes=[inbox])
    return str(data["id"])


# Private messages (Lemmy 0.19 `create_or_update/private_message.rs`, `deletion`): sent by their local creator to
# the remote recipient's inbox (shared inbox first, as Lemmy's `shared_inbox_or_inbox`), never to anyone else;
# a message between two local people sends nothing.


async def private_message_saved(
    session: AsyncSession, actor: Person, message: PrivateMessage, recipient: Person, created: bool
) -> None:
    if not actor.local or recipient.local:
        return
    obj = protocol.chat_message_json(message, actor, recipient)
    kind = "Create" if created else "Update"
    data = protocol.private_message_activity(origin(actor.ap_id), kind, actor.ap_id, obj, recipient.ap_id)
    await record(session, data, inboxes=_inbox_of(recipient), private=True)


async def private_message_deleted(
    session: AsyncSession, actor: Person, message: PrivateMessage, recipient: Person, deleted: bool
) -> None:
    """Delete of the message's id by its creator, or Undo{Delete} to restore it."""
    if not actor.local or recipient.local:
        return
    base = origin(actor.ap_id)
    data = protocol.private_message_activity(base, "Delete", actor.ap_id, message.ap_id, recipient.ap_id)
    if not deleted:
        data = protocol.private_message_activity(base, "Undo", actor.ap_id, data, recipient.ap_id)
    await record(session, data, inboxes=_inbox_of(recipient), private=True)
