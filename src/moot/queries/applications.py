"""Registration applications as admins read them (Lemmy 0.19's RegistrationApplicationView): the application, the
applicant's local user and person, and the admin who decided, in one statement per view or page.

An application is unread while no admin has decided on it (`admin_id` unset). On a site that requires email
verification, only applicants who verified their address are listed and counted (as Lemmy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from moot.db.moderation import RegistrationApplication
from moot.db.person import LocalUser, Person
from moot.domain.errors import LemmyError
from moot.queries.common import page_of

Applicant = aliased(Person, name="applicant")
Decider = aliased(Person, name="decider")
_Views = Select[RegistrationApplication, LocalUser, Person, Person]


@dataclass(frozen=True, slots=True)
class RegistrationApplicationView:
    application: RegistrationApplication
    creator_local_user: LocalUser
    creator: Person
    admin: Person | None


def _views() -> _Views:
    return (
        select(RegistrationApplication, LocalUser, Applicant, Decider)
        .join(LocalUser, LocalUser.id == RegistrationApplication.local_user_id)
        .join(Applicant, Applicant.id == LocalUser.person_id)
        .outerjoin(Decider, Decider.id == RegistrationApplication.admin_id)
    )


def _view(row: Any) -> RegistrationApplicationView:
    return RegistrationApplicationView(application=row[0], creator_local_user=row[1], creator=row[2], admin=row[3])


async def _one(session: AsyncSession, stmt: _Views) -> RegistrationApplicationView:
    row = (await session.execute(stmt)).first()
    if row is None:
        raise LemmyError("couldnt_find_registration_application", status=404)
    return _view(row)


async def get_application_view(session: AsyncSession, application_id: int) -> RegistrationApplicationView:
    return await _one(session, _views().where(RegistrationApplication.id == application_id))


async def get_application_view_of_person(session: AsyncSession, person_id: int) -> RegistrationApplicationView:
    return await _one(session, _views().where(Applicant.id == person_id))


async def list_applications(
    session: AsyncSession,
    *,
    unread_only: bool,
    verified_email_only: bool,
    page: int | None = None,
    limit: int | None = None,
) -> list[RegistrationApplicationView]:
    """Newest first; the unread ones oldest first (first come, first served), as Lemmy."""
    paging = page_of(page, limit)
    stmt = _views()
    if unread_only:
        stmt = stmt.where(RegistrationApplication.admin_id.is_(None)).order_by(
            RegistrationApplication.published.asc(), RegistrationApplication.id.asc()
        )
    else:
        stmt = stmt.order_by(RegistrationApplication.published.desc(), RegistrationApplication.id.desc())
    if verified_email_only:
        stmt = stmt.where(LocalUser.email_verified.is_(True))
    rows = (await session.execute(stmt.limit(paging.limit).offset(paging.offset))).all()
    return [_view(row) for row in rows]


async def unread_count(session: AsyncSession, *, verified_email_only: bool) -> int:
    stmt = select(func.count(RegistrationApplication.id)).where(RegistrationApplication.admin_id.is_(None))
    if verified_email_only:
        stmt = stmt.join(LocalUser, LocalUser.id == RegistrationApplication.local_user_id).where(
            LocalUser.email_verified.is_(True)
        )
    return int(await session.scalar(stmt) or 0)


async def application_of(session: AsyncSession, local_user_id: int) -> RegistrationApplication | None:
    found: RegistrationApplication | None = await session.scalar(
        select(RegistrationApplication).where(RegistrationApplication.local_user_id == local_user_id)
    )
    return found
