"""The mail job: sends what the actions queued in `email_outbox` over SMTP (MOOT_SMTP_URL), outside any request.

A row is claimed before it is sent (its next attempt moved past a lease, in a transaction of its own, rows other
processes hold skipped on PostgreSQL), so two job processes never send the same mail and a process that dies while
sending leaves the row to be tried again when the lease ends. A failure counts the attempt, keeps the error, and
waits `MOOT_EMAIL_RETRY_SECONDS`, doubling each time up to 6 hours; after 12 attempts the mail is given up
(kept, with its last error). Sent rows are dropped after a week."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import certifi
from sqlalchemy import delete, select, update

from moot.db.engine import Database
from moot.db.mail import EmailOutbox
from moot.domain.timefmt import utcnow
from moot.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
MAX_WAIT = timedelta(hours=6)
LEASE = timedelta(minutes=10)
BATCH = 20
POLL_SECONDS = 1.0
SEND_TIMEOUT_SECONDS = 60.0
KEEP_SENT = timedelta(days=7)
CLEANUP_EVERY_SECONDS = 3600.0
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """MOOT_SMTP_URL, read: `smtp://` plain or with `?starttls=true` (required), `smtps://` TLS from the start;
    `?ca_file=PATH` adds certificate authorities (a private relay's) to certifi's."""

    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool
    ca_file: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("MOOT_SMTP_URL must look like smtp://user:password@host:587?starttls=true or smtps://host")
        query = parse_qs(parts.query)
        start_tls = scheme == "smtp" and query.get("starttls", ["false"])[-1].lower() in _TRUE
        default_port = 465 if scheme == "smtps" else (587 if start_tls else 25)
        return cls(
            hostname=parts.hostname,
            port=parts.port or default_port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=scheme == "smtps",
            start_tls=start_tls,
            ca_file=query.get("ca_file", [None])[-1],
        )

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=certifi.where())
        if self.ca_file:
            context.load_verify_locations(cafile=self.ca_file)
        return context


def sender_address(settings: Settings) -> str:
    host = settings.hostname.split(":", 1)[0]
    return settings.email_from.strip() or f"noreply@{host}"


def build_message(row: EmailOutbox, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender_address(settings)
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.published)
    message["Message-ID"] = make_msgid(domain=settings.hostname.split(":", 1)[0])
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    return message


def retry_wait(settings: Settings, attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: the first setting, doubled each time, at most 6 hours."""
    seconds = settings.email_retry_seconds * (2 ** max(attempts - 1, 0))
    return min(timedelta(seconds=seconds), MAX_WAIT)


async def _claim(db: Database, now: datetime) -> list[EmailOutbox]:
    async with db.write() as session:
        query = (
            select(EmailOutbox)
            .where(EmailOutbox.sent.is_(None), EmailOutbox.attempts < MAX_ATTEMPTS, EmailOutbox.next_attempt <= now)
            .order_by(EmailOutbox.next_attempt, EmailOutbox.id)
            .limit(BATCH)
        )
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = list((await session.scalars(query)).all())
        for row in rows:
            row.attempts += 1
            row.next_attempt = now + LEASE
        return rows


async def _finish(db: Database, settings: Settings, row: EmailOutbox, error: str | None) -> None:
    now = utcnow()
    async with db.write() as session:
        if error is None:
            values: dict[str, object] = {"sent": now, "last_error": None}
        else:
            values = {"last_error": error[:1000], "next_attempt": now + retry_wait(settings, row.attempts)}
            if row.attempts >= MAX_ATTEMPTS:
                log.error("mail %s to %s given up after %s attempts: %s", row.id, row.to_address, row.attempts, error)
        await session.execute(update(EmailOutbox).where(EmailOutbox.id == row.id).values(**values))


async def send_pending(db: Database, settings: Settings, config: SmtpConfig) -> int:
    """Send the mail that is due, over one SMTP connection. Returns how many were sent."""
    rows = await _claim(db, utcnow())
    if not rows:
        return 0
    client = aiosmtplib.SMTP(
        hostname=config.hostname,
        port=config.port,
        use_tls=config.use_tls,
        start_tls=config.start_tls,
        tls_context=config.tls_context() if config.use_tls or config.start_tls else None,
        local_hostname=settings.hostname.split(":", 1)[0],
        timeout=SEND_TIMEOUT_SECONDS,
    )
    try:
        await client.connect()
        if config.username is not None:
            await client.login(config.username, config.password or "")
    except (aiosmtplib.SMTPException, OSError) as exc:
        for row in rows:
            await _finish(db, settings, row, f"{type(exc).__name__}: {exc}")
        log.warning("mail server %s:%s: %s", config.hostname, config.port, exc)
        return 0
    sent = 0
    try:
        for row in rows:
            try:
                message = build_message(row, settings)
            except Exception as exc:
                await _finish(db, settings, row, f"{type(exc).__name__}: {exc}")
                continue
            try:
                await client.send_message(message)
            except (aiosmtplib.SMTPException, OSError) as exc:
                await _finish(db, settings, row, f"{type(exc).__name__}: {exc}")
                continue
            await _finish(db, settings, row, None)
            sent += 1
    finally:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()
    return sent


async def drop_sent(db: Database, now: datetime | None = None) -> None:
    cutoff = (now or utcnow()) - KEEP_SENT
    async with db.write() as session:
        await session.execute(delete(EmailOutbox).where(EmailOutbox.sent.is_not(None), EmailOutbox.sent < cutoff))


async def run_mail(db: Database, settings: Settings) -> None:
    """Runs until cancelled, beside the other jobs. A failing round is logged and the next one tries again."""
    try:
        config = SmtpConfig.parse(settings.smtp_url)
    except ValueError as exc:
        log.error("no mail will be sent: %s", exc)
        return
    last_cleanup = 0.0
    while True:
        try:
            if time.monotonic() - last_cleanup >= CLEANUP_EVERY_SECONDS or last_cleanup == 0.0:
                await drop_sent(db)
                last_cleanup = time.monotonic()
            while await send_pending(db, settings, config) >= BATCH:
                pass
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("mail job failed; trying again")
        await asyncio.sleep(POLL_SECONDS)
