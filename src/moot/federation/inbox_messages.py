"""Private messages arriving from other servers (Lemmy 0.19 `activities/create_or_update/private_message.rs`,
`activities/deletion`), and Mastodon's direct messages.

- Create / Update of a `ChatMessage` (Lemmy, Pleroma) by its author, `to` one person of this server: the message
  stored (or, when its id is known, its text changed) by actions/messages.py with the sender as a RemoteActor, so
  the same rules apply as to a local sender: a recipient who blocked them refuses it (`person_is_blocked`), a
  site-banned sender is refused, slurs are replaced, blocked URLs refused.
- A direct `Note` (Mastodon's "mentioned people only"): addressed to nobody public and no followers collection,
  to exactly one person, of this server, and not a reply to a post or comment we hold. It becomes a private
  message, never a comment (a non-public Note is never taken as a comment: parse.parse_comment).
- Delete / Undo{Delete} of a message's id by its author: the message deleted or restored.

A private message is never accepted inside an Announce: no community vouches for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import messages
from moot.db.community import Community
from moot.db.message import PrivateMessage
from moot.db.person import Person
from moot.domain.timefmt import as_utc, utcnow
from moot.federation.parse import (
    ParsedActivity,
    Refused,
    id_of,
    ids_of,
    is_public,
    markdown_of,
    require_str,
    same_host,
    type_of,
)
from moot.federation.resolve import Resolver
from moot.queries.viewer import RemoteActor

if TYPE_CHECKING:
    from moot.federation.inbox import Inbox, Received


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    ap_id: str
    author: str
    recipient: str
    content: str
    in_reply_to: str | None
    published: datetime | None
    updated: datetime | None


def _time(value: Any) -> datetime | None:
    """An RFC 3339 time of the document; a time in the future is taken as now."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = as_utc(datetime.fromisoformat(value.strip().upper()))
    except (ValueError, OverflowError):
        return None
    return min(moment, utcnow())


def _addressed(obj: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(ids_of(obj.get("to")) + ids_of(obj.get("cc"))))


def is_private_message(obj: dict[str, Any]) -> bool:
    """A `ChatMessage`, or a `Note` addressed to neither Public nor any followers collection (a direct message)."""
    kind = type_of(obj)
    if kind == "ChatMessage":
        return True
    if kind != "Note" or is_public(obj):
        return False
    return not any(target.rstrip("/").endswith("/followers") for target in _addressed(obj))


def parse_private_message(obj: dict[str, Any], actor: str) -> ParsedMessage:
    """The rules of Lemmy's ChatMessage::verify: the id and the author on the actor's host, the author the actor,
    one recipient."""
    ap_id = require_str(obj, "id")
    author = id_of(obj.get("attributedTo"))
    if author is None or author != actor:
        raise Refused("a private message is sent by its author only")
    if not same_host(ap_id, author):
        raise Refused("private message id and attributedTo are on different hosts")
    if is_public(obj):
        raise Refused("a private message is never addressed to Public")
    recipients = _addressed(obj)
    if len(recipients) != 1:
        raise Refused("a private message is addressed to exactly one person")
    return ParsedMessage(
        ap_id=ap_id,
        author=author,
        recipient=recipients[0],
        content=markdown_of(obj),
        in_reply_to=id_of(obj.get("inReplyTo")),
        published=_time(obj.get("published")),
        updated=_time(obj.get("updated")),
    )


class MessageInbox:
    """The private message handlers of one Inbox (they use its one-transaction `_apply`)."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def _local_person(self, ap_id: str) -> Person | None:
        async with self.inbox.db.read() as session:
            return await session.scalar(select(Person).where(Person.ap_id == ap_id, Person.local.is_(True)))

    async def _message(self, ap_id: str) -> PrivateMessage | None:
        async with self.inbox.db.read() as session:
            return await messages.private_message_by_ap_id(session, ap_id)

    async def create_or_update(
        self,
        resolver: Resolver,
        activity: ParsedActivity,
        obj: dict[str, Any],
        by: Community | None,
        received: Received,
    ) -> bool:
        """Takes a Create or Update whose object is a private message; False for anything else."""
        if not is_private_message(obj):
            return False
        if by is not None:
            raise Refused("a private message is never announced by a community")
        parsed = parse_private_message(obj, activity.actor)
        recipient = await self._local_person(parsed.recipient)
        if recipient is None:
            raise Refused("a private message must be addressed to one person of this server")
        if parsed.in_reply_to is not None and await resolver.find_object(parsed.in_reply_to) is not None:
            # Neither a comment (it is not public) nor a message (it answers a thread): nothing is stored.
            raise Refused("a reply to a post or comment that is not public is not taken")
        sender = RemoteActor(person=await resolver.person(activity.actor))
        settings = self.inbox.settings

        async def store(session: AsyncSession) -> None:
            existing = await messages.private_message_by_ap_id(session, parsed.ap_id)
            if existing is None:
                await messages.create_private_message(
                    session,
                    settings,
                    sender,
                    recipient.id,
                    parsed.content,
                    ap_id=parsed.ap_id,
                    published=parsed.published,
                    updated=parsed.updated,
                )
                return
            if existing.recipient_id != recipient.id:
                raise Refused("a private message keeps its recipient")
            held = existing.updated or existing.published
            if parsed.updated is not None and parsed.updated <= as_utc(held):
                return  # older than what we hold (delivered out of order, or replayed)
            await messages.edit_private_message(
                session, sender, existing.id, parsed.content, updated=parsed.updated or utcnow()
            )

        await self.inbox._apply(received, store)
        return True

    async def deletion(
        self, resolver: Resolver, activity: ParsedActivity, target_id: str, restore: bool, received: Received
    ) -> bool:
        """Takes a Delete (or Undo{Delete}) of a private message we hold; False when `target_id` is none."""
        message = await self._message(target_id)
        if message is None:
            return False
        sender = RemoteActor(person=await resolver.person(activity.actor))
        message_id = message.id

        async def delete(session: AsyncSession) -> None:
            await messages.delete_private_message(session, sender, message_id, not restore)

        await self.inbox._apply(received, delete)
        return True
