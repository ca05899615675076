"""Communities with their followers, moderators, blocks and bans."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from moot.db.base import Base
from moot.domain.ranking import DEFAULT_RANK


class Community(Base):
    __tablename__ = "community"
    __table_args__ = (
        Index("ix_community_name_lower", text("lower(name)")),
        # The community list's sorts, each walked in order (migration 0013); the comment count, which every
        # comment moves, is left unindexed.
        Index("ix_community_hot", "hot_rank", "id"),
        Index("ix_community_published", "published", "id"),
        Index("ix_community_subscribers", "subscribers", "id"),
        Index("ix_community_active_day", "users_active_day", "id"),
        Index("ix_community_active_week", "users_active_week", "id"),
        Index("ix_community_active_month", "users_active_month", "id"),
        Index("ix_community_active_half_year", "users_active_half_year", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    nsfw: Mapped[bool] = mapped_column(Boolean, default=False)
    icon: Mapped[str | None] = mapped_column(Text)
    banner: Mapped[str | None] = mapped_column(Text)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    posting_restricted_to_mods: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[str] = mapped_column(String(32), default="Public")
    ap_id: Mapped[str] = mapped_column(String(255), unique=True)
    local: Mapped[bool] = mapped_column(Boolean, default=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    inbox_url: Mapped[str | None] = mapped_column(String(255))
    shared_inbox_url: Mapped[str | None] = mapped_column(String(255))
    followers_url: Mapped[str | None] = mapped_column(String(255))
    moderators_url: Mapped[str | None] = mapped_column(String(255))
    featured_url: Mapped[str | None] = mapped_column(String(255))
    public_key: Mapped[str | None] = mapped_column(Text)
    private_key: Mapped[str | None] = mapped_column(Text)
    last_refreshed_at: Mapped[datetime | None]
    published: Mapped[datetime]
    updated: Mapped[datetime | None]
    # Counters kept by the actions; active-user counts and hot_rank by the jobs.
    subscribers: Mapped[int] = mapped_column(Integer, default=0)
    subscribers_local: Mapped[int] = mapped_column(Integer, default=0)
    posts: Mapped[int] = mapped_column(Integer, default=0)
    comments: Mapped[int] = mapped_column(Integer, default=0)
    users_active_day: Mapped[int] = mapped_column(Integer, default=0)
    users_active_week: Mapped[int] = mapped_column(Integer, default=0)
    users_active_month: Mapped[int] = mapped_column(Integer, default=0)
    users_active_half_year: Mapped[int] = mapped_column(Integer, default=0)
    hot_rank: Mapped[float] = mapped_column(Float, default=DEFAULT_RANK)


class CommunityFollower(Base):
    __tablename__ = "community_follower"

    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True)
    # Remote follows wait for the community's Accept.
    pending: Mapped[bool] = mapped_column(Boolean, default=False)
    published: Mapped[datetime]


class CommunityModerator(Base):
    __tablename__ = "community_moderator"

    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True)
    published: Mapped[datetime]


class CommunityBlock(Base):
    __tablename__ = "community_block"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), primary_key=True)
    published: Mapped[datetime]


class CommunityPersonBan(Base):
    __tablename__ = "community_person_ban"

    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    expires: Mapped[datetime | None]
    published: Mapped[datetime]


class CommunityLanguage(Base):
    __tablename__ = "community_language"

    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), primary_key=True)
    language_id: Mapped[int] = mapped_column(Integer, primary_key=True)
