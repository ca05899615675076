"""Uploaded images: stored (checked and re-encoded by moot.media), listed, deleted, and found again from their URL.

An upload is one `local_image` row and one file in the media storage under `originals/xx/<alias>`; derived files
(thumbnails, conversions) live under `derived/<alias>/` and are made on first request. Its URL is
`{base_url}/pictrs/image/<alias>`, as Lemmy's pict-rs URLs. A row is the truth: the image is served only while its
row exists, so deleting the row (in the transaction of whatever deletes it) is enough to take the image down;
its files are removed right after the commit by the caller (`remove_files`), and the orphan job removes any file
left without a row.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.comment import Comment
from moot.db.community import Community
from moot.db.image import ImageDetails, LocalImage
from moot.db.message import PrivateMessage
from moot.db.moderation import CustomEmoji
from moot.db.person import LocalUser, Person
from moot.db.post import Post
from moot.db.site import Site
from moot.domain.errors import LemmyError
from moot.domain.timefmt import utcnow
from moot.media.images import ImageError, ImageLimits, ProcessedImage, process_image
from moot.media.storage import InvalidKey, MediaStorage, check_key, derived_prefix, original_key
from moot.queries.images import image_by_alias
from moot.settings import Settings

__all__ = [
    "ImageError",
    "alias_from_url",
    "delete_image",
    "image_url",
    "orphan_images",
    "prepare_image",
    "record_image",
    "release_uploads",
    "remove_files",
    "store_image",
]


def image_url(settings: Settings, alias: str) -> str:
    """The absolute URL an upload is served at."""
    return f"{settings.base_url}/pictrs/image/{alias}"


def alias_from_url(settings: Settings, url: str | None) -> str | None:
    """The alias of one of OUR uploads named by `url` (query and fragment ignored); None for anything else."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or parts.netloc.lower() != settings.hostname.lower():
        return None
    prefix = "/pictrs/image/"
    if not parts.path.startswith(prefix):
        return None
    alias = parts.path[len(prefix) :]
    if "/" in alias:
        return None
    try:
        return check_key(alias)
    except InvalidKey:
        return None


async def prepare_image(data: bytes, settings: Settings) -> ProcessedImage:
    """Check and re-encode an upload in a worker thread (never inside a write transaction if it can be helped:
    a large image takes a while). Raises ImageError."""
    return await asyncio.to_thread(process_image, data, ImageLimits.from_settings(settings))


async def record_image(
    session: AsyncSession,
    image: ProcessedImage,
    *,
    storage: MediaStorage,
    local_user_id: int | None,
) -> LocalImage:
    """Write the file, then its row (in the caller's transaction). If the row fails, the file goes too; if the
    transaction rolls back later, the orphan job removes the file."""
    alias = f"{secrets.token_urlsafe(18).replace('-', 'x').replace('_', 'y')}.{image.extension}"
    key = original_key(alias)
    await storage.put(key, image.data)
    row = LocalImage(
        local_user_id=local_user_id,
        pictrs_alias=alias,
        pictrs_delete_token=secrets.token_urlsafe(24),
        storage_key=key,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        byte_size=len(image.data),
        blurhash=None,
        published=utcnow(),
    )
    try:
        session.add(row)
        await session.flush()
    except BaseException:
        await storage.delete(key)
        raise
    return row


async def store_image(
    session: AsyncSession,
    data: bytes,
    *,
    settings: Settings,
    storage: MediaStorage,
    local_user_id: int | None,
) -> LocalImage:
    """Process (refusing with ImageError), store the file and insert the `local_image` row."""
    processed = await prepare_image(data, settings)
    return await record_image(session, processed, storage=storage, local_user_id=local_user_id)


async def upsert_image_details(session: AsyncSession, link: str, *, width: int, height: int, content_type: str) -> None:
    """Lemmy's `image_details` of a link (a post's URL or thumbnail): written once, then kept up to date."""
    row = await session.scalar(select(ImageDetails).where(ImageDetails.link == link))
    if row is None:
        session.add(ImageDetails(link=link, width=width, height=height, content_type=content_type, published=utcnow()))
    else:
        row.width, row.height, row.content_type = width, height, content_type
    await session.flush()


async def remove_files(storage: MediaStorage, image: LocalImage | str) -> None:
    """Remove an upload's file and its derived files (after the row's deletion has committed)."""
    alias = image if isinstance(image, str) else image.pictrs_alias
    try:
        await storage.delete(original_key(alias))
        await storage.delete_prefix(derived_prefix(alias))
    except InvalidKey:
        return


async def delete_image(
    session: AsyncSession,
    image: LocalImage,
    *,
    storage: MediaStorage | None = None,
) -> None:
    """Delete an upload's row; with `storage`, its files too (call it last in the transaction, or pass no storage
    and call remove_files after the commit)."""
    await session.execute(delete(LocalImage).where(LocalImage.id == image.id))
    await session.execute(delete(ImageDetails).where(ImageDetails.link.like(f"%/pictrs/image/{image.pictrs_alias}")))
    await session.flush()
    if storage is not None:
        await remove_files(storage, image)


