"""The per-request context of a page: who is reading, the site, the unread count, CSRF, and rendering."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment

from moot.db.engine import Database
from moot.domain.themes import THEMES
from moot.http.state import AppState, app_state
from moot.queries.admin import open_report_count
from moot.queries.inbox import unread_counts_with_messages
from moot.queries.site_header import SiteHeader, site_header
from moot.queries.viewer import Viewer, load_viewer
from moot.settings import Settings
from moot.web.security import (
    AUTH_COOKIE,
    CSRF_COOKIE,
    clear_cookie,
    cookie_secure,
    csrf_token,
    new_nonce,
    safe_next,
    set_cookie,
)

R = TypeVar("R", bound=Response)


class LoginRequired(Exception):
    """A page or action that needs an account: anonymous readers are sent to the login form."""


# An anchor that quote() leaves as it is but for its `#`.
_PLAIN_ANCHOR = re.compile(r"#[A-Za-z0-9_-]*")


@dataclass
class Web:
    request: Request
    state: AppState
    viewer: Viewer | None
    site: SiteHeader
    unread: int
    nonce: str
    fresh_nonce: bool
    jwt_cookie: str | None
    # Unresolved reports for the header's link: None for anyone who is neither an admin nor a moderator.
    reports: int | None = None
    # Cookies to set on whatever response this request ends with (a login sets `jwt`).
    cookies: dict[str, str | None] = field(default_factory=dict)
    # A page asks for these once per form and link: a thread's page, a few times per comment. Kept for the request:
    # the CSRF token with the cookies it was made for (a login changes them), a GET's own address quoted.
    _csrf: tuple[tuple[str, str | None], str] | None = field(default=None, repr=False)
    _here_quoted: str | None = field(default=None, repr=False)

    @property
    def db(self) -> Database:
        return self.state.db

    @property
    def settings(self) -> Settings:
        return self.state.settings

    @property
    def csrf(self) -> str:
        made_for = (self.nonce, self.jwt_cookie)
        if self._csrf is None or self._csrf[0] != made_for:
            self._csrf = (made_for, csrf_token(self.state.jwt_secret, self.nonce, self.jwt_cookie))
        return self._csrf[1]

    @property
    def wants_json(self) -> bool:
        """Our script asks for JSON from the same form endpoints; browsers without it get pages."""
        return "application/json" in self.request.headers.get("accept", "")

    @property
    def theme(self) -> str:
        # Visitors who have not logged in get the site's default_theme; an account keeps its own choice.
        chosen = self.viewer.local_user.theme if self.viewer else self.site.default_theme
        return chosen if chosen in THEMES else "browser"

    def require_viewer(self) -> Viewer:
        if self.viewer is None:
            raise LoginRequired
        return self.viewer

    def render(self, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        env: Environment = self.request.app.state.web_templates
        html = env.get_template(template).render(web=self, **values)
        return self.finish(HTMLResponse(html, status_code=status))

    def fragment(self, template: str, **values: Any) -> str:
        env: Environment = self.request.app.state.web_templates
        return env.get_template(template).render(web=self, **values)

    def json(self, body: dict[str, Any], status: int = 200) -> JSONResponse:
        return self.finish(JSONResponse(body, status_code=status))

    def redirect(self, target: str) -> RedirectResponse:
        """Redirect-after-POST: 303, so the browser follows with a GET and a reload never re-posts."""
        return self.finish(RedirectResponse(target, status_code=303))

    def finish(self, response: R) -> R:
        # Pages carry a CSRF token tied to this browser's cookies: no shared cache may keep them.
        response.headers.setdefault("Cache-Control", "private, no-cache")
        secure = cookie_secure(self.request, self.settings)
        if self.fresh_nonce:
            set_cookie(response, CSRF_COOKIE, self.nonce, secure=secure)
        for name, value in self.cookies.items():
            if value is None:
                clear_cookie(response, name, secure=secure)
            else:
                set_cookie(response, name, value, secure=secure)
        return response

    @property
    def here(self) -> str:
        """The page a form sends the reader back to: this one, or after a POST the page the form was on."""
        if self.request.method == "GET":
            query = self.request.url.query
            return self.request.url.path + (f"?{query}" if query else "")
        form = getattr(self.request.state, "form", None)
        return safe_next(form.values.get("next") if form is not None else None).split("#")[0]

    def login_url(self, anchor: str = "") -> str:
        """The login form, coming back here (at `anchor`, such as `#c12`) once logged in."""
        if self.request.method != "GET":  # after a POST, `here` comes from the form, read during the request
            return f"/login?next={quote(self.here + anchor, safe='/')}"
        if self._here_quoted is None:
            self._here_quoted = quote(self.here, safe="/")
        # quote works character by character; a thread's page asks for 900 anchors such as `#c12`, quoted at once.
        quoted = f"%23{anchor[1:]}" if _PLAIN_ANCHOR.fullmatch(anchor) else quote(anchor, safe="/")
        return f"/login?next={self._here_quoted}{quoted}"


async def web_context(request: Request) -> Web:
    """One read session: the login behind the `jwt` cookie, the site header and the unread count."""
    cached: Web | None = getattr(request.state, "web", None)
    if cached is not None:
        return cached
    state = app_state(request)
    jwt_cookie = request.cookies.get(AUTH_COOKIE) or None
    nonce = request.cookies.get(CSRF_COOKIE) or ""
    async with state.db.read() as session:
        viewer = await load_viewer(session, jwt_cookie, state.jwt_secret) if jwt_cookie else None
        site = await site_header(session)
        unread = sum(await unread_counts_with_messages(session, viewer)) if viewer is not None else 0
        reports = await open_report_count(session, viewer) if viewer is not None else None
    web = Web(
        request=request,
        state=state,
        viewer=viewer,
        site=site,
        unread=unread,
        nonce=nonce or new_nonce(),
        fresh_nonce=not nonce,
        jwt_cookie=jwt_cookie,
        reports=reports,
    )
    request.state.web = web
    return web
