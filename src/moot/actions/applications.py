"""Registration applications (registration mode `RequireApplication`), as Lemmy 0.19 runs them.

An applicant answers the site's `application_question` when signing up; the account exists at once but cannot
log in (`registration_application_is_pending`) until an admin approves it. A denied applicant is told so at login
(`registration_denied`, with the admin's reason). Accounts from before the site began to require applications
were never asked: turning the mode on accepts every existing account, as Lemmy does."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import mail
from moot.actions.access import check_is_admin
from moot.db.moderation import RegistrationApplication
from moot.db.person import LocalUser
from moot.db.site import LocalSite
from moot.domain.enums import RegistrationMode
from moot.domain.errors import LemmyError
from moot.domain.timefmt import utcnow
from moot.queries.applications import application_of
from moot.queries.site import load_local_site
from moot.queries.viewer import Actor
from moot.settings import Settings


def requires_application(local_site: LocalSite) -> bool:
    return local_site.registration_mode == RegistrationMode.REQUIRE_APPLICATION


def check_application_question(local_site: LocalSite, changes: dict[str, object]) -> None:
    """EditSite: a site that requires applications must have a question to ask (`application_question_required`),
    whether the edit turns the mode on without one or clears the question while the mode is on."""
    mode = changes.get("registration_mode") or local_site.registration_mode
    if mode != RegistrationMode.REQUIRE_APPLICATION:
        return
    question = changes.get("application_question")
    if question == "" or (question is None and local_site.application_question is None):
        raise LemmyError("application_question_required")


async def registration_mode_changed(session: AsyncSession, before: str, after: str) -> None:
    """Turning `RequireApplication` on accepts every account there is: only new sign-ups apply (Lemmy's
    `set_all_users_registration_applications_accepted`)."""
    if before != RegistrationMode.REQUIRE_APPLICATION and after == RegistrationMode.REQUIRE_APPLICATION:
        await session.execute(update(LocalUser).values(accepted_application=True))


def check_answer(local_site: LocalSite, answer: str | None) -> None:
    """Register: an answer is required when the site asks for applications (an empty one is an answer)."""
    if local_site.site_setup and requires_application(local_site) and answer is None:
        raise LemmyError("registration_application_answer_required")


async def create_application(session: AsyncSession, user: LocalUser, answer: str) -> RegistrationApplication:
    application = RegistrationApplication(local_user_id=user.id, answer=answer, published=utcnow())
    session.add(application)
    await session.flush()
    return application


async def check_may_log_in(session: AsyncSession, user: LocalUser) -> None:
    """Login: an account not (yet) accepted on a site that requires applications (or is closed) may not log in.
    Admins always may."""
    if user.accepted_application or user.admin:
        return
    loaded = await load_local_site(session)
    if loaded is None or loaded.local_site.registration_mode not in (
        RegistrationMode.REQUIRE_APPLICATION,
        RegistrationMode.CLOSED,
    ):
        return
    application = await application_of(session, user.id)
    if application is None:
        raise LemmyError("couldnt_find_registration_application")
    if application.admin_id is not None:
        raise LemmyError("registration_denied", application.deny_reason)
    raise LemmyError("registration_application_is_pending")


async def decide(
    session: AsyncSession,
    actor: Actor,
    application_id: int,
    approve: bool,
    deny_reason: str | None,
    *,
    settings: Settings | None = None,
) -> RegistrationApplication:
    """Approve or deny an application (admins only). Deciding again is allowed (an admin may approve an applicant
    denied earlier). As Lemmy, a reason left out keeps the one stored and an empty one clears it."""
    check_is_admin(actor)
    application = await session.get(RegistrationApplication, application_id)
    if application is None:
        raise LemmyError("couldnt_find_registration_application", status=404)
    application.admin_id = actor.person_id
    if deny_reason is not None:
        application.deny_reason = deny_reason or None
    await session.execute(
        update(LocalUser).where(LocalUser.id == application.local_user_id).values(accepted_application=approve)
    )
    await session.flush()
    if settings is not None:
        # The applicant hears of it by mail, when this server sends mail and they gave an address.
        await mail.application_decided(session, settings, application.local_user_id, approve, application.deny_reason)
    return application
