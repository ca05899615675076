"""The admin area: the site's settings, its admins, banned people, registration applications and custom emojis.

Admins only (anyone else gets the 403 page); every change goes through the same actions as the API's."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response

from moot.actions import applications, emojis, people
from moot.actions.site import RATE_LIMIT_FIELDS, edit_site
from moot.domain.enums import SortType
from moot.domain.errors import LemmyError
from moot.queries.admin import instance_list_domains
from moot.queries.applications import list_applications
from moot.queries.emojis import all_emojis
from moot.queries.persons import admins, find_person_id
from moot.queries.site import get_site_view
from moot.queries.urlblocklist import blocked_urls
from moot.queries.viewer import Viewer
from moot.web.context import Web, web_context
from moot.web.params import SORT_LABELS, choice
from moot.web.routing import Form, message_for, posted_form, web_router

router = web_router()

REGISTRATION_MODES = {"Open": "Open to anyone", "RequireApplication": "Require an application", "Closed": "Closed"}
LISTINGS = {"All": "All posts", "Local": "Local posts"}
SITE_FLAGS = {
    "enable_downvotes": "Allow downvotes",
    "enable_nsfw": "Allow NSFW content",
    "private_instance": "Private instance (only logged-in people can read)",
    "federation_enabled": "Federate with other servers",
    "community_creation_admin_only": "Only admins can create communities",
    "hide_modlog_mod_names": "Hide moderators' names in the modlog",
}
SITE_TEXTS = ("name", "description", "sidebar", "content_warning", "application_question", "slur_filter_regex")
SITE_LISTS = ("taglines", "blocked_urls", "allowed_instances", "blocked_instances")
RATE_BUCKETS = {
    "message": "Pages and most actions",
    "post": "Posts",
    "comment": "Comments",
    "register": "Sign-ups and logins",
    "search": "Searches",
    "image": "Image uploads",
}


def require_admin(web: Web) -> Viewer:
    viewer = web.require_viewer()
    if not viewer.is_admin:
        raise LemmyError("not_an_admin", status=403)
    return viewer


async def _stored_values(web: Web) -> dict[str, Any]:
    """The settings as they are, in the form's terms: text, flags, one-per-line lists, rate limits."""
    async with web.db.read() as session:
        view = await get_site_view(session)
        allowed, blocked = await instance_list_domains(session)
        urls = await blocked_urls(session)
    site, local, limits = view.row.site, view.row.local_site, view.row.rate_limit
    values: dict[str, Any] = {
        "name": site.name,
        "description": site.description or "",
        "sidebar": site.sidebar or "",
        "content_warning": site.content_warning or "",
        "application_question": local.application_question or "",
        "slur_filter_regex": local.slur_filter_regex or "",
        "registration_mode": local.registration_mode,
        "default_sort_type": local.default_sort_type,
        "default_post_listing_type": local.default_post_listing_type,
        "taglines": "\n".join(t.content for t in view.taglines),
        "blocked_urls": "\n".join(u.url for u in urls),
        "allowed_instances": "\n".join(allowed),
        "blocked_instances": "\n".join(blocked),
    }
    values.update({key: bool(getattr(local, key)) for key in SITE_FLAGS})
    values.update({f"rate_limit_{key}": getattr(limits, key) for key in RATE_LIMIT_FIELDS})
    return values


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def site_changes(form: Form) -> dict[str, object]:
    """The EditSite fields of the settings form (every field is sent: the form shows the whole state)."""
    changes: dict[str, object] = {key: form.text(key) for key in SITE_TEXTS}
    changes.update({key: form.flag(key) for key in SITE_FLAGS})
    mode = form.text("registration_mode")
    changes["registration_mode"] = mode if mode in REGISTRATION_MODES else "Open"
    changes["default_sort_type"] = choice(SortType, form.text("default_sort_type"), SortType.ACTIVE).value
    listing = form.text("default_post_listing_type")
    changes["default_post_listing_type"] = listing if listing in LISTINGS else "Local"
    for key in SITE_LISTS:
        changes[key] = _lines(form.text(key))
    for key in RATE_LIMIT_FIELDS:
        number = form.integer(f"rate_limit_{key}")
        if number is not None and number >= 0:
            changes[f"rate_limit_{key}"] = number
    return changes


def _form_values(form: Form) -> dict[str, Any]:
    """What the reader typed, shown again with the error."""
    values: dict[str, Any] = {key: form.text(key) for key in (*SITE_TEXTS, *SITE_LISTS)}
    values.update({key: form.flag(key) for key in SITE_FLAGS})
    for key in ("registration_mode", "default_sort_type", "default_post_listing_type"):
        values[key] = form.text(key)
    values.update({f"rate_limit_{key}": form.text(f"rate_limit_{key}") for key in RATE_LIMIT_FIELDS})
    return values