async def delete_by_token(session: AsyncSession, alias: str, token: str) -> LocalImage:
    """pict-rs's delete link: the alias and its delete token, no login needed. Raises 404 for a wrong pair."""
    image = await image_by_alias(session, alias)
    if image is None or not secrets.compare_digest(image.pictrs_delete_token, token):
        raise LemmyError("not_found", status=404)
    await delete_image(session, image)
    return image


def alias_in(url: str | None) -> str | None:
    """The alias named by a `/pictrs/image/<alias>` URL on any host (the uploads' own rows decide the rest)."""
    if not url:
        return None
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        return None
    prefix = "/pictrs/image/"
    if not path.startswith(prefix) or "/" in path[len(prefix) :]:
        return None
    try:
        return check_key(path[len(prefix) :])
    except InvalidKey:
        return None


async def release_uploads(
    session: AsyncSession, urls: list[str | None], *, local_user_id: int | None = None
) -> list[str]:
    """Delete the uploads `urls` named that nothing uses any more (a replaced avatar or icon, a deleted or purged
    post's image): called after the change is flushed, so the old value no longer counts as a use. With
    `local_user_id`, only that account's uploads. Returns the aliases deleted; their files go after the commit
    (remove_files) or with the image job's sweep."""
    await session.flush()
    aliases = {a for a in (alias_in(u) for u in urls) if a}
    if not aliases:
        return []
    query = select(LocalImage).where(LocalImage.pictrs_alias.in_(aliases))
    if local_user_id is not None:
        query = query.where(LocalImage.local_user_id == local_user_id)
    released = []
    for image in list((await session.scalars(query)).all()):
        if not await _referenced(session, image.pictrs_alias):
            await delete_image(session, image)
            released.append(image.pictrs_alias)
    return released


async def delete_images_of_person(session: AsyncSession, person_id: int) -> list[str]:
    """Every upload of a local person's account (a purge): rows deleted, aliases returned."""
    uploader = select(LocalUser.id).where(LocalUser.person_id == person_id).scalar_subquery()
    images = list((await session.scalars(select(LocalImage).where(LocalImage.local_user_id == uploader))).all())
    for image in images:
        await delete_image(session, image)
    return [i.pictrs_alias for i in images]


@dataclass(frozen=True, slots=True)
class OrphanRule:
    """An upload is an orphan when it is older than `min_age` and its alias appears in none of the places that
    can show an image: avatars, banners, icons, post URLs, thumbnails and bodies, comments, private messages,
    bios, descriptions, the sidebar and custom emojis (a match anywhere in the text keeps it). Posts and comments
    their authors deleted do not count (a moderator's removal does: it may be undone)."""

    min_age: timedelta = timedelta(days=1)
    batch: int = 50


async def orphan_images(
    session: AsyncSession, *, now: datetime | None = None, rule: OrphanRule | None = None
) -> list[LocalImage]:
    """Uploads the orphan rule says nothing references (the oldest `rule.batch` candidates are checked)."""
    rule = rule or OrphanRule()
    cutoff = (now or utcnow()) - rule.min_age
    candidates = list(
        (
            await session.scalars(
                select(LocalImage)
                .where(LocalImage.published < cutoff)
                .order_by(LocalImage.published, LocalImage.id)
                .limit(rule.batch)
            )
        ).all()
    )
    orphans = []
    for image in candidates:
        if not await _referenced(session, image.pictrs_alias):
            orphans.append(image)
    return orphans


async def _referenced(session: AsyncSession, alias: str) -> bool:
    pattern = f"%/pictrs/image/{alias}%"
    checks = [
        select(Person.id).where(
            or_(Person.avatar.like(pattern), Person.banner.like(pattern), Person.bio.like(pattern))
        ),
        select(Community.id).where(
            or_(Community.icon.like(pattern), Community.banner.like(pattern), Community.description.like(pattern))
        ),
        select(Site.id).where(or_(Site.icon.like(pattern), Site.banner.like(pattern), Site.sidebar.like(pattern))),
        select(Post.id).where(
            Post.deleted.is_(False),
            or_(Post.url.like(pattern), Post.thumbnail_url.like(pattern), Post.body.like(pattern)),
        ),
        select(Comment.id).where(Comment.deleted.is_(False), Comment.content.like(pattern)),
        select(PrivateMessage.id).where(PrivateMessage.content.like(pattern)),
        select(CustomEmoji.id).where(CustomEmoji.image_url.like(pattern)),
    ]
    for query in checks:
        if await session.scalar(query.limit(1)) is not None:
            return True
    return False
