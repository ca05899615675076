"""Link previews in the background, and the guarded fetches they and the image proxy make.

    post created / URL edited ──(same transaction)──> link_preview_task (post_id, url, next_attempt)
                                                            │ claimed with a lease (SKIP LOCKED on PostgreSQL)
    PreviewFetcher ── fetch_site_metadata(url) ── guard ──> the page (first MiB): title, description,
          │                                                 og:image, og:video, content type
          ├─ an image URL, or og:image: fetched through the guard, checked and re-encoded (moot.media),
          │  stored as our own upload (local_user_id NULL) -> thumbnail_url = /pictrs/image/<alias>
          └─ apply_preview (one transaction; skipped if the post's URL changed meanwhile)

A network failure, a timeout or a 5xx is tried again with doubling waits (actions/previews.py, at most
MAX_ATTEMPTS); a refusal (private address, 4xx, not a page) is final and saves what is known. Creating a post never
waits for any of it. Remote posts keep their own server's thumbnail (through the proxy in ProxyAllImages mode) and
are never copied wholesale; MOOT_IMAGE_MODE=None links thumbnails where they are."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
from dataclasses import replace
from urllib.parse import urlsplit

from moot.actions import images as image_actions
from moot.actions import previews as preview_actions
from moot.actions.previews import ClaimedPreview, PreviewResult
from moot.db.engine import Database
from moot.federation.fetch import FetchError, FetchPolicy, fetch_bytes
from moot.federation.service import fetch_policy
from moot.media.images import ImageError, ProcessedImage
from moot.media.linkmeta import MAX_HTML_BYTES, LinkMetadata, OpenGraphData, is_image_type, link_metadata
from moot.media.storage import media_storage
from moot.settings import Settings

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
IMAGE_ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.1"
BATCH = 8
CONCURRENCY = 4
POLL_SECONDS = 1.0
# Failures another try may cure; every other FetchError (a refused address, a 4xx, too large) is final.
_RETRYABLE = frozenset({"timeout", "network", "connect", "dns"})


def page_policy(settings: Settings) -> FetchPolicy:
    """The guard's policy for reading a page: its first MiB, 10 s in all."""
    return replace(fetch_policy(settings), max_bytes=MAX_HTML_BYTES, timeout=10.0)


def image_policy(settings: Settings) -> FetchPolicy:
    """The guard's policy for an image: the upload cap, 20 s in all."""
    return replace(fetch_policy(settings), max_bytes=settings.image_max_bytes, timeout=20.0)


def _guessed_type(url: str) -> str | None:
    try:
        return mimetypes.guess_type(urlsplit(url).path)[0]
    except ValueError:
        return None


async def fetch_site_metadata(url: str, settings: Settings) -> LinkMetadata:
    """Lemmy's fetch_link_metadata through the guard. Raises FetchError."""
    fetched = await fetch_bytes(url, page_policy(settings), accept=PAGE_ACCEPT, truncate=True)
    content_type = fetched.content_type or _guessed_type(fetched.url)
    return link_metadata(fetched.body, fetched.url, content_type)


def retryable(exc: FetchError) -> bool:
    return exc.reason in _RETRYABLE or (exc.status is not None and (exc.status >= 500 or exc.status in (408, 429)))


async def fetch_image(url: str, settings: Settings) -> ProcessedImage:
    """A remote image fetched through the guard, then checked and re-encoded as an upload is. Raises FetchError
    or ImageError."""
    fetched = await fetch_bytes(url, image_policy(settings), accept=IMAGE_ACCEPT)
    return await image_actions.prepare_image(fetched.body, settings)


class PreviewFetcher:
    """Claims due link_preview_task rows and fills their posts; one per process that runs the jobs."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.storage = media_storage(settings)
        self._slots = asyncio.Semaphore(CONCURRENCY)

    async def run(self) -> None:
        """Runs until cancelled; a failing round is logged and the next one tries again."""
        while True:
            try:
                done = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("link previews: a round failed")
                done = 0
            if done < BATCH:
                await asyncio.sleep(POLL_SECONDS)

    async def run_once(self) -> int:
        """Claim a batch and process it; returns how many were claimed."""
        async with self.db.write() as session:
            claims = await preview_actions.claim_previews(session, limit=BATCH, skip_locked=not self.db.is_sqlite)
        await asyncio.gather(*(self._guarded(claim) for claim in claims))
        return len(claims)

    async def _guarded(self, claim: ClaimedPreview) -> None:
        async with self._slots:
            try:
                await self.process(claim)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("link preview of post %s failed", claim.post_id)
                async with self.db.write() as session:
                    await preview_actions.preview_failed(session, claim, f"{type(exc).__name__}: {exc}")

    async def process(self, claim: ClaimedPreview) -> None:
        try:
            metadata = await fetch_site_metadata(claim.url, self.settings)
        except FetchError as exc:
            if retryable(exc) and claim.attempts < preview_actions.MAX_ATTEMPTS:
                async with self.db.write() as session:
                    await preview_actions.preview_failed(session, claim, str(exc))
                return
            log.info("link preview of %s: %s", claim.url, exc)
            metadata = LinkMetadata(OpenGraphData(), _guessed_type(claim.url))
        is_image = is_image_type(metadata.content_type)
        # Lemmy: an image link is its own thumbnail; a custom thumbnail is kept for other links; else og:image.
        source = claim.url if is_image else (None if claim.thumbnail_url else metadata.opengraph.image)
        copied = await self._copy(source) if source and claim.local else None
        with contextlib.suppress(_Stale):
            await self._save(claim, metadata, source, copied)

    async def _save(
        self, claim: ClaimedPreview, metadata: LinkMetadata, source: str | None, copied: ProcessedImage | None
    ) -> None:
        async with self.db.write() as session:
            thumbnail: str | None = None
            if copied is not None:
                stored = await image_actions.record_image(session, copied, storage=self.storage, local_user_id=None)
                thumbnail = image_actions.image_url(self.settings, stored.pictrs_alias)
                await image_actions.upsert_image_details(
                    session, thumbnail, width=stored.width, height=stored.height, content_type=stored.content_type
                )
            elif source is not None:
                thumbnail = await preview_actions.displayed_thumbnail(session, self.settings, source)
            og = metadata.opengraph
            result = PreviewResult(og.title, og.description, og.embed_video_url, metadata.content_type, thumbnail)
            if not await preview_actions.apply_preview(session, claim, result) and copied is not None:
                raise _Stale

    async def _copy(self, source: str) -> ProcessedImage | None:
        """The thumbnail of a local post, copied into our storage (not in MOOT_IMAGE_MODE=None)."""
        if self.settings.image_mode == "None":
            return None
        try:
            return await fetch_image(source, self.settings)
        except (FetchError, ImageError) as exc:
            log.info("thumbnail %s not copied: %s", source, exc)
            return None


class _Stale(Exception):
    """The post's URL changed while its old page was read: roll the copied thumbnail's row back."""


async def run_previews(db: Database, settings: Settings) -> None:
    """The preview fetcher's loop (started beside the other jobs)."""
    await PreviewFetcher(db, settings).run()
