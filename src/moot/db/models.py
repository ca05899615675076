"""Imports every table module so that `Base.metadata` is complete (for Alembic and tests)."""

from moot.db import (
    comment,
    community,
    federation,
    image,
    instance,
    link_group,
    mail,
    message,
    moderation,
    person,
    post,
    site,
)
from moot.db.base import Base

__all__ = [
    "Base",
    "comment",
    "community",
    "federation",
    "image",
    "instance",
    "link_group",
    "mail",
    "message",
    "moderation",
    "person",
    "post",
    "site",
]
