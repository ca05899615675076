"""The image job: removes uploads nothing uses, and files left without their row.

The rule (actions/images.OrphanRule), kept conservative: an upload is removed when it is more than a day old and
its alias appears nowhere an image can be shown (avatars, banners, icons, post URLs, thumbnails and bodies,
comments, private messages, bios, descriptions, the sidebar, custom emojis; posts and comments their authors
deleted do not count). A day leaves time to upload first and post after. Then the files: an original or derived
file whose upload has no row (deleted with a post, a purge, a replaced avatar, or a transaction that rolled back
after its file was written) is removed once it is an hour old, so that a file written by an upload still in
progress is never taken."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

from sqlalchemy import select

from moot.actions import images
from moot.db.engine import Database
from moot.db.image import LocalImage
from moot.media.storage import MediaStorage, media_storage
from moot.settings import Settings

log = logging.getLogger(__name__)
STRAY_FILE_AGE = 3600.0


async def clean_images(
    db: Database, settings: Settings, *, now: datetime | None = None, storage: MediaStorage | None = None
) -> tuple[int, int]:
    """One run: (uploads removed as orphans, stray files removed)."""
    storage = storage or media_storage(settings)
    async with db.write() as session:
        orphans = await images.orphan_images(session, now=now)
        for image in orphans:
            await images.delete_image(session, image)
        aliases = [i.pictrs_alias for i in orphans]
    for alias in aliases:
        await images.remove_files(storage, alias)
    strays = await _remove_stray_files(db, storage, time.time() if now is None else now.timestamp())
    if aliases or strays:
        log.info("image job: %d orphan uploads, %d stray files removed", len(aliases), strays)
    return len(aliases), strays


async def _remove_stray_files(db: Database, storage: MediaStorage, now: float) -> int:
    files = await storage.list("originals") + await storage.list("derived")
    old = {key: mtime for key, mtime in files if now - mtime >= STRAY_FILE_AGE}
    by_alias: dict[str, list[str]] = {}
    for key in old:
        parts = key.split("/")
        alias = parts[2] if parts[0] == "originals" and len(parts) == 3 else parts[1] if len(parts) >= 3 else ""
        if alias:
            by_alias.setdefault(alias, []).append(key)
    if not by_alias:
        return 0
    known: set[str] = set()
    names = sorted(by_alias)
    async with db.read() as session:
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            known.update(
                (await session.scalars(select(LocalImage.pictrs_alias).where(LocalImage.pictrs_alias.in_(chunk)))).all()
            )
    removed = 0
    for alias, keys in by_alias.items():
        if alias in known:
            continue
        for key in keys:
            await storage.delete(key)
            removed += 1
    return removed


IMAGE_JOB_EVERY = 3600.0


async def run_image_job(db: Database, settings: Settings, every: float = IMAGE_JOB_EVERY) -> None:
    """Runs clean_images every hour until cancelled; a failed run is logged and tried again at the next."""
    while True:
        try:
            await clean_images(db, settings)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("image job failed; retrying at the next tick")
        await asyncio.sleep(every)
