"""CSRF tokens bound to the browser's cookies: one rule for the pages (web/routing.py checks every POST) and for
the one API route a page's script calls with the login cookie (`POST /pictrs/image`, api/pictrs.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from starlette.requests import Request

AUTH_COOKIE = "jwt"
CSRF_COOKIE = "moot_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def csrf_token(secret: str, nonce: str, jwt: str | None) -> str:
    """HMAC of the browser's nonce cookie and its login cookie: a token from another browser or another
    login does not fit, and a page of another site can neither read nor forge it."""
    message = f"moot-csrf\x00{nonce}\x00{jwt or ''}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_valid(secret: str, nonce: str | None, jwt: str | None, presented: str | None) -> bool:
    if not secret or not nonce or not presented:
        return False
    return hmac.compare_digest(csrf_token(secret, nonce, jwt), presented)


def has_bearer(request: Request) -> bool:
    """Whether the request logs in by `Authorization: Bearer` (an app), not by the browser's cookie."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(value.strip())


def from_a_browser(request: Request) -> bool:
    """Whether a browser sent the request: browsers add `Origin` to every cross-origin POST and `Sec-Fetch-Site` to
    every request, and a page cannot remove them. Clients such as pythorhead send neither."""
    return "origin" in request.headers or "sec-fetch-site" in request.headers


def cookie_login_allowed(request: Request, secret: str, presented: str | None = None) -> bool:
    """A browser's request that logs in by the `jwt` cookie alone acts only with the page's CSRF token (the
    X-CSRF-Token header, or `presented` from its form): a browser sends the cookie along with another site's
    multipart POST, which needs no CORS preflight (SameSite=Lax stops a cross-site one, not a sibling subdomain's).
    A Bearer login, no login at all, or a client that is not a browser (pythorhead uploads with the cookie, as
    Lemmy allows) needs no token."""
    if has_bearer(request):
        return True
    jwt = request.cookies.get(AUTH_COOKIE) or None
    if jwt is None or not from_a_browser(request):
        return True
    token = request.headers.get(CSRF_HEADER) or presented
    return csrf_valid(secret, request.cookies.get(CSRF_COOKIE), jwt, token)
