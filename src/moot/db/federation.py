"""Federation state: the outgoing activity log, per-instance delivery cursors, received ids, instance lists."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from moot.db.base import Base


class SentActivity(Base):
    """One row per outgoing activity (never one per recipient): delivery tasks walk this log by id."""

    __tablename__ = "sent_activity"
    __table_args__ = (Index("ix_sent_activity_published", "published"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(255), unique=True)
    data: Mapped[str] = mapped_column(Text)
    # Who receives it: explicit inboxes, the followers of a community (by instance), or every known instance.
    send_inboxes: Mapped[str] = mapped_column(Text, default="[]")
    send_community_followers_of: Mapped[int | None] = mapped_column(Integer)
    send_all_instances: Mapped[bool] = mapped_column(Boolean, default=False)
    actor_ap_id: Mapped[str] = mapped_column(String(255))
    published: Mapped[datetime]


class FederationQueueState(Base):
    """Where the delivery task of one instance stands in the log, and how its retries go."""

    __tablename__ = "federation_queue_state"

    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id", ondelete="CASCADE"), primary_key=True)
    last_successful_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    fail_count: Mapped[int] = mapped_column(Integer, default=0)
    last_retry: Mapped[datetime | None]
    last_successful_published_time: Mapped[datetime | None]


class ReceivedActivity(Base):
    """Ids of activities already processed, so a redelivered or replayed activity is applied once."""

    __tablename__ = "received_activity"
    __table_args__ = (Index("ix_received_activity_published", "published"),)

    ap_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    published: Mapped[datetime]


class FederationAllowlist(Base):
    __tablename__ = "federation_allowlist"

    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id", ondelete="CASCADE"), primary_key=True)
    published: Mapped[datetime]


class FederationBlocklist(Base):
    __tablename__ = "federation_blocklist"

    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id", ondelete="CASCADE"), primary_key=True)
    published: Mapped[datetime]
