"""The page route class: every POST is CSRF-checked before its handler runs, and failures become pages."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute

from moot.domain.errors import LemmyError
from moot.domain.validation import I32_MAX, I32_MIN, as_id, clean_text
from moot.http.ratelimit import Bucket
from moot.http.ratelimit import request_address as client_address
from moot.http.state import app_state
from moot.queries.visibility import check_private_instance
from moot.web.context import LoginRequired, web_context
from moot.web.security import AUTH_COOKIE, CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, CsrfRefused, csrf_valid

log = logging.getLogger(__name__)

# Enough for the settings page's language choice (one field per language, 184) and the rest of its form.
MAX_FIELDS = 400

# What a reader sees for the errors an action can raise; anything else is shown by its Lemmy name.
MESSAGES: dict[str, str] = {
    "incorrect_login": "That username or password is not right.",
    "user_already_exists": "That username is taken.",
    "email_already_exists": "An account already uses that email address.",
    "invalid_email_address": "That is not an email address.",
    "invalid_name": "Names are 3 to 20 letters, digits or underscores.",
    "invalid_password": "Passwords are 10 to 60 characters long.",
    "passwords_do_not_match": "The two passwords do not match.",
    "registration_closed": "This site is not taking new accounts.",
    "invalid_post_title": "A title is 3 to 200 characters on one line.",
    "invalid_url": "That link is not a valid URL.",
    "invalid_url_scheme": "Links must start with http:// or https://.",
    "invalid_body_field": "The text is empty or too long.",
    "invalid_display_name": "A display name is 3 to 20 characters and does not start with @.",
    "bio_length_overflow": "The bio is too long (1,000 characters at most).",
    "invalid_community_title": "A community needs a title.",
    "community_already_exists": "A community with that name exists already.",
    "only_admins_can_create_communities": "Only admins can create communities here.",
    "only_mods_can_post_in_community": "Only moderators can post in this community.",
    "banned_from_community": "You are banned from this community.",
    "site_ban": "Your account is banned from this site.",
    "locked": "This post is locked: no new comments.",
    "deleted": "That was deleted.",
    "downvotes_are_disabled": "Downvotes are turned off on this site.",
    "no_post_edit_allowed": "Only the author can change this post.",
    "no_comment_edit_allowed": "Only the author can change this comment.",
    "cant_block_yourself": "You cannot block yourself.",
    "cant_block_admin": "Admins cannot be blocked.",
    "couldnt_find_post": "There is no such post.",
    "couldnt_find_comment": "There is no such comment.",
    "couldnt_find_community": "There is no such community.",
    "couldnt_find_person": "There is no such person.",
    "max_comment_depth_reached": "This thread is as deep as it can go.",
    "rate_limit_error": "Too many requests in a short time; wait a little and try again.",
    "not_logged_in": "You need to log in first.",
    "instance_is_private": "This site is private: log in to read it.",
    "not_an_admin": "Only admins can do that.",
    "not_a_mod_or_admin": "Only moderators of this community and admins can do that.",
    "not_a_moderator": "Only moderators of this community can do that.",
    "not_higher_mod": "You cannot act on an admin or on a moderator who has been one longer than you.",
    "not_higher_admin": "You cannot act on an admin who has been one longer than you.",
    "blocked_url": "That links to an address this site blocks.",
    "invalid_regex": "The slur filter is not a valid regular expression.",
    "permissive_regex": "The slur filter would match nearly everything.",
    "site_name_required": "The site needs a name.",
    "site_name_length_overflow": "A site name is 20 characters at most.",
    "report_reason_required": "Say why you are reporting it.",
    "report_too_long": "A report reason is 1,000 characters at most.",
    "community_moderator_already_exists": "That person is a moderator already.",
    "cannot_leave_admin": "The last admin cannot step down.",
    "object_not_local": "Only people of this site can be admins.",
    "ban_expiration_in_past": "A ban cannot end in the past.",
}


# Forms whose typed text must survive an expired token (web/drafts.py): the route answers with the form again,
# the text in it and a fresh token, and nothing is acted on.
_TEXT_KEEPERS: dict[str, Callable[[Request], Coroutine[Any, Any, Response]]] = {}


def keep_text_on_expiry(
    path: str,
) -> Callable[[Callable[[Request], Coroutine[Any, Any, Response]]], Callable[[Request], Coroutine[Any, Any, Response]]]:
    def register(
        keeper: Callable[[Request], Coroutine[Any, Any, Response]],
    ) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        _TEXT_KEEPERS[path] = keeper
        return keeper

    return register


def message_for(exc: LemmyError) -> str:
    return MESSAGES.get(exc.error) or (exc.message or exc.error.replace("_", " ").capitalize())


@dataclass(frozen=True, slots=True)
class Form:
    """A url-encoded form body; for a repeated field the last value wins (checkbox after its hidden 0)."""

    values: dict[str, str]
    # Every value of each field, in order (a multiple select sends one per chosen option).
    lists: dict[str, list[str]] = field(default_factory=dict)
    # The files of a multipart form (an image field), by field name; a field left empty is not here.
    files: dict[str, bytes] = field(default_factory=dict)
    # The name each of those files had on the sender's disk (a default for an image's alt text).
    filenames: dict[str, str] = field(default_factory=dict)

    def all(self, name: str) -> list[str]:
        return self.lists.get(name, [])

    def text(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def optional(self, name: str) -> str | None:
        value = self.values.get(name, "").strip()
        return value or None

    def integer(self, name: str) -> int | None:
        """A number the database can hold (ids are 32-bit), or None."""
        raw = self.values.get(name, "").strip()
        try:
            value = int(raw[:20])
        except ValueError:
            return None
        return value if I32_MIN <= value <= I32_MAX else None

    def flag(self, name: str) -> bool:
        return self.values.get(name, "").lower() in ("1", "true", "on", "yes")


async def read_form(request: Request) -> Form:
    """Forms arrive url-encoded, or as multipart when they carry an image (web/uploads.py); any other body is read
    as an empty form."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await _read_multipart(request)
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return Form({})
    raw = (await request.body()).decode("utf-8", errors="replace")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        return Form({})
    # Text through the one rule for text that comes in (control characters dropped), as the API's forms.
    lists: dict[str, list[str]] = {}
    for name, value in pairs:
        lists.setdefault(name, []).append(clean_text(value))
    return Form({name: values[-1] for name, values in lists.items()}, lists)


