"""Moot's own HTML interface: server-rendered pages that work without JavaScript, served by the same app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from moot.http.routes import add_routes
from moot.web.account import router as account_pages
from moot.web.account_security import router as account_security_pages
from moot.web.admin import router as admin_pages
from moot.web.admin_tools import router as admin_tool_pages
from moot.web.community_settings import router as community_settings_pages
from moot.web.compose import router as compose_pages
from moot.web.feeds import router as feed_pages
from moot.web.interact import router as interact_pages
from moot.web.listing import router as listing_pages
from moot.web.mail_pages import router as mail_pages
from moot.web.messages import router as message_pages
from moot.web.moderate import router as moderation_pages
from moot.web.modlog import router as modlog_pages
from moot.web.not_found import install_not_found_page
from moot.web.people import router as people_pages
from moot.web.render import STATIC, build_environment
from moot.web.search import router as search_pages
from moot.web.security import SecurityHeaders
from moot.web.settings_pages import router as settings_pages
from moot.web.thread import router as thread_pages


def install_web(app: FastAPI) -> None:
    """Add the pages, their static files and the security headers; call before the app starts serving."""
    if getattr(app.state, "web_installed", False):
        return
    app.state.web_templates = build_environment()
    for router in (
        listing_pages,
        thread_pages,
        compose_pages,
        interact_pages,
        account_pages,
        account_security_pages,
        settings_pages,
        people_pages,
        search_pages,
        feed_pages,
        admin_pages,
        moderation_pages,
        modlog_pages,
        community_settings_pages,
        admin_tool_pages,
        message_pages,
        mail_pages,
    ):
        add_routes(app, router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_not_found_page(app)
    app.add_middleware(SecurityHeaders)
    app.state.web_installed = True