async def _admin_page(
    web: Web, values: dict[str, Any] | None = None, *, error: str | None = None, notice: str | None = None
) -> Response:
    viewer = require_admin(web)
    if values is None:
        values = await _stored_values(web)
    async with web.db.read() as session:
        admin_list = await admins(session)
        banned = await people.list_banned(session, viewer)
        pending = await list_applications(session, unread_only=True, verified_email_only=False, limit=50)
        emoji_list = await all_emojis(session)
    return web.render(
        "admin.html",
        status=400 if error else 200,
        title="Admin",
        values=values,
        error=error,
        notice=notice,
        registration_modes=REGISTRATION_MODES,
        listings=LISTINGS,
        sorts=SORT_LABELS,
        flags=SITE_FLAGS,
        buckets=RATE_BUCKETS,
        admins=admin_list,
        banned=banned,
        applications=pending,
        emojis=emoji_list,
    )


NOTICES = {
    "site": "The site settings are saved.",
    "admins": "The admins are changed.",
    "bans": "The ban is lifted.",
    "applications": "The application is decided.",
    "emojis": "The custom emojis are changed.",
}


@router.get("/admin")
async def admin_page(saved: str | None = None, web: Web = Depends(web_context)) -> Response:
    return await _admin_page(web, notice=NOTICES.get(saved or ""))


@router.post("/admin/site")
async def save_site(request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = require_admin(web)
    form = posted_form(request)
    try:
        async with web.db.write() as session:
            await edit_site(session, viewer, site_changes(form), mail_enabled=web.settings.mail_enabled)
    except LemmyError as exc:
        return await _admin_page(web, _form_values(form), error=message_for(exc))
    async with web.db.read() as session:
        view = await get_site_view(session)
    await web.state.limiter.configure(view.row.rate_limit)
    return web.redirect("/admin?saved=site")


async def _act(web: Web, form: Form, section: str, change: Any) -> Response:
    """Run one admin change in a write transaction; a refusal is shown on the admin page as the form's message."""
    viewer = require_admin(web)
    try:
        async with web.db.write() as session:
            await change(session, viewer)
    except LemmyError as exc:
        if exc.status == 404 and exc.error not in ("couldnt_find_person",):
            raise
        return await _admin_page(web, error=message_for(exc))
    return web.redirect(f"/admin?saved={section}#{section}")


@router.post("/admin/admins")
async def change_admin(request: Request, web: Web = Depends(web_context)) -> Response:
    """Add an admin by name, or (with `person_id` and `added=0`) remove one."""
    form = posted_form(request)
    added = form.flag("added")

    async def change(session: Any, viewer: Viewer) -> None:
        person_id = form.integer("person_id")
        if person_id is None:
            person_id = await find_person_id(session, form.text("name"), web.settings.domain)
        await people.add_admin(session, viewer, person_id, added)

    return await _act(web, form, "admins", change)


@router.post("/admin/unban")
async def unban(request: Request, web: Web = Depends(web_context)) -> Response:
    form = posted_form(request)
    person_id = form.integer("person_id")

    async def change(session: Any, viewer: Viewer) -> None:
        if person_id is None:
            raise LemmyError("couldnt_find_person", status=404)
        await people.ban_from_site(session, viewer, person_id, False, form.optional("reason"))

    return await _act(web, form, "bans", change)


@router.post("/admin/applications/{application_id}")
async def decide_application(application_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    form = posted_form(request)
    approve = form.flag("approve")

    async def change(session: Any, viewer: Viewer) -> None:
        reason = None if approve else form.text("deny_reason").strip()
        await applications.decide(session, viewer, application_id, approve, reason, settings=web.settings)

    return await _act(web, form, "applications", change)


@router.post("/admin/emojis")
async def create_emoji(request: Request, web: Web = Depends(web_context)) -> Response:
    form = posted_form(request)

    async def change(session: Any, viewer: Viewer) -> None:
        await emojis.create_emoji(
            session,
            viewer,
            shortcode=form.text("shortcode"),
            image_url=form.text("image_url"),
            alt_text=form.text("alt_text"),
            category=form.text("category"),
            keywords=form.text("keywords").split(),
        )

    return await _act(web, form, "emojis", change)


@router.post("/admin/emojis/{emoji_id}/delete")
async def delete_emoji(emoji_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    form = posted_form(request)

    async def change(session: Any, viewer: Viewer) -> None:
        await emojis.delete_emoji(session, viewer, emoji_id)

    return await _act(web, form, "emojis", change)
