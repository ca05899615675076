"""Private messages as their two people read them (PrivateMessageView), their reports as admins read them
(PrivateMessageReportView), and the counts of unread messages and unresolved reports.

As Lemmy 0.19's PrivateMessageQuery: the list holds the messages the viewer sent or received (with `unread_only`,
the unread ones they received), newest first, never deleted ones, never those from someone the viewer blocks.
`creator_id` narrows it to the conversation with that person (Lemmy 0.19 writes that filter with an `or_filter`
that lets in messages between two other people; Moot keeps to the viewer's own). A message the viewer sent reads
as `read` (the column is the recipient's). Nothing here is reachable by anyone else: every read takes the viewer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from moot.db.message import PrivateMessage, PrivateMessageReport
from moot.db.person import Person
from moot.domain.errors import LemmyError
from moot.queries.common import has_blocked, page_of
from moot.queries.viewer import Viewer

Creator = aliased(Person, name="pm_creator")
Recipient = aliased(Person, name="pm_recipient")
Reporter = aliased(Person, name="pm_reporter")
Resolver = aliased(Person, name="pm_resolver")


@dataclass(frozen=True, slots=True)
class PrivateMessageView:
    message: PrivateMessage
    creator: Person
    recipient: Person
    read: bool  # in a list, always true for what the viewer sent (as Lemmy's list answers)


@dataclass(frozen=True, slots=True)
class PrivateMessageQuery:
    unread_only: bool = False
    creator_id: int | None = None
    page: int | None = None
    limit: int | None = None


def _views() -> Select[PrivateMessage, Person, Person]:
    return (
        select(PrivateMessage, Creator, Recipient)
        .join(Creator, Creator.id == PrivateMessage.creator_id)
        .join(Recipient, Recipient.id == PrivateMessage.recipient_id)
    )


def _view(row: Any, viewer: Viewer | None = None) -> PrivateMessageView:
    """With `viewer` (the lists), what they sent reads as read; alone (one message's answer), the column as is."""
    message, creator, recipient = row[0], row[1], row[2]
    sent = viewer is not None and creator.id == viewer.person_id
    return PrivateMessageView(message, creator, recipient, message.read or sent)


async def get_private_message_view(session: AsyncSession, message_id: int, viewer: Viewer) -> PrivateMessageView:
    """One message, for its creator or its recipient only (anyone else: `couldnt_find_private_message`)."""
    mine = or_(PrivateMessage.creator_id == viewer.person_id, PrivateMessage.recipient_id == viewer.person_id)
    row = (await session.execute(_views().where(PrivateMessage.id == message_id, mine))).first()
    if row is None:
        raise LemmyError("couldnt_find_private_message", status=404)
    return _view(row)


async def list_private_messages(
    session: AsyncSession, viewer: Viewer, q: PrivateMessageQuery
) -> list[PrivateMessageView]:
    me = viewer.person_id
    stmt = _views().where(
        PrivateMessage.deleted.is_(False),
        not_(has_blocked(me, PrivateMessage.creator_id)),
    )
    if q.unread_only:
        stmt = stmt.where(PrivateMessage.recipient_id == me, PrivateMessage.read.is_(False))
        if q.creator_id is not None:
            stmt = stmt.where(PrivateMessage.creator_id == q.creator_id)
    elif q.creator_id is not None:
        other = q.creator_id
        stmt = stmt.where(
            or_(
                and_(PrivateMessage.creator_id == me, PrivateMessage.recipient_id == other),
                and_(PrivateMessage.creator_id == other, PrivateMessage.recipient_id == me),
            )
        )
    else:
        stmt = stmt.where(or_(PrivateMessage.creator_id == me, PrivateMessage.recipient_id == me))
    paging = page_of(q.page, q.limit)
    stmt = stmt.order_by(PrivateMessage.published.desc(), PrivateMessage.id.desc())
    rows = (await session.execute(stmt.offset(paging.offset).limit(paging.limit))).all()
    return [_view(row, viewer) for row in rows]


def unread_private_messages(viewer: Viewer) -> Any:
    """The unread count as a scalar subquery (GET /user/unread_count reads it with the others)."""
    return (
        select(func.count(PrivateMessage.id))
        .where(
            PrivateMessage.recipient_id == viewer.person_id,
            PrivateMessage.read.is_(False),
            PrivateMessage.deleted.is_(False),
            not_(has_blocked(viewer.person_id, PrivateMessage.creator_id)),
        )
        .scalar_subquery()
    )


async def unread_private_message_count(session: AsyncSession, viewer: Viewer) -> int:
    return int(await session.scalar(select(unread_private_messages(viewer))) or 0)


@dataclass(frozen=True, slots=True)
class PrivateMessageReportView:
    report: PrivateMessageReport
    message: PrivateMessage
    message_creator: Person
    reporter: Person
    resolver: Person | None


def _report_views() -> Select[PrivateMessageReport, PrivateMessage, Person, Person, Person]:
    return (
        select(PrivateMessageReport, PrivateMessage, Creator, Reporter, Resolver)
        .join(PrivateMessage, PrivateMessage.id == PrivateMessageReport.private_message_id)
        .join(Creator, Creator.id == PrivateMessage.creator_id)
        .join(Reporter, Reporter.id == PrivateMessageReport.creator_id)
        .outerjoin(Resolver, Resolver.id == PrivateMessageReport.resolver_id)
    )


def _report_view(row: Any) -> PrivateMessageReportView:
    return PrivateMessageReportView(row[0], row[1], row[2], row[3], row[4])


async def get_private_message_report_view(session: AsyncSession, report_id: int) -> PrivateMessageReportView:
    """For admins (the caller asked the access gate)."""
    row = (await session.execute(_report_views().where(PrivateMessageReport.id == report_id))).first()
    if row is None:
        raise LemmyError("couldnt_find_private_message_report", status=404)
    return _report_view(row)


async def list_private_message_reports(
    session: AsyncSession, unresolved_only: bool, page: int | None, limit: int | None
) -> list[PrivateMessageReportView]:
    """For admins, ordered as the post and comment reports: the oldest unresolved first, else the newest."""
    stmt = _report_views()
    if unresolved_only:
        stmt = stmt.where(PrivateMessageReport.resolved.is_(False)).order_by(
            PrivateMessageReport.published.asc(), PrivateMessageReport.id.asc()
        )
    else:
        stmt = stmt.order_by(PrivateMessageReport.published.desc(), PrivateMessageReport.id.desc())
    paging = page_of(page, limit)
    rows = (await session.execute(stmt.offset(paging.offset).limit(paging.limit))).all()
    return [_report_view(row) for row in rows]


def unresolved_private_message_reports() -> Any:
    """The admins' count of unresolved private message reports, as a scalar subquery."""
    return select(func.count(PrivateMessageReport.id)).where(PrivateMessageReport.resolved.is_(False)).scalar_subquery()


@dataclass(frozen=True, slots=True)
class Conversation:
    """The viewer's messages with one person, as the inbox page lists them."""

    person: Person
    latest: datetime
    unread: int


async def list_conversations(
    session: AsyncSession, viewer: Viewer, page: int | None, limit: int | None
) -> list[Conversation]:
    """Everyone the viewer exchanged messages with, the latest conversation first (the same messages as the list:
    no deleted ones, none from people the viewer blocks)."""
    me = viewer.person_id
    other = case((PrivateMessage.creator_id == me, PrivateMessage.recipient_id), else_=PrivateMessage.creator_id)
    unread = func.sum(case((and_(PrivateMessage.recipient_id == me, PrivateMessage.read.is_(False)), 1), else_=0))
    latest = func.max(PrivateMessage.published)
    paging = page_of(page, limit)
    stmt = (
        select(other.label("other_id"), latest.label("latest"), unread.label("unread"))
        .where(
            or_(PrivateMessage.creator_id == me, PrivateMessage.recipient_id == me),
            PrivateMessage.deleted.is_(False),
            not_(has_blocked(me, PrivateMessage.creator_id)),
        )
        .group_by(other)
        .order_by(latest.desc(), other.desc())
        .offset(paging.offset)
        .limit(paging.limit)
    )
    rows = (await session.execute(stmt)).all()
    people = {p.id: p for p in (await session.scalars(select(Person).where(Person.id.in_([r[0] for r in rows]))))}
    return [Conversation(people[r[0]], r[1], int(r[2] or 0)) for r in rows if r[0] in people]