async def _read_multipart(request: Request) -> Form:
    """A multipart form: its text fields as a url-encoded form's, its files' bytes (BodyLimits bounded the body)."""
    try:
        parsed = await request.form(max_files=4, max_fields=MAX_FIELDS)
    except Exception:  # not parseable as multipart: an empty form (its CSRF check then fails)
        return Form({})
    lists: dict[str, list[str]] = {}
    files: dict[str, bytes] = {}
    filenames: dict[str, str] = {}
    try:
        for name, value in parsed.multi_items():
            if isinstance(value, str):
                lists.setdefault(name, []).append(clean_text(value))
            else:
                data = await value.read()
                if data:
                    files[name] = data
                    filenames[name] = clean_text(value.filename or "")
    finally:
        await parsed.close()
    return Form({name: values[-1] for name, values in lists.items()}, lists, files, filenames)


def posted_form(request: Request) -> Form:
    """The form a POST handler acts on; WebRoute has read it and checked its CSRF token already."""
    form: Form = request.state.form
    return form


async def _check_csrf(request: Request) -> None:
    form = await read_form(request)
    request.state.form = form
    presented = form.values.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    secret: str = request.app.state.moot.jwt_secret
    nonce = request.cookies.get(CSRF_COOKIE)
    jwt = request.cookies.get(AUTH_COOKIE) or None
    if not csrf_valid(secret, nonce, jwt, presented):
        raise CsrfRefused


async def error_response(request: Request, status: int, title: str, message: str) -> Response:
    try:
        web = await web_context(request)
    except Exception:  # the database may be what failed; still answer with a page
        log.exception("error page without context")
        return HTMLResponse(f"<!doctype html><title>{status}</title><p>{status}", status_code=status)
    if web.wants_json:
        return web.json({"error": title, "message": message}, status=status)
    return web.render("error.html", status=status, title=title, message=message)


# A page costs what the API calls it stands for cost on Lemmy (whose own pages call the API with the reader's
# address): most pages and actions `message`, and these their own buckets. Feeds are not limited, as on Lemmy.
_PAGE_BUCKETS: dict[tuple[str, str], Bucket | None] = {
    ("POST", "/login"): Bucket.REGISTER,
    ("POST", "/signup"): Bucket.REGISTER,
    ("POST", "/password_reset"): Bucket.REGISTER,
    ("POST", "/create_community"): Bucket.REGISTER,
    ("POST", "/create_post"): Bucket.POST,
    ("POST", "/post/{post_id}/comment"): Bucket.COMMENT,
    # A settings backup read back from the settings page, as the API's /user/import_settings.
    ("POST", "/settings/import"): Bucket.IMPORT_USER_SETTINGS,
}


