"""People (local and remote), local accounts, login tokens and personal blocks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from moot.db.base import Base


class Person(Base):
    __tablename__ = "person"
    __table_args__ = (Index("ix_person_name_lower", text("lower(name)")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    avatar: Mapped[str | None] = mapped_column(Text)
    banner: Mapped[str | None] = mapped_column(Text)
    bio: Mapped[str | None] = mapped_column(Text)
    matrix_user_id: Mapped[str | None] = mapped_column(Text)
    bot_account: Mapped[bool] = mapped_column(Boolean, default=False)
    banned: Mapped[bool] = mapped_column(Boolean, default=False)
    ban_expires: Mapped[datetime | None]
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Federation: every actor has its id, its inboxes and a key pair (the private half only when local).
    ap_id: Mapped[str] = mapped_column(String(255), unique=True)
    local: Mapped[bool] = mapped_column(Boolean, default=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    inbox_url: Mapped[str | None] = mapped_column(String(255))
    shared_inbox_url: Mapped[str | None] = mapped_column(String(255))
    public_key: Mapped[str | None] = mapped_column(Text)
    private_key: Mapped[str | None] = mapped_column(Text)
    last_refreshed_at: Mapped[datetime | None]
    published: Mapped[datetime]
    updated: Mapped[datetime | None]
    # Counters kept by the actions in the same transaction as the change.
    post_count: Mapped[int] = mapped_column(Integer, default=0)
    comment_count: Mapped[int] = mapped_column(Integer, default=0)


class LocalUser(Base):
    __tablename__ = "local_user"
    # Every view asks "is this creator an admin?": a tiny partial index answers without scanning accounts.
    __table_args__ = (
        Index("ix_local_user_admin", "person_id", postgresql_where=text("admin"), sqlite_where=text("admin")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), unique=True)
    password_encrypted: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(255), unique=True)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    show_nsfw: Mapped[bool] = mapped_column(Boolean, default=False)
    theme: Mapped[str] = mapped_column(String(100), default="browser")
    default_sort_type: Mapped[str] = mapped_column(String(32), default="Active")
    default_listing_type: Mapped[str] = mapped_column(String(32), default="Local")
    interface_language: Mapped[str] = mapped_column(String(20), default="browser")
    show_avatars: Mapped[bool] = mapped_column(Boolean, default=True)
    send_notifications_to_email: Mapped[bool] = mapped_column(Boolean, default=False)
    show_scores: Mapped[bool] = mapped_column(Boolean, default=True)
    show_bot_accounts: Mapped[bool] = mapped_column(Boolean, default=True)
    show_read_posts: Mapped[bool] = mapped_column(Boolean, default=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    accepted_application: Mapped[bool] = mapped_column(Boolean, default=False)
    open_links_in_new_tab: Mapped[bool] = mapped_column(Boolean, default=False)
    blur_nsfw: Mapped[bool] = mapped_column(Boolean, default=True)
    auto_expand: Mapped[bool] = mapped_column(Boolean, default=False)
    infinite_scroll_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    post_listing_mode: Mapped[str] = mapped_column(String(32), default="List")
    totp_2fa_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The TOTP secret, set by /user/totp/generate and enabled by /user/totp/update with a valid code.
    totp_2fa_secret: Mapped[str | None] = mapped_column(Text)
    # The 30-second step of the last code accepted: each code is good once.
    totp_2fa_last_step: Mapped[int | None] = mapped_column(Integer)
    enable_keyboard_navigation: Mapped[bool] = mapped_column(Boolean, default=False)
    enable_animated_images: Mapped[bool] = mapped_column(Boolean, default=True)
    collapse_bot_comments: Mapped[bool] = mapped_column(Boolean, default=False)
    show_upvotes: Mapped[bool] = mapped_column(Boolean, default=True)
    show_downvotes: Mapped[bool] = mapped_column(Boolean, default=True)
    show_upvote_percentage: Mapped[bool] = mapped_column(Boolean, default=False)
    last_donation_notification: Mapped[datetime]
    published: Mapped[datetime]


class LocalUserLanguage(Base):
    """The languages a user reads and writes in; no rows means "all of them"."""

    __tablename__ = "local_user_language"

    local_user_id: Mapped[int] = mapped_column(ForeignKey("local_user.id", ondelete="CASCADE"), primary_key=True)
    language_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class LoginToken(Base):
    """A JWT is valid only while its row exists: logout and password changes delete rows."""

    __tablename__ = "login_token"

    token: Mapped[str] = mapped_column(String(512), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("local_user.id", ondelete="CASCADE"), index=True)
    published: Mapped[datetime]
    ip: Mapped[str | None] = mapped_column(String(100))
    user_agent: Mapped[str | None] = mapped_column(Text)


class PersonBlock(Base):
    __tablename__ = "person_block"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    published: Mapped[datetime]


class InstanceBlock(Base):
    __tablename__ = "instance_block"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id", ondelete="CASCADE"), primary_key=True)
    published: Mapped[datetime]


class CaptchaAnswer(Base):
    """A captcha shown at sign-up: answered once, within ten minutes."""

    __tablename__ = "captcha_answer"

    uuid: Mapped[str] = mapped_column(String(64), primary_key=True)
    answer: Mapped[str] = mapped_column(String(32))
    published: Mapped[datetime]
