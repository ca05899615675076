"""Link previews and remote images: the writes behind them.

A link post's preview is queued (`link_preview_task`) in the post's own transaction when it is created or its
URL changes; the background fetcher (federation/previews.py) claims due rows with a lease, reads the page and
saves what it found with `apply_preview`, or counts a failed attempt with `preview_failed`. Remote image URLs that
appear in stored content are recorded (`remote_image`): the image proxy serves those and nothing else."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import images
from moot.db.base import insert_if_absent
from moot.db.image import LinkPreviewTask, RemoteImage
from moot.db.post import Post
from moot.domain import validation
from moot.domain.errors import LemmyError
from moot.domain.imageproxy import is_remote, proxy_if_remote, unproxied_markdown
from moot.domain.markdown import image_sources
from moot.domain.timefmt import utcnow
from moot.queries.images import image_by_alias
from moot.settings import Settings

MAX_ATTEMPTS = 5
FIRST_WAIT = timedelta(seconds=30)
MAX_WAIT = timedelta(hours=6)
LEASE = timedelta(minutes=5)
MAX_LINK = 2000


async def record_remote_images(session: AsyncSession, settings: Settings, links: list[str | None]) -> None:
    """Remember image URLs of other hosts found in stored content, so the image proxy may serve them."""
    for link in dict.fromkeys(link for link in links if link):
        if len(link) <= MAX_LINK and is_remote(settings.hostname, link):
            await insert_if_absent(session, RemoteImage, {"link": link, "published": utcnow()}, "link")


def original_markdown(settings: Settings, text: str | None) -> str:
    """Text sent back with our proxy's image URLs in it (the API answers them) is stored as its author wrote it."""
    return unproxied_markdown(settings.base_url, text) or ""


async def record_markdown_images(session: AsyncSession, settings: Settings, *texts: str | None) -> None:
    """The remote images a markdown text shows (a post body, a comment, a bio)."""
    links: list[str | None] = []
    for text in texts:
        links.extend(image_sources(text))
    await record_remote_images(session, settings, links)


async def record_actor_images(
    session: AsyncSession, settings: Settings, icon: str | None, banner: str | None, bio: str | None
) -> None:
    """A remote person's or community's avatar (icon), banner and the images of its bio or description."""
    await record_remote_images(session, settings, [icon, banner, *image_sources(bio)])


async def displayed_thumbnail(session: AsyncSession, settings: Settings, link: str) -> str:
    """The thumbnail URL stored for a remote image (a custom thumbnail, a remote post's `image`): recorded, and
    the proxy's URL in ProxyAllImages mode, as Lemmy's proxy_image_link."""
    await record_remote_images(session, settings, [link])
    return proxy_if_remote(settings.base_url, settings.hostname, settings.image_mode, link)


async def custom_thumbnail(session: AsyncSession, settings: Settings, link: str | None) -> str | None:
    """A `custom_thumbnail` of a form or the `image` of a remote Page, checked as a post URL is."""
    if not link:
        return None
    try:
        cleaned = validation.clean_url(link)
    except LemmyError:
        return None  # a bad thumbnail never costs the post (Lemmy logs and goes on)
    return await displayed_thumbnail(session, settings, cleaned) if cleaned else None


async def queue_preview(session: AsyncSession, settings: Settings, post: Post, *, now: datetime | None = None) -> None:
    """(Re)queue the preview of `post.url` in the caller's transaction; a post without a URL has none. A link to
    one of our own uploads needs no fetch: it is its own thumbnail, with its known type (so the Create that goes
    out in this transaction already carries the Image attachment and its alt text)."""
    await session.execute(delete(LinkPreviewTask).where(LinkPreviewTask.post_id == post.id))
    if not post.url:
        return
    alias = images.alias_from_url(settings, post.url)
    own = await image_by_alias(session, alias) if alias else None
    if own is not None:
        post.url_content_type = own.content_type
        post.thumbnail_url = post.url
        await images.upsert_image_details(
            session, post.url, width=own.width, height=own.height, content_type=own.content_type
        )
        return
    guessed = mimetypes.guess_type(post.url.split("?", 1)[0])[0]
    if guessed is not None and guessed.startswith("image/"):
        post.url_content_type = guessed  # until the fetch says better (Lemmy guesses from the path the same way)
    now = now or utcnow()
    session.add(
        LinkPreviewTask(post_id=post.id, url=post.url, attempts=0, next_attempt=now, last_error=None, published=now)
    )
    await session.flush()


