"""The site: its actor, its local settings, its rate limits and its signing secret."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, Update, case, update
from sqlalchemy.orm import Mapped, mapped_column

from moot.db.base import Base


class Site(Base):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    sidebar: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(String(255))
    icon: Mapped[str | None] = mapped_column(Text)
    banner: Mapped[str | None] = mapped_column(Text)
    content_warning: Mapped[str | None] = mapped_column(Text)
    ap_id: Mapped[str] = mapped_column(String(255), unique=True)
    inbox_url: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[str] = mapped_column(Text)
    private_key: Mapped[str | None] = mapped_column(Text)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), unique=True)
    last_refreshed_at: Mapped[datetime]
    published: Mapped[datetime]
    updated: Mapped[datetime | None]


class LocalSite(Base):
    __tablename__ = "local_site"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), unique=True)
    site_setup: Mapped[bool] = mapped_column(Boolean, default=True)
    enable_downvotes: Mapped[bool] = mapped_column(Boolean, default=True)
    enable_nsfw: Mapped[bool] = mapped_column(Boolean, default=True)
    community_creation_admin_only: Mapped[bool] = mapped_column(Boolean, default=False)
    require_email_verification: Mapped[bool] = mapped_column(Boolean, default=False)
    application_question: Mapped[str | None] = mapped_column(Text)
    private_instance: Mapped[bool] = mapped_column(Boolean, default=False)
    default_theme: Mapped[str] = mapped_column(String(100), default="browser")
    default_post_listing_type: Mapped[str] = mapped_column(String(32), default="Local")
    legal_information: Mapped[str | None] = mapped_column(Text)
    hide_modlog_mod_names: Mapped[bool] = mapped_column(Boolean, default=True)
    application_email_admins: Mapped[bool] = mapped_column(Boolean, default=False)
    slur_filter_regex: Mapped[str | None] = mapped_column(Text)
    actor_name_max_length: Mapped[int] = mapped_column(Integer, default=20)
    federation_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    captcha_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    captcha_difficulty: Mapped[str] = mapped_column(String(32), default="medium")
    registration_mode: Mapped[str] = mapped_column(String(32), default="Open")
    reports_email_admins: Mapped[bool] = mapped_column(Boolean, default=False)
    federation_signed_fetch: Mapped[bool] = mapped_column(Boolean, default=False)
    default_post_listing_mode: Mapped[str] = mapped_column(String(32), default="List")
    default_sort_type: Mapped[str] = mapped_column(String(32), default="Active")
    published: Mapped[datetime]
    updated: Mapped[datetime | None]
    # Active-user counts of the whole site, refreshed by the counts job.
    users_active_day: Mapped[int] = mapped_column(Integer, default=0)
    users_active_week: Mapped[int] = mapped_column(Integer, default=0)
    users_active_month: Mapped[int] = mapped_column(Integer, default=0)
    users_active_half_year: Mapped[int] = mapped_column(Integer, default=0)


class LocalSiteRateLimit(Base):
    """Token buckets per client address: `n` actions per `n_per_second` seconds (Lemmy's naming)."""

    __tablename__ = "local_site_rate_limit"

    local_site_id: Mapped[int] = mapped_column(ForeignKey("local_site.id"), primary_key=True)
    message: Mapped[int] = mapped_column(Integer, default=180)
    message_per_second: Mapped[int] = mapped_column(Integer, default=60)
    post: Mapped[int] = mapped_column(Integer, default=6)
    post_per_second: Mapped[int] = mapped_column(Integer, default=600)
    register: Mapped[int] = mapped_column(Integer, default=3)
    register_per_second: Mapped[int] = mapped_column(Integer, default=3600)
    image: Mapped[int] = mapped_column(Integer, default=6)
    image_per_second: Mapped[int] = mapped_column(Integer, default=3600)
    comment: Mapped[int] = mapped_column(Integer, default=6)
    comment_per_second: Mapped[int] = mapped_column(Integer, default=600)
    search: Mapped[int] = mapped_column(Integer, default=60)
    search_per_second: Mapped[int] = mapped_column(Integer, default=600)
    import_user_settings: Mapped[int] = mapped_column(Integer, default=1)
    import_user_settings_per_second: Mapped[int] = mapped_column(Integer, default=86400)
    published: Mapped[datetime]
    updated: Mapped[datetime | None]


class SiteLanguage(Base):
    """The site's discussion languages; no rows means all."""

    __tablename__ = "site_language"

    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), primary_key=True)
    language_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class Tagline(Base):
    __tablename__ = "tagline"

    id: Mapped[int] = mapped_column(primary_key=True)
    local_site_id: Mapped[int] = mapped_column(ForeignKey("local_site.id", ondelete="CASCADE"))
    content: Mapped[str] = mapped_column(Text)
    published: Mapped[datetime]
    updated: Mapped[datetime | None]


class Secret(Base):
    """The key that signs JWTs, made once at setup."""

    __tablename__ = "secret"

    id: Mapped[int] = mapped_column(primary_key=True)
    jwt_secret: Mapped[str] = mapped_column(String(255))


class SiteCountsRow(Base):
    """The site's counts of local people, posts, comments and communities (deleted ones not counted), kept
    exact by the database itself: triggers on those four tables (migration 0011), so every write path, purges
    and account deletion included, keeps them without knowing of it. Counting them per request took 1.9 s at 1M
    posts and 10M comments. On PostgreSQL they are spread over 64 rows, one per database connection's slot, so
    that concurrent commits do not queue on one row (migration 0015); SQLite keeps one. The counts are the sums
    of the rows (queries/site.py `local_counts`)."""

    __tablename__ = "site_counts"

    id: Mapped[int] = mapped_column(primary_key=True)
    users: Mapped[int] = mapped_column(Integer)
    posts: Mapped[int] = mapped_column(Integer)
    comments: Mapped[int] = mapped_column(Integer)
    communities: Mapped[int] = mapped_column(Integer)


def store_site_counts(**totals: int) -> Update:
    """The statement that sets the site's counts to `totals` (a recount's): row 1 holds them, the other slots 0."""
    first = SiteCountsRow.id == 1
    return update(SiteCountsRow).values({name: case((first, total), else_=0) for name, total in totals.items()})
