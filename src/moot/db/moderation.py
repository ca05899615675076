"""Moderation and administration: the modlog, reports, registration applications, custom emojis and blocked URLs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from moot.db.base import Base


class ModlogEntry(Base):
    """One row per moderator or admin action, of every kind Lemmy's modlog lists (its 15 tables are one here,
    told apart by `kind`, a `ModlogActionType` name such as `ModRemovePost`). Written by the action in the same
    transaction as the change (actions/modlog.py).

    `state` is the one yes/no each kind carries, read with the kind: removed (ModRemovePost, ModRemoveComment,
    ModRemoveCommunity), locked (ModLockPost), featured (ModFeaturePost, with `featured_community`), banned
    (ModBan, ModBanFromCommunity), removed as a moderator or admin (ModAddCommunity, ModAdd), hidden
    (ModHideCommunity). Rows about a purged post, comment, community or person go with it (as in Lemmy, where
    they cascade); the purge's own row names only what is left (the community of a post, the post of a comment).
    """

    __tablename__ = "modlog"
    __table_args__ = (
        Index("ix_modlog_published", "published"),
        Index("ix_modlog_kind_published", "kind", "published"),
        Index("ix_modlog_community_published", "community_id", "published"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    mod_person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    other_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    state: Mapped[bool] = mapped_column(Boolean, default=True)
    featured_community: Mapped[bool] = mapped_column(Boolean, default=False)
    expires: Mapped[datetime | None]
    published: Mapped[datetime]


class PostReport(Base):
    """A report of a post, with the post as it read when reported (Lemmy keeps the original title, URL, body)."""

    __tablename__ = "post_report"
    __table_args__ = (Index("ix_post_report_resolved_published", "resolved", "published"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    original_post_name: Mapped[str] = mapped_column(String(255))
    original_post_url: Mapped[str | None] = mapped_column(Text)
    original_post_body: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    resolver_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    # The Flag's id, when the report came from (or went to) another server.
    ap_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    published: Mapped[datetime]
    updated: Mapped[datetime | None]


class CommentReport(Base):
    """A report of a comment, with the comment's text as it read when reported."""

    __tablename__ = "comment_report"
    __table_args__ = (Index("ix_comment_report_resolved_published", "resolved", "published"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"), index=True)
    original_comment_text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    resolver_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    ap_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    published: Mapped[datetime]
    updated: Mapped[datetime | None]


class RegistrationApplication(Base):
    """An account waiting for an admin (registration mode `RequireApplication`): unread while `admin_id` is unset;
    once an admin decided, the applicant's `local_user.accepted_application` says which way (as Lemmy: a denial
    may carry no `deny_reason`). actions/applications.py."""

    __tablename__ = "registration_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    local_user_id: Mapped[int] = mapped_column(ForeignKey("local_user.id", ondelete="CASCADE"), unique=True)
    answer: Mapped[str] = mapped_column(Text)
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    deny_reason: Mapped[str | None] = mapped_column(Text)
    published: Mapped[datetime]


class CustomEmoji(Base):
    __tablename__ = "custom_emoji"

    id: Mapped[int] = mapped_column(primary_key=True)
    local_site_id: Mapped[int] = mapped_column(ForeignKey("local_site.id", ondelete="CASCADE"))
    shortcode: Mapped[str] = mapped_column(String(128), unique=True)
    image_url: Mapped[str] = mapped_column(Text)
    alt_text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    published: Mapped[datetime]
    updated: Mapped[datetime | None]


class CustomEmojiKeyword(Base):
    __tablename__ = "custom_emoji_keyword"

    custom_emoji_id: Mapped[int] = mapped_column(ForeignKey("custom_emoji.id", ondelete="CASCADE"), primary_key=True)
    keyword: Mapped[str] = mapped_column(String(128), primary_key=True)


class LocalSiteUrlBlocklist(Base):
    """`blocked_urls` of the site: posts and comments linking to them are refused (`blocked_url`)."""

    __tablename__ = "local_site_url_blocklist"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    published: Mapped[datetime]
    updated: Mapped[datetime | None]
