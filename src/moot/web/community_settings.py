"""A community's settings page, for its moderators (and admins): title, description, posting restriction, its
moderators and the people banned from it. Changes go through actions/communities.py and actions/people.py."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response

from moot.actions import access, people
from moot.actions import communities as community_actions
from moot.domain.errors import LemmyError
from moot.queries.admin import community_bans
from moot.queries.communities import find_community_id, get_community_view, moderators
from moot.queries.persons import find_person_id
from moot.web.context import Web, web_context
from moot.web.render import handle
from moot.web.routing import message_for, posted_form, web_router
from moot.web.uploads import uploaded_url

router = web_router()

NOTICES = {"settings": "The community's settings are saved.", "mods": "The moderators are changed."}


async def _settings_page(
    web: Web, name: str, *, draft: dict[str, Any] | None = None, error: str | None = None, notice: str | None = None
) -> Response:
    viewer = web.require_viewer()
    async with web.db.read() as session:
        community_id = await find_community_id(session, name, web.settings.domain)
        if not await access.is_mod_or_admin(session, viewer, community_id):
            raise LemmyError("not_a_mod_or_admin", status=403)
        view = await get_community_view(session, community_id, viewer, mod_or_admin=True)
        mods = [person for _, person in await moderators(session, community_id)]
        banned = await community_bans(session, community_id)
    c = view.community
    values = draft or {
        "title": c.title,
        "description": c.description or "",
        "posting_restricted_to_mods": c.posting_restricted_to_mods,
        "nsfw": c.nsfw,
    }
    return web.render(
        "community_settings.html",
        status=400 if error else 200,
        title=f"Settings of {handle(c)}",
        view=view,
        community=c,
        values=values,
        moderators=mods,
        banned=banned,
        error=error,
        notice=notice,
    )


@router.get("/c/{name}/settings")
async def settings_page(name: str, saved: str | None = None, web: Web = Depends(web_context)) -> Response:
    return await _settings_page(web, name, notice=NOTICES.get(saved or ""))


@router.post("/c/{name}/settings")
async def save_settings(name: str, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    changes: dict[str, Any] = {
        "title": form.text("title"),
        "description": form.text("description"),
        "posting_restricted_to_mods": form.flag("posting_restricted_to_mods"),
        "nsfw": form.flag("nsfw"),
    }
    try:
        # An icon or banner chosen in the form is uploaded first; the replaced one goes (edit_community).
        for key in ("icon", "banner"):
            url = await uploaded_url(web, form, key)
            if url:
                changes[key] = url
        async with web.db.write() as session:
            community_id = await find_community_id(session, name, web.settings.domain)
            await community_actions.edit_community(session, viewer, community_id, changes)
    except LemmyError as exc:
        if exc.status == 404:
            raise
        return await _settings_page(web, name, draft=changes, error=message_for(exc))
    return web.redirect(f"/c/{name}/settings?saved=settings")


@router.post("/c/{name}/moderators")
async def change_moderator(name: str, request: Request, web: Web = Depends(web_context)) -> Response:
    """Add a moderator by name, or (with `person_id` and `added=0`) remove one."""
    viewer = web.require_viewer()
    form = posted_form(request)
    try:
        async with web.db.write() as session:
            community_id = await find_community_id(session, name, web.settings.domain)
            person_id = form.integer("person_id")
            if person_id is None:
                person_id = await find_person_id(session, form.text("name"), web.settings.domain)
            await people.add_moderator(session, viewer, community_id, person_id, form.flag("added"))
    except LemmyError as exc:
        if exc.status == 404 and exc.error != "couldnt_find_person":
            raise
        return await _settings_page(web, name, error=message_for(exc))
    return web.redirect(f"/c/{name}/settings?saved=mods#moderators")
