"""CSRF tokens bound to the browser's cookies, the cookies themselves, and the headers every page carries."""

from __future__ import annotations

import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The token's rule lives in moot.http.csrf (the API's upload route checks it too); named here for the pages.
from moot.http.csrf import AUTH_COOKIE as AUTH_COOKIE
from moot.http.csrf import CSRF_COOKIE as CSRF_COOKIE
from moot.http.csrf import CSRF_FIELD as CSRF_FIELD
from moot.http.csrf import CSRF_HEADER as CSRF_HEADER
from moot.http.csrf import csrf_token as csrf_token
from moot.http.csrf import csrf_valid as csrf_valid
from moot.settings import Settings

# A login lasts until the person logs out (Lemmy's tokens do not expire either); the cookie keeps it a year.
COOKIE_MAX_AGE = 365 * 24 * 3600

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: data:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


class CsrfRefused(Exception):
    """A POST without a valid token: answered with a 403 page, never acted on."""


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def cookie_secure(request: Request, settings: Settings) -> bool:
    """Whether our cookies carry `Secure`: when the browser talks to us over https. That is a request that came
    over TLS (ours, or the trusted proxy's, which uvicorn reads from X-Forwarded-Proto), or one addressed to the
    public host of a site whose ids are https (behind a proxy that does not say so). Not a plain-http request to
    a LAN address or to localhost: a browser drops a Secure cookie set over http, and nobody could log in."""
    if request.url.scheme == "https":
        return True
    return settings.tls_enabled and request.headers.get("host", "").lower() == settings.domain


def set_cookie(response: Response, name: str, value: str, *, secure: bool) -> None:
    """Every cookie of ours: HttpOnly, SameSite=Lax, and Secure when `cookie_secure` says so."""
    response.set_cookie(
        name,
        value,
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def clear_cookie(response: Response, name: str, *, secure: bool) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=secure)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site: never `//host`, `/\\host` or a scheme (an open redirect otherwise)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ch in target for ch in "\r\n\t"):
        return default
    return target


class SecurityHeaders:
    """Adds the page headers to every response outside the JSON API: CSP, frame and sniffing rules."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The API and its generated docs (which load a CDN script) keep their own headers.
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                    headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)
