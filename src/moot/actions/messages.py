"""Private messages between two people: create, edit, delete and restore, mark read, and their reports.

As Lemmy 0.19 (`api_crud/src/private_message`, `api/src/private_message*`): the content passes the slur filter
(slurs replaced), the blocked URLs and the comment length rules (`invalid_body_field`); a recipient who blocked
the sender refuses the message (`person_is_blocked`); only the creator edits or deletes
(`edit_private_message_not_allowed`), only the recipient marks read (`couldnt_update_private_message`) or
reports (`couldnt_create_report`); admins resolve reports. Who may do what is decided by actions/access.py. A
message to or from a person of another server is federated by its local creator (federation/outbox.py); the
inbox calls the same functions with a RemoteActor."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import access, mail
from moot.actions.reports import _check_reason
from moot.actions.urlblocklist import check_blocked_urls
from moot.db.message import PrivateMessage, PrivateMessageReport
from moot.db.person import Person
from moot.domain import validation
from moot.domain.apids import private_message_ap_id
from moot.domain.errors import LemmyError
from moot.domain.timefmt import utcnow
from moot.federation import outbox
from moot.queries.defaults import site_switches
from moot.queries.viewer import Actor
from moot.settings import Settings


async def _content(session: AsyncSession, content: str) -> str:
    """Lemmy's `process_markdown` then `is_valid_body_field(_, false)`: slurs replaced, blocked URLs refused,
    at most 10,000 characters and not only whitespace."""
    slurs = validation.slur_pattern((await site_switches(session)).slur_filter_regex)
    content = validation.remove_slurs(content, slurs) or ""
    await check_blocked_urls(session, content)
    return validation.check_comment_content(content)


async def load_private_message(session: AsyncSession, message_id: int) -> PrivateMessage:
    message = await session.get(PrivateMessage, message_id)
    if message is None:
        raise LemmyError("couldnt_find_private_message", status=404)
    return message


async def private_message_by_ap_id(session: AsyncSession, ap_id: str) -> PrivateMessage | None:
    return await session.scalar(select(PrivateMessage).where(PrivateMessage.ap_id == ap_id))


async def _person(session: AsyncSession, person_id: int) -> Person:
    person = await session.get(Person, person_id)
    if person is None:  # pragma: no cover - a message's people are kept by its foreign keys
        raise LemmyError("couldnt_find_person", status=404)
    return person


async def create_private_message(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    recipient_id: int,
    content: str,
    *,
    ap_id: str | None = None,
    published: datetime | None = None,
    updated: datetime | None = None,
) -> PrivateMessage:
    """A new message from `actor` to `recipient_id`. `ap_id` is given for a message from another server (it keeps
    its id and is not local, and its document's `published` and `updated`)."""
    content = await _content(session, content)
    await access.check_can_message(session, actor, recipient_id)
    recipient = await session.get(Person, recipient_id)
    if recipient is None:
        # Lemmy's insert fails on the foreign key: its error, not a lookup's.
        raise LemmyError("couldnt_create_private_message")
    message = PrivateMessage(
        creator_id=actor.person_id,
        recipient_id=recipient.id,
        content=content,
        deleted=False,
        read=False,
        ap_id=ap_id or f"urn:moot:pending:{uuid.uuid4()}",
        local=ap_id is None,
        published=published or utcnow(),
        updated=updated,
    )
    session.add(message)
    await session.flush()
    if ap_id is None:
        message.ap_id = private_message_ap_id(settings.base_url, message.id)
    await outbox.private_message_saved(session, actor.person, message, recipient, created=True)
    return message


async def edit_private_message(
    session: AsyncSession, actor: Actor, message_id: int, content: str, *, updated: datetime | None = None
) -> PrivateMessage:
    access.check_person_valid(actor.person)  # before the lookup, as Lemmy checks the login first
    message = await load_private_message(session, message_id)
    access.check_private_message_creator(actor, message)
    message.content = await _content(session, content)
    message.updated = updated or utcnow()
    await session.flush()
    await outbox.private_message_saved(
        session, actor.person, message, await _person(session, message.recipient_id), created=False
    )
    return message


async def delete_private_message(session: AsyncSession, actor: Actor, message_id: int, deleted: bool) -> PrivateMessage:
    """Deleted (or restored) by its creator; Lemmy sends the Delete (or Undo) even when nothing changed."""
    access.check_person_valid(actor.person)  # before the lookup, as Lemmy checks the login first
    message = await load_private_message(session, message_id)
    access.check_private_message_creator(actor, message)
    message.deleted = deleted
    await session.flush()
    await outbox.private_message_deleted(
        session, actor.person, message, await _person(session, message.recipient_id), deleted
    )
    return message


async def mark_private_message_read(session: AsyncSession, actor: Actor, message_id: int, read: bool) -> PrivateMessage:
    access.check_person_valid(actor.person)  # before the lookup, as Lemmy checks the login first
    message = await load_private_message(session, message_id)
    access.check_private_message_recipient(actor, message, "couldnt_update_private_message")
    message.read = read
    await session.flush()
    return message


async def mark_all_private_messages_read(session: AsyncSession, actor: Actor) -> None:
    """Part of /user/mark_all_as_read: every message to `actor` is read."""
    await session.execute(
        update(PrivateMessage)
        .where(PrivateMessage.recipient_id == actor.person_id, PrivateMessage.read.is_(False))
        .values(read=True)
    )


async def create_private_message_report(
    session: AsyncSession, actor: Actor, message_id: int, reason: str, *, settings: Settings | None = None
) -> PrivateMessageReport:
    """Only the recipient reports a message, once; the report keeps the text as it read then. Not federated
    (Lemmy 0.19 does not either). With `settings`, the admins are mailed when the site asks for it."""
    reason = await _check_reason(session, reason)
    access.check_person_valid(actor.person)  # before the lookup, as Lemmy checks the login first
    message = await load_private_message(session, message_id)
    access.check_private_message_recipient(actor, message, "couldnt_create_report")
    already = await session.scalar(
        select(PrivateMessageReport.id).where(
            PrivateMessageReport.private_message_id == message.id, PrivateMessageReport.creator_id == actor.person_id
        )
    )
    if already is not None:
        raise LemmyError("couldnt_create_report")
    report = PrivateMessageReport(
        creator_id=actor.person_id,
        private_message_id=message.id,
        original_pm_text=message.content,
        reason=reason,
        resolved=False,
        published=utcnow(),
    )
    session.add(report)
    await session.flush()
    sender = await session.get(Person, message.creator_id)
    if sender is not None:
        await mail.notify_admins_of_report(session, settings, actor.person, sender)
    return report


async def resolve_private_message_report(
    session: AsyncSession, actor: Actor, report_id: int, resolved: bool
) -> PrivateMessageReport:
    """Admins only; resolving and unresolving both record who did it."""
    access.check_is_admin(actor)
    report = await session.get(PrivateMessageReport, report_id)
    if report is None:
        raise LemmyError("couldnt_find_private_message_report", status=404)
    report.resolved = resolved
    report.resolver_id = actor.person_id
    report.updated = utcnow()
    await session.flush()
    return report
