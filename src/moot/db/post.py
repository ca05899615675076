"""Posts and what each person did to one (vote, save, read, hide)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from moot.db.base import Base
from moot.domain.ranking import DEFAULT_RANK


class Post(Base):
    __tablename__ = "post"
    __table_args__ = (
        Index("ix_post_hot", "featured_local", "hot_rank", "published"),
        # Every site-wide sort led by featured_local, as All and Local order them (migration 0010).
        Index("ix_post_active", "featured_local", "hot_rank_active", "published"),
        Index("ix_post_scaled", "featured_local", "scaled_rank", "published"),
        Index("ix_post_controversy", "featured_local", "controversy_rank", "published"),
        Index("ix_post_score", "featured_local", "score", "published"),
        Index("ix_post_newest_comment", "featured_local", "newest_comment_time", "published"),
        Index("ix_post_comments", "featured_local", "comments", "published"),
        Index("ix_post_featured_published", "featured_local", "published"),
        Index("ix_post_featured_old", text("featured_local DESC"), "published"),
        Index("ix_post_published", "published"),
        Index("ix_post_community_hot", "community_id", "featured_community", "hot_rank", "published"),
        # One per sort, for community pages and the Subscribed listing (migration 0004).
        Index("ix_post_community_active", "community_id", "featured_community", "hot_rank_active", "published"),
        Index("ix_post_community_scaled", "community_id", "featured_community", "scaled_rank", "published"),
        Index("ix_post_community_controversy", "community_id", "featured_community", "controversy_rank", "published"),
        Index("ix_post_community_score", "community_id", "featured_community", "score", "published"),
        Index("ix_post_community_comments", "community_id", "featured_community", "comments", "published"),
        Index(
            "ix_post_community_newest_comment", "community_id", "featured_community", "newest_comment_time", "published"
        ),
        Index("ix_post_community_published", "community_id", "published"),
        Index("ix_post_url_match", "url_match"),
        Index("ix_post_creator", "creator_id", "featured_local", "published"),
        # Ids never given twice on SQLite: ap_ids are made from them (migration 0012).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    # The link with scheme, www., tracking parameters and trailing slash dropped: how cross-posts are found.
    url_match: Mapped[str | None] = mapped_column(String(2000))
    body: Mapped[str | None] = mapped_column(Text)
    creator_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    nsfw: Mapped[bool] = mapped_column(Boolean, default=False)
    embed_title: Mapped[str | None] = mapped_column(Text)
    embed_description: Mapped[str | None] = mapped_column(Text)
    embed_video_url: Mapped[str | None] = mapped_column(Text)
    thumbnail_url: Mapped[str | None] = mapped_column(Text)
    url_content_type: Mapped[str | None] = mapped_column(Text)
    alt_text: Mapped[str | None] = mapped_column(Text)
    language_id: Mapped[int] = mapped_column(Integer, default=0)
    featured_community: Mapped[bool] = mapped_column(Boolean, default=False)
    featured_local: Mapped[bool] = mapped_column(Boolean, default=False)
    ap_id: Mapped[str] = mapped_column(String(255), unique=True)
    local: Mapped[bool] = mapped_column(Boolean, default=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    published: Mapped[datetime]
    updated: Mapped[datetime | None]
    # Counters kept by the actions; ranks refreshed by the rank job.
    comments: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[int] = mapped_column(Integer, default=0)
    upvotes: Mapped[int] = mapped_column(Integer, default=0)
    downvotes: Mapped[int] = mapped_column(Integer, default=0)
    newest_comment_time: Mapped[datetime]
    newest_comment_time_necro: Mapped[datetime]
    hot_rank: Mapped[float] = mapped_column(Float, default=DEFAULT_RANK)
    hot_rank_active: Mapped[float] = mapped_column(Float, default=DEFAULT_RANK)
    scaled_rank: Mapped[float] = mapped_column(Float, default=DEFAULT_RANK)
    controversy_rank: Mapped[float] = mapped_column(Float, default=0.0)


class PostActions(Base):
    """One row per person and post: vote, saved, read, hidden (Lemmy 1.0's lesson: one row, not four tables)."""

    __tablename__ = "post_actions"
    __table_args__ = (
        Index("ix_post_actions_saved", "person_id", "saved"),
        Index("ix_post_actions_post", "post_id"),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), primary_key=True)
    like_score: Mapped[int | None] = mapped_column(SmallInteger)
    liked: Mapped[datetime | None]
    saved: Mapped[datetime | None]
    read: Mapped[datetime | None]
    hidden: Mapped[datetime | None]
    read_comments_amount: Mapped[int | None] = mapped_column(Integer)
    read_comments: Mapped[datetime | None]
