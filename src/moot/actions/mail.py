"""Mail: what the actions queue for sending, and the tokens mailed to people (email verification, password reset).

Every mail is a row of `email_outbox` written in the transaction of the change that causes it, so a mail goes out
exactly when the change commits, and a restart loses none; the mail job (jobs/mail.py) sends it over SMTP and
retries. Tokens are random, mailed once, and stored only as their SHA-256: single-use and expiring (Lemmy's
lifetimes: a verification link 7 days, a password reset link 1 day)."""

from __future__ import annotations

import hashlib
import html
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions.access import is_site_banned
from moot.db.comment import Comment
from moot.db.mail import EmailOutbox, EmailVerification, PasswordResetRequest
from moot.db.moderation import RegistrationApplication
from moot.db.person import LocalUser, LoginToken, Person
from moot.domain import validation
from moot.domain.errors import LemmyError
from moot.domain.markdown import render_markdown
from moot.domain.passwords import hash_password
from moot.domain.timefmt import utcnow
from moot.queries.site import load_local_site
from moot.settings import Settings

VERIFICATION_VALID = timedelta(days=7)
RESET_VALID = timedelta(days=1)
# Reset mails one account may be sent in a day: more requests are answered as usual and send nothing, so nobody can
# fill a stranger's mailbox through the form (the `register` rate limit bounds each address on top).
RESETS_PER_DAY = 3


def token_hash(token: str) -> str:
    """What is stored of a mailed token: the token itself never is."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def _html_link(text: str, url: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{html.escape(text)}</a>'


async def queue_email(
    session: AsyncSession, to_address: str, subject: str, body_text: str, body_html: str | None = None
) -> EmailOutbox:
    """Queue one mail in the caller's transaction: sent by the mail job once (and only if) the transaction commits."""
    now = utcnow()
    row = EmailOutbox(
        to_address=to_address,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        attempts=0,
        next_attempt=now,
        published=now,
    )
    session.add(row)
    return row


