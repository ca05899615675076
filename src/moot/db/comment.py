"""Comments (a materialised path per row), what people did to them, and the reply/mention inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from moot.db.base import Base
from moot.domain.ranking import DEFAULT_RANK


class Comment(Base):
    __tablename__ = "comment"
    __table_args__ = (
        # A tree fetch is one range read: the comments of a post, shallow first, best first.
        Index(
            "ix_comment_tree_hot",
            "post_id",
            "depth",
            text("distinguished DESC"),
            text("hot_rank DESC"),
            text("score DESC"),
            "id",
        ),
        Index("ix_comment_post_path", "post_id", "path"),
        Index("ix_comment_creator", "creator_id", "published"),
        Index("ix_comment_published", "published"),
        # The site-wide comment listing's sorts, each walked in order (migration 0014).
        Index("ix_comment_hot", "hot_rank", "score", "id"),
        Index("ix_comment_top", "score", "published", "id"),
        Index("ix_comment_controversy", "controversy_rank", "score", "id"),
        # Ids never given twice on SQLite: ap_ids are made from them (migration 0012).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    content: Mapped[str] = mapped_column(Text)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    distinguished: Mapped[bool] = mapped_column(Boolean, default=False)
    language_id: Mapped[int] = mapped_column(Integer, default=0)
    # Lemmy's ltree path as text: "0.<ancestor ids>.<own id>"; depth 1 is a top-level comment.
    path: Mapped[str] = mapped_column(String(1024), default="0")
    depth: Mapped[int] = mapped_column(Integer, default=1)
    ap_id: Mapped[str] = mapped_column(String(255), unique=True)
    local: Mapped[bool] = mapped_column(Boolean, default=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    published: Mapped[datetime]
    updated: Mapped[datetime | None]
    score: Mapped[int] = mapped_column(Integer, default=0)
    upvotes: Mapped[int] = mapped_column(Integer, default=0)
    downvotes: Mapped[int] = mapped_column(Integer, default=0)
    child_count: Mapped[int] = mapped_column(Integer, default=0)
    hot_rank: Mapped[float] = mapped_column(Float, default=DEFAULT_RANK)
    controversy_rank: Mapped[float] = mapped_column(Float, default=0.0)


class CommentActions(Base):
    __tablename__ = "comment_actions"
    __table_args__ = (
        Index("ix_comment_actions_saved", "person_id", "saved"),
        # Deleting a comment cascades here, and votes are looked up per comment.
        Index("ix_comment_actions_comment", "comment_id"),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    like_score: Mapped[int | None] = mapped_column(SmallInteger)
    liked: Mapped[datetime | None]
    saved: Mapped[datetime | None]


class CommentReply(Base):
    __tablename__ = "comment_reply"
    __table_args__ = (Index("ix_comment_reply_recipient", "recipient_id", "read", "published"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    comment_id: Mapped[int] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"), index=True)
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    published: Mapped[datetime]


class PersonMention(Base):
    __tablename__ = "person_mention"
    __table_args__ = (Index("ix_person_mention_recipient", "recipient_id", "read", "published"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    comment_id: Mapped[int] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"), index=True)
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    published: Mapped[datetime]
