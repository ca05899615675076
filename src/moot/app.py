"""The ASGI application factory: schema upgrade and site setup at start, the routers, the jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from moot import __version__
from moot.actions.site import ensure_site
from moot.api.errors import install_error_handlers
from moot.api.lemmy_v3 import (
    account,
    admin,
    applications,
    comment,
    community,
    emojis,
    federation,
    link_media,
    mail,
    media,
    messages,
    moderation,
    modlog,
    post,
    reports,
    search,
    settings_backup,
    site,
    user,
)
from moot.api.nodeinfo import router as nodeinfo_router
from moot.api.openapi import install_openapi
from moot.api.pictrs import router as pictrs_router
from moot.db.engine import Database
from moot.db.migrate import upgrade_async
from moot.federation.previews import run_previews
from moot.federation.routes import ActivityPubNegotiation
from moot.federation.routes import router as federation_router
from moot.federation.service import make_delivery, make_inbox
from moot.http.cache import AnonymousCache
from moot.http.head import HeadAsGet
from moot.http.limits import BodyLimits
from moot.http.ratelimit import ApiRateLimits, RateLimiter
from moot.http.routes import add_routes
from moot.http.shared_reads import SharedReads, sharing_routes
from moot.http.state import AppState
from moot.jobs.scheduler import run_scheduler
from moot.settings import Settings, load_settings
from moot.web import install_web

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    settings = settings or load_settings()
    db = Database(settings)
    limiter = RateLimiter(settings.redis_url, settings.redis_key_prefix)
    state = AppState(settings=settings, db=db, limiter=limiter)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await upgrade_async(settings)
        async with db.write() as session:
            loaded = await ensure_site(session, settings)
        state.jwt_secret = loaded.jwt_secret
        await state.limiter.configure(loaded.rate_limit, reset=False)
        state.inbox = make_inbox(db, settings)
        tasks: list[asyncio.Task[None]] = []
        if settings.run_jobs:
            tasks.append(asyncio.create_task(run_scheduler(db, settings.rank_interval_seconds, settings), name="jobs"))
            tasks.append(asyncio.create_task(run_previews(db, settings), name="link-previews"))
        if settings.run_delivery:
            tasks.append(asyncio.create_task(make_delivery(db, settings).run(), name="delivery"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await db.dispose()
            await state.limiter.close()

    app = FastAPI(title="Moot", version=__version__, lifespan=lifespan, docs_url="/api/docs", redoc_url=None)
    app.state.moot = state
    install_error_handlers(app)
    # Routes are tried one by one in the order they are added (0.7 us each: http/routes.py): the
    # busiest first. The shared inbox was tried after 117 routes, now after 7; the federation router's four paths
    # never begin with /api/v3, nor does one path belong to two API modules, so the order changes nothing else.
    add_routes(app, federation_router)
    for module in (
        post,
        comment,
        user,
        community,
        site,
        search,
        federation,
        moderation,
        reports,
        applications,
        emojis,
        modlog,
        admin,
        messages,
        account,
        mail,
        settings_backup,
        media,
        link_media,
    ):
        add_routes(app, module.router)
    install_openapi(app)
    add_routes(app, nodeinfo_router)
    add_routes(app, pictrs_router)
    install_web(app)
    # Innermost: around the handler only (an anonymous answer from the cache reads nothing).
    app.add_middleware(SharedReads, db=db, routes=sharing_routes(app.routes))
    app.add_middleware(ActivityPubNegotiation)
    # Uploads may carry an image of MOOT_IMAGE_MAX_BYTES and the form around it.
    app.add_middleware(BodyLimits, upload_max=settings.image_max_bytes + 64 * 1024)
    # A hit skips everything inside it (see http/cache.py for what is and is not cached).
    app.add_middleware(AnonymousCache, seconds=settings.anon_cache_seconds)
    # Outermost: every API request costs its token first, cached answers included (pages: web/routing.py).
    app.add_middleware(
        ApiRateLimits,
        limiter=limiter,
        trust_proxy=settings.trusted_proxy_headers,
        proxy_count=settings.trusted_proxy_count,
    )
    # HEAD wherever GET is, in one place (http/head.py); outside the rate limits, which then count it as a GET.
    app.add_middleware(HeadAsGet)
    return app
