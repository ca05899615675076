"""Mail: the outgoing queue (sent by the jobs, retried, kept across restarts), email verification and password
reset tokens (stored hashed, single-use, expiring)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from moot.db.base import Base


class EmailOutbox(Base):
    """One message to send. The action that causes it writes the row in its own transaction; the mail job sends
    it (SMTP), sets `sent`, or counts the attempt and waits before the next one."""

    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_pending", "sent", "next_attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent: Mapped[datetime | None]
    published: Mapped[datetime]


class EmailVerification(Base):
    """An address waiting for its owner to follow the link mailed to it (sign-up, or a change of email)."""

    __tablename__ = "email_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    local_user_id: Mapped[int] = mapped_column(ForeignKey("local_user.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    published: Mapped[datetime]


class PasswordResetRequest(Base):
    __tablename__ = "password_reset_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    local_user_id: Mapped[int] = mapped_column(ForeignKey("local_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    published: Mapped[datetime]