def clear_preview(post: Post, *, keep_thumbnail: bool = False) -> None:
    """A changed URL: what was read from the old page goes (the thumbnail too, unless it is a custom one)."""
    post.embed_title = post.embed_description = post.embed_video_url = post.url_content_type = None
    if not keep_thumbnail:
        post.thumbnail_url = None


@dataclass(frozen=True, slots=True)
class ClaimedPreview:
    post_id: int
    url: str
    attempts: int
    local: bool
    thumbnail_url: str | None


async def claim_previews(session: AsyncSession, *, limit: int, skip_locked: bool) -> list[ClaimedPreview]:
    """Due rows, each leased (next attempt moved past LEASE) so no other process takes it meanwhile."""
    now = utcnow()
    query = (
        select(LinkPreviewTask)
        .where(LinkPreviewTask.attempts < MAX_ATTEMPTS, LinkPreviewTask.next_attempt <= now)
        .order_by(LinkPreviewTask.next_attempt, LinkPreviewTask.post_id)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    tasks = list((await session.scalars(query)).all())
    claimed = []
    for task in tasks:
        task.attempts += 1
        task.next_attempt = now + LEASE
        post = await session.get(Post, task.post_id)
        if post is None or post.url != task.url:
            await session.delete(task)
            continue
        claimed.append(ClaimedPreview(task.post_id, task.url, task.attempts, post.local, post.thumbnail_url))
    await session.flush()
    return claimed


def retry_wait(attempts: int) -> timedelta:
    wait: timedelta = FIRST_WAIT * (2 ** max(attempts - 1, 0))
    return min(wait, MAX_WAIT)


async def preview_failed(session: AsyncSession, claim: ClaimedPreview, error: str) -> None:
    """A failure worth another try (network, timeout, 5xx): the attempt counts, the wait doubles. After
    MAX_ATTEMPTS the row stays, with its last error, and is not claimed again."""
    await session.execute(
        update(LinkPreviewTask)
        .where(LinkPreviewTask.post_id == claim.post_id, LinkPreviewTask.url == claim.url)
        .values(last_error=error[:1000], next_attempt=utcnow() + retry_wait(claim.attempts))
    )


@dataclass(frozen=True, slots=True)
class PreviewResult:
    title: str | None
    description: str | None
    embed_video_url: str | None
    content_type: str | None
    # None: leave the thumbnail as it is (a custom one, or none found).
    thumbnail_url: str | None


async def apply_preview(session: AsyncSession, claim: ClaimedPreview, result: PreviewResult) -> bool:
    """Save what the page said, unless the post's URL changed meanwhile (the newer task does it). Not an edit:
    `updated` stays, and nothing is federated (every server reads the page itself, as Lemmy)."""
    await session.execute(
        delete(LinkPreviewTask).where(LinkPreviewTask.post_id == claim.post_id, LinkPreviewTask.url == claim.url)
    )
    post = await session.get(Post, claim.post_id)
    if post is None or post.url != claim.url:
        return False
    post.embed_title = result.title
    post.embed_description = result.description
    post.embed_video_url = result.embed_video_url
    post.url_content_type = result.content_type[:255] if result.content_type else None
    if result.thumbnail_url is not None:
        post.thumbnail_url = result.thumbnail_url
    await session.flush()
    return True
