"""The in-process scheduler `moot serve` runs: ranks every 10 minutes, active users, activity cleanup and images
hourly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from moot.db.engine import Database
from moot.jobs.activity import refresh_active_users
from moot.jobs.cleanup import drop_old_activities
from moot.jobs.images import run_image_job
from moot.jobs.mail import run_mail
from moot.jobs.ranks import refresh_ranks
from moot.settings import Settings

log = logging.getLogger(__name__)
ACTIVE_USERS_EVERY = 3600.0


async def run_scheduler(db: Database, rank_interval: float, settings: Settings | None = None) -> None:
    """Runs until cancelled. A failing run is logged and retried at the next tick, never fatal. With mail settings,
    the mail job (jobs/mail.py) runs beside it, every second."""
    if settings is not None:
        # Beside the loop below: the image job (jobs/images.py, hourly) and, with mail settings, the mail job.
        side = [asyncio.create_task(run_image_job(db, settings), name="images")]
        if settings.mail_enabled:
            side.append(asyncio.create_task(run_mail(db, settings), name="mail"))
        try:
            await run_scheduler(db, rank_interval)
        finally:
            for task in side:
                task.cancel()
            for task in side:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        return
    last_active = 0.0
    while True:
        try:
            if time.monotonic() - last_active >= ACTIVE_USERS_EVERY or last_active == 0.0:
                await refresh_active_users(db)
                await drop_old_activities(db)
                last_active = time.monotonic()
            counts = await refresh_ranks(db)
            log.info("ranks refreshed: %s", counts)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduled job failed; retrying at the next tick")
        await asyncio.sleep(rank_interval)
