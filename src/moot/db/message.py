"""Private messages between two people (local or remote), and their reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from moot.db.base import Base


class PrivateMessage(Base):
    __tablename__ = "private_message"
    __table_args__ = (
        Index("ix_private_message_recipient", "recipient_id", "published"),
        Index("ix_private_message_creator", "creator_id", "published"),
        # Ids never given twice on SQLite: ap_ids are made from them (migration 0012).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    content: Mapped[str] = mapped_column(Text)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    ap_id: Mapped[str] = mapped_column(String(255), unique=True)
    local: Mapped[bool] = mapped_column(Boolean, default=True)
    published: Mapped[datetime]
    updated: Mapped[datetime | None]


class PrivateMessageReport(Base):
    __tablename__ = "private_message_report"
    __table_args__ = (Index("ix_private_message_report_resolved_published", "resolved", "published"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    private_message_id: Mapped[int] = mapped_column(ForeignKey("private_message.id", ondelete="CASCADE"), index=True)
    original_pm_text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    resolver_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    published: Mapped[datetime]
    updated: Mapped[datetime | None]
