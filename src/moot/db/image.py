"""Images: uploads stored by Moot itself (pict-rs's API, no pict-rs), the details Lemmy's views carry for an image
link, the remote images the proxy may serve, and the link-preview work waiting for the background fetcher."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from moot.db.base import Base


class LocalImage(Base):
    """One stored image, served at /pictrs/image/{pictrs_alias}. `local_user_id` is the uploader (NULL for a link
    preview's thumbnail that Moot copied itself, as Lemmy). The file lives in the media storage under
    `storage_key`; `pictrs_delete_token` is shown to its owner (list_media) and in the upload's answer."""

    __tablename__ = "local_image"

    id: Mapped[int] = mapped_column(primary_key=True)
    local_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("local_user.id", ondelete="SET NULL"), index=True, nullable=True
    )
    pictrs_alias: Mapped[str] = mapped_column(String(255), unique=True)
    pictrs_delete_token: Mapped[str] = mapped_column(String(128))
    storage_key: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    byte_size: Mapped[int] = mapped_column(Integer)
    blurhash: Mapped[str | None] = mapped_column(String(128))
    published: Mapped[datetime]


class ImageDetails(Base):
    """Width, height and type of an image link (a post's URL or thumbnail), Lemmy's `image_details`."""

    __tablename__ = "image_details"

    id: Mapped[int] = mapped_column(primary_key=True)
    link: Mapped[str] = mapped_column(Text, unique=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(64))
    published: Mapped[datetime]


class RemoteImage(Base):
    """An image URL from another host that appeared in content Moot stores; only these are served through the
    image proxy (as Lemmy's `remote_image`), so the proxy never fetches a URL nobody wrote."""

    __tablename__ = "remote_image"

    id: Mapped[int] = mapped_column(primary_key=True)
    link: Mapped[str] = mapped_column(Text, unique=True)
    published: Mapped[datetime]


class LinkPreviewTask(Base):
    """A link post whose page has to be read (title, description, thumbnail). Written in the post's own
    transaction, so a crash or restart never loses it; the background fetcher claims due rows, fills the post and
    deletes the row, or counts the attempt and waits."""

    __tablename__ = "link_preview_task"
    __table_args__ = (Index("ix_link_preview_task_due", "next_attempt"),)

    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    published: Mapped[datetime]
