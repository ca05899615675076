"""Reads of uploaded images: one by its alias (to serve it), and the lists of list_media / list_all_media."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.image import LocalImage
from moot.db.person import LocalUser, Person
from moot.queries.common import page_of


async def image_by_alias(session: AsyncSession, alias: str) -> LocalImage | None:
    result: LocalImage | None = await session.scalar(select(LocalImage).where(LocalImage.pictrs_alias == alias))
    return result


async def list_media(
    session: AsyncSession, *, local_user_id: int | None, page: int | None, limit: int | None
) -> list[tuple[LocalImage, Person]]:
    """Uploads with their uploader, newest first: one account's (`local_user_id`), or everyone's (None). As
    Lemmy's LocalImageView, an image without an uploader (a link preview's thumbnail) is not listed."""
    paging = page_of(page, limit)
    query = (
        select(LocalImage, Person)
        .join(LocalUser, LocalUser.id == LocalImage.local_user_id)
        .join(Person, Person.id == LocalUser.person_id)
        .order_by(LocalImage.published.desc(), LocalImage.id.desc())
        .offset(paging.offset)
        .limit(paging.limit)
    )
    if local_user_id is not None:
        query = query.where(LocalImage.local_user_id == local_user_id)
    return [(image, person) for image, person in (await session.execute(query)).all()]