async def _account(session: AsyncSession, local_user_id: int) -> tuple[LocalUser, Person] | None:
    row = (
        await session.execute(
            select(LocalUser, Person)
            .join(Person, Person.id == LocalUser.person_id)
            .where(LocalUser.id == local_user_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def notify_by_email(
    session: AsyncSession,
    settings: Settings,
    recipient_local_user_id: int,
    subject: str,
    body_text: str,
    body_html: str | None = None,
) -> bool:
    """A notification mail to a local account, queued only when this server sends mail and the person asked for
    notifications by email (`send_notifications_to_email`), has an address, and is neither banned nor deleted (as
    Lemmy's send_email_to_user). Returns whether a mail was queued."""
    if not settings.mail_enabled:
        return False
    found = await _account(session, recipient_local_user_id)
    if found is None:
        return False
    user, person = found
    if not user.send_notifications_to_email or not user.email or person.deleted or is_site_banned(person):
        return False
    await queue_email(session, user.email, subject, body_text, body_html)
    return True


async def notify_comment(
    session: AsyncSession, settings: Settings, recipient_local_user_id: int, author: Person, comment: Comment, kind: str
) -> bool:
    """The mail of a new reply or mention (`kind`: "reply", "post_reply" or "mention"), with Lemmy's subjects."""
    if not settings.mail_enabled:
        return False
    name = author.name if author.local else f"{author.name}@{_host_of(author.ap_id)}"
    subject = f"Mentioned by {name}" if kind == "mention" else f"Reply from {name}"
    inbox = f"{settings.base_url}/inbox"
    post = f"{settings.base_url}/post/{comment.post_id}"
    heading = {"mention": "Mentioned by", "reply": "Comment reply from", "post_reply": "Post reply from"}[kind]
    text = f"{heading} {name}\n\n{comment.content}\n\nThe post: {post}\nYour inbox: {inbox}\n"
    body_html = (
        f"<h1>{html.escape(heading)} {html.escape(name)}</h1><br><div>{render_markdown(comment.content)}</div><br>"
        f"{_html_link('The post', post)} · {_html_link('Your inbox', inbox)}"
    )
    return await notify_by_email(session, settings, recipient_local_user_id, subject, text, body_html)


def _host_of(ap_id: str) -> str:
    return ap_id.split("://", 1)[-1].split("/", 1)[0]


# Email verification ---------------------------------------------------------------------------------------------


async def send_verification(
    session: AsyncSession, settings: Settings, local_user_id: int, person_name: str, email: str
) -> None:
    """Mail `email` a link that makes it the account's verified address (at sign-up, or for a change of email:
    the address in use stays until the link is followed)."""
    if not settings.mail_enabled:
        raise LemmyError("no_email_setup")
    token, hashed = _new_token()
    session.add(EmailVerification(local_user_id=local_user_id, email=email, token_hash=hashed, published=utcnow()))
    link = f"{settings.base_url}/verify_email/{token}"
    subject = f"Please verify your email address for {settings.hostname}"
    text = (
        f"Please open the link below to verify your email address for the account @{person_name}@{settings.hostname}."
        f" Ignore this email if the account isn't yours.\n\n{link}\n"
    )
    body_html = (
        f"Please click the link below to verify your email address for the account "
        f"@{html.escape(person_name)}@{html.escape(settings.hostname)}. Ignore this email if the account isn't yours."
        f"<br><br>{_html_link('Verify your email', link)}"
    )
    await queue_email(session, email, subject, text, body_html)


async def verify_email(session: AsyncSession, settings: Settings, token: str) -> LocalUser:
    """Follow a verification link: the address becomes the account's, verified; every other pending link of the
    account is dropped (single use). `token_not_found` for a wrong, used or expired token."""
    cutoff = utcnow() - VERIFICATION_VALID
    verification = await session.scalar(
        select(EmailVerification).where(
            EmailVerification.token_hash == token_hash(token), EmailVerification.published > cutoff
        )
    )
    if verification is None:
        raise LemmyError("token_not_found")
    user = await session.get(LocalUser, verification.local_user_id)
    if user is None:
        raise LemmyError("token_not_found")
    taken = await session.scalar(
        select(LocalUser.id).where(func.lower(LocalUser.email) == verification.email.lower(), LocalUser.id != user.id)
    )
    if taken is not None:
        # Another account verified this address since the link was mailed.
        raise LemmyError("email_already_exists")
    if user.email != verification.email:
        await session.execute(delete(PasswordResetRequest).where(PasswordResetRequest.local_user_id == user.id))
    user.email = verification.email
    user.email_verified = True
    session.add(user)
    await session.execute(delete(EmailVerification).where(EmailVerification.local_user_id == user.id))
    found = await _account(session, user.id)
    name = found[1].name if found else ""
    pending = await session.scalar(
        select(RegistrationApplication.id).where(
            RegistrationApplication.local_user_id == user.id, RegistrationApplication.admin_id.is_(None)
        )
    )
    if pending is not None:
        # An applicant's address verified: now the admins hear of the application (as Lemmy's verify_email).
        await notify_admins_of_application(session, settings, name)
    await notify_by_email(
        session,
        settings,
        user.id,
        f"Email verified for {name}",
        "Your email has been verified.\n",
        "Your email has been verified.",
    )
    return user


async def check_may_log_in(session: AsyncSession, user: LocalUser) -> None:
    """Lemmy's check_email_verified: on a site that requires verification, an account (not an admin) logs in
    only once its address is verified (`email_not_verified`)."""
    if user.admin or user.email_verified:
        return
    loaded = await load_local_site(session)
    if loaded is not None and loaded.local_site.require_email_verification:
        raise LemmyError("email_not_verified")


async def verification_required(session: AsyncSession) -> bool:
    loaded = await load_local_site(session)
    return loaded is not None and loaded.local_site.require_email_verification


# Password reset -------------------------------------------------------------------------------------------------


async def request_password_reset(session: AsyncSession, settings: Settings, email: str) -> None:
    """Mail a reset link to the account with this address. The answer is the same whether or not one exists
    (never a hint that an address has an account here); only a server without mail says so (`no_email_setup`)."""
    if not settings.mail_enabled:
        raise LemmyError("no_email_setup")
    try:
        wanted = validation.normalize_email(email)
    except LemmyError:
        return
    row = (
        await session.execute(
            select(LocalUser, Person)
            .join(Person, Person.id == LocalUser.person_id)
            .where(func.lower(LocalUser.email) == wanted, Person.local.is_(True))
            .limit(2)
        )
    ).all()
    if len(row) != 1:
        return
    user, person = row[0][0], row[0][1]
    if person.deleted or not user.email:
        return
    if not user.admin and not user.email_verified and await verification_required(session):
        # Lemmy refuses these (email_not_verified); here the answer stays the same and nothing is sent.
        return
    since = utcnow() - timedelta(days=1)
    recent = await session.scalar(
        select(func.count())
        .select_from(PasswordResetRequest)
        .where(PasswordResetRequest.local_user_id == user.id, PasswordResetRequest.published > since)
    )
    if (recent or 0) >= RESETS_PER_DAY:
        return
    token, hashed = _new_token()
    session.add(PasswordResetRequest(local_user_id=user.id, token_hash=hashed, published=utcnow()))
    link = f"{settings.base_url}/password_change/{token}"
    subject = f"Password reset request for {person.name}"
    text = (
        f"Password reset request for {person.name}\n\nOpen this link to choose a new password (it works once, for a"
        f" day):\n{link}\n\nIgnore this email if you did not ask for it.\n"
    )
    body_html = (
        f"<h1>Password Reset Request for {html.escape(person.name)}</h1><br>"
        f"{_html_link('Click here to reset your password', link)}"
    )
    await queue_email(session, user.email, subject, text, body_html)


async def change_password_after_reset(
    session: AsyncSession, settings: Settings, token: str, password: str, password_verify: str
) -> int:
    """Set a new password with a mailed token: the token (and the account's other reset tokens) is used up, and
    every login of the account ends (Lemmy's LoginToken::invalidate_all). Returns the local user id.
    `token_not_found` for a wrong, used or expired token; a refused password leaves the token usable."""
    cutoff = utcnow() - RESET_VALID
    request = await session.scalar(
        select(PasswordResetRequest).where(
            PasswordResetRequest.token_hash == token_hash(token), PasswordResetRequest.published > cutoff
        )
    )
    if request is None:
        raise LemmyError("token_not_found")
    validation.check_password(password)
    if password != password_verify:
        raise LemmyError("passwords_do_not_match")
    user = await session.get(LocalUser, request.local_user_id)
    if user is None:
        raise LemmyError("token_not_found")
    user.password_encrypted = hash_password(password, settings.password_hash_profile)
    session.add(user)
    await session.execute(delete(PasswordResetRequest).where(PasswordResetRequest.local_user_id == user.id))
    await session.execute(delete(LoginToken).where(LoginToken.user_id == user.id))
    return user.id


# Registration applications --------------------------------------------------------------------------------------


async def application_decided(
    session: AsyncSession, settings: Settings, local_user_id: int, approved: bool, deny_reason: str | None
) -> bool:
    """The applicant hears of the decision by mail when they gave an address (Lemmy sends it whatever their
    notification setting). Nothing without mail settings."""
    if not settings.mail_enabled:
        return False
    found = await _account(session, local_user_id)
    if found is None or not found[0].email:
        return False
    user, person = found
    email = user.email or ""
    host = settings.hostname
    if approved:
        subject = f"Registration approved for {person.ap_id}"
        text = f"Your registration application has been approved. Welcome to {host}!\n\n{settings.base_url}/login\n"
        body_html = (
            f"Your registration application has been approved. Welcome to {html.escape(host)}!"
            f"<br><br>{_html_link('Log in', settings.base_url + '/login')}"
        )
    else:
        subject = f"Registration denied for {person.name}"
        if deny_reason:
            text = f"Your registration application for {host} has been denied:\n\n{deny_reason}\n"
            body_html = (
                f"Your registration application for {html.escape(host)} has been denied:<br>"
                f"{render_markdown(deny_reason)}"
            )
        else:
            text = f"Your registration application for {host} has been denied.\n"
            body_html = f"Your registration application for {html.escape(host)} has been denied."
    await queue_email(session, email, subject, text, body_html)
    return True


# Mail to the admins ----------------------------------------------------------------------------------------------


async def _admin_addresses(session: AsyncSession) -> list[str]:
    """The addresses of the admins who can receive mail (Lemmy's list_admins_with_emails): an address set and, on
    a site that verifies addresses, verified; neither deleted nor banned."""
    loaded = await load_local_site(session)
    verifying = loaded is not None and loaded.local_site.require_email_verification
    rows = (
        await session.execute(
            select(LocalUser, Person)
            .join(Person, Person.id == LocalUser.person_id)
            .where(LocalUser.admin.is_(True), LocalUser.email.is_not(None), Person.deleted.is_(False))
            .order_by(LocalUser.id)
        )
    ).all()
    return [
        user.email
        for user, person in rows
        if user.email and (user.email_verified or not verifying) and not is_site_banned(person)
    ]


async def notify_admins_of_application(session: AsyncSession, settings: Settings, applicant_name: str) -> int:
    """The site's `application_email_admins`: a mail to every admin that `applicant_name` applied (Lemmy's
    send_new_applicant_email_to_admins). Returns how many were queued."""
    loaded = await load_local_site(session)
    if not settings.mail_enabled or loaded is None or not loaded.local_site.application_email_admins:
        return 0
    link = f"{settings.base_url}/admin#applications"
    subject = f"New registration application at {settings.hostname}: {applicant_name}"
    text = f"{applicant_name} applied for an account on {settings.hostname}.\n\nThe applications: {link}\n"
    body_html = (
        f"<h1>New registration application</h1><p>{html.escape(applicant_name)} applied for an account on "
        f"{html.escape(settings.hostname)}.</p>{_html_link('Review the applications', link)}"
    )
    addresses = await _admin_addresses(session)
    for address in addresses:
        await queue_email(session, address, subject, text, body_html)
    return len(addresses)


async def notify_admins_of_report(
    session: AsyncSession, settings: Settings | None, reporter: Person, reported: Person
) -> int:
    """The site's `reports_email_admins`: a mail to every admin about a new report of `reported`'s post, comment or
    private message (Lemmy's send_new_report_email_to_admins). Returns how many were queued."""
    if settings is None or not settings.mail_enabled:
        return 0
    loaded = await load_local_site(session)
    if loaded is None or not loaded.local_site.reports_email_admins:
        return 0
    link = f"{settings.base_url}/reports"
    reporter_name, reported_name = _handle(reporter), _handle(reported)
    subject = f"New report at {settings.hostname} for {reported_name} by {reporter_name}"
    text = f"{reporter_name} reported {reported_name}.\n\nThe reports: {link}\n"
    body_html = (
        f"<h1>New report</h1><p>{html.escape(reporter_name)} reported {html.escape(reported_name)}.</p>"
        f"{_html_link('Check the reports', link)}"
    )
    addresses = await _admin_addresses(session)
    for address in addresses:
        await queue_email(session, address, subject, text, body_html)
    return len(addresses)


def _handle(person: Person) -> str:
    return person.name if person.local else f"{person.name}@{_host_of(person.ap_id)}"