def page_bucket(method: str, route: str, request: Request) -> Bucket | None:
    if route.startswith("/feeds/"):
        return None
    if route == "/search" and request.query_params.get("q", "").strip():
        return Bucket.SEARCH
    if request.query_params.get("preview") == "1":
        return Bucket.MESSAGE  # a composer's preview (web/drafts.py) posts nothing: not the post or comment bucket
    return _PAGE_BUCKETS.get((method, route), Bucket.MESSAGE)


def _wait_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    if seconds < 90 * 60:
        return f"{math.ceil(seconds / 60)} minutes"
    return f"{math.ceil(seconds / 3600)} hours"


async def _rate_limited(request: Request, bucket: Bucket | None) -> Response | None:
    """The page that refuses a request over its limit (429, with Retry-After), or None when it may go on."""
    if bucket is None:
        return None
    state = app_state(request)
    decision = await state.limiter.check(bucket, client_address(request, state.settings))
    if decision.allowed:
        return None
    message = f"Too many requests from your address in a short time. Try again in {_wait_words(decision.retry_after)}."
    response = await error_response(request, 429, "Slow down", message)
    response.headers["Retry-After"] = str(decision.retry_after)
    return response


# Pages a visitor of a private instance reaches without logging in: logging in, signing up, the site's legal
# information; and the subscription feed, whose address carries its reader's login.
OPEN_WHEN_PRIVATE = frozenset(
    {
        "/login",
        "/signup",
        "/signup/captcha/{key}.wav",
        "/legal",
        "/feeds/front/{token}.xml",
        # The links mailed to people who cannot log in yet (web/mail_pages.py).
        "/verify_email/{token}",
        "/password_reset",
        "/password_change/{token}",
    }
)


async def _check_private_instance(request: Request, route: str) -> None:
    """queries/visibility.py's rule for pages: a private instance sends anonymous readers to the login form (as
    lemmy-ui does) and refuses its feeds with Lemmy's `instance_is_private`."""
    if route in OPEN_WHEN_PRIVATE:
        return
    web = await web_context(request)
    try:
        check_private_instance(web.site, web.viewer)
    except LemmyError:
        if route.startswith("/feeds/"):
            raise
        raise LoginRequired from None


def _check_address(request: Request) -> None:
    """A page's path and query as typed: an id out of range, or a control character (NUL, which PostgreSQL
    refuses), names nothing here. Checked before the handler, so no page can pass one to the database."""
    for name, value in request.path_params.items():
        if not isinstance(value, str):
            continue
        if clean_text(value) != value or (_is_id_param(name) and as_id(value) is None):
            raise LemmyError("couldnt_find_object", status=404)
    for name, value in request.query_params.multi_items():
        if clean_text(value) != value:
            raise LemmyError("unknown", f"{name}: control characters are not allowed")
        if _is_id_param(name) and value.lstrip("-").isdecimal() and as_id(value) is None:
            raise LemmyError("couldnt_find_object", status=404)  # other bad values: the page's default


def _is_id_param(name: str) -> bool:
    return name == "id" or name.endswith("_id")


class WebRoute(APIRoute):
    """Routes of the HTML interface: rate limits and CSRF on every POST before the handler, login redirects,
    errors as pages (or JSON to our script). Handlers cannot forget a check that runs before they are called."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            limited = await _rate_limited(request, page_bucket(request.method, self.path, request))
            if limited is not None:
                return limited
            try:
                _check_address(request)
                if request.method == "POST":
                    await _check_csrf(request)
                await _check_private_instance(request, self.path)
                return await handler(request)
            except CsrfRefused:
                keeper = _TEXT_KEEPERS.get(self.path)
                if keeper is not None:
                    return await keeper(request)
                return await error_response(
                    request, 403, "Form expired", "This form was not sent from this site, or it expired. Reload it."
                )
            except LoginRequired:
                web = await web_context(request)
                if web.wants_json:
                    return web.json({"error": "not_logged_in", "message": "Log in first."}, status=401)
                return web.redirect(web.login_url())
            except LemmyError as exc:
                status = exc.status if exc.status >= 400 else 400
                return await error_response(request, status, _title(status), message_for(exc))

        return run


def _title(status: int) -> str:
    return {404: "Not found", 403: "Not allowed", 429: "Slow down", 401: "Log in first"}.get(
        status, "That did not work"
    )


def web_router() -> APIRouter:
    return APIRouter(route_class=WebRoute, include_in_schema=False)
