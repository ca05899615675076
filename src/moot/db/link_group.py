"""Remote halves of a link's discussion: comments read on demand from another server, kept apart from ours.

A cross-post in a community this server does not follow has no comments here. The joined thread reads them
from the post's origin (bounded, through the fetch guard) and keeps the answer in `remote_thread` for a while.
They are never stored as comments: nothing here was delivered, so nothing here may be voted, moderated or
federated as if it were ours."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from moot.db.base import Base


class RemoteThread(Base):
    """The comments of one remote post as its origin answered them (`body`: JSON), when they were read, and
    the error of the last attempt (then `body` is what an earlier attempt read, or an empty list)."""

    __tablename__ = "remote_thread"

    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime]
    error: Mapped[str | None] = mapped_column(Text)
