"""The admins' heavier tools on the pages: a site ban (on a person's profile and in the admin area), the purges
(a person, a community, a post, a comment), and the transfer of a community to another of its moderators.

The forms call actions/people.py, which asks the access gate; the pages only leave the tools out for people who
may not use them. A purge cannot be undone: its form asks for a ticked confirmation box, and without it nothing
happens (no JavaScript needed). Every form answers with a 303."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Depends, Request
from fastapi.responses import Response

from moot.actions import people
from moot.actions.comments import load_comment
from moot.actions.posts import load_post
from moot.db.community import Community
from moot.domain.errors import LemmyError
from moot.domain.timefmt import utcnow
from moot.queries.communities import find_community_id
from moot.queries.persons import find_person_id
from moot.web.context import Web, web_context
from moot.web.moderate import MAX_BAN_DAYS
from moot.web.routing import Form, posted_form, web_router
from moot.web.security import safe_next

router = web_router()

PURGE_KINDS = ("person", "community", "post", "comment")


def _expires(form: Form) -> timedelta | None:
    days = form.integer("days")
    if days is not None and not 0 <= days <= MAX_BAN_DAYS:
        raise LemmyError("ban_expiration_in_past" if days < 0 else "unknown", "A ban lasts 1 to 3650 days.")
    return timedelta(days=days) if days else None


async def _site_ban(web: Web, form: Form, person_id: int) -> None:
    viewer = web.require_viewer()
    term = _expires(form)
    expires = utcnow() + term if term is not None else None
    async with web.db.write() as session:
        await people.ban_from_site(
            session, viewer, person_id, form.flag("ban"), form.optional("reason"), expires, form.flag("remove_data")
        )


@router.post("/person/{person_id}/site_ban")
async def site_ban(person_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    """Ban (or, with `ban=0`, unban) a person from this site: reason, days (empty: for good), remove content."""
    form = posted_form(request)
    await _site_ban(web, form, person_id)
    return web.redirect(safe_next(form.optional("next"), "/admin#bans"))


@router.post("/admin/ban")
async def site_ban_by_name(request: Request, web: Web = Depends(web_context)) -> Response:
    """The admin area's ban form: the person by name (`name` or `name@host`)."""
    web.require_viewer()
    form = posted_form(request)
    async with web.db.read() as session:
        person_id = await find_person_id(session, form.text("name").strip().lstrip("@"), web.settings.domain)
    await _site_ban(web, form, person_id)
    return web.redirect("/admin#bans")


def _check_confirmed(form: Form) -> None:
    if not form.flag("confirm"):
        raise LemmyError("unknown", "Tick the box to confirm the purge: it cannot be undone.")


@router.post("/purge/{kind}/{item_id}")
async def purge(kind: str, item_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    """Purge a person, community, post or comment for good (admins), then go where it was listed."""
    viewer = web.require_viewer()
    if kind not in PURGE_KINDS:
        raise LemmyError("couldnt_find_object", status=404)
    form = posted_form(request)
    _check_confirmed(form)
    reason = form.optional("reason")
    destination = "/"
    async with web.db.write() as session:
        if kind == "person":
            await people.purge_person(session, viewer, item_id, reason)
        elif kind == "community":
            await people.purge_community(session, viewer, item_id, reason)
        elif kind == "post":
            post = await load_post(session, item_id)
            community = await session.get(Community, post.community_id)
            await people.purge_post(session, viewer, item_id, reason)
            if community is not None:
                destination = f"/c/{community.name}" if community.local else "/"
        else:
            comment = await load_comment(session, item_id)
            destination = f"/post/{comment.post_id}"
            await people.purge_comment(session, viewer, item_id, reason)
    return web.redirect(destination)


@router.post("/c/{name}/transfer")
async def transfer(name: str, request: Request, web: Web = Depends(web_context)) -> Response:
    """Make another moderator (by name) the top one: the top moderator or an admin."""
    viewer = web.require_viewer()
    form = posted_form(request)
    async with web.db.write() as session:
        community_id = await find_community_id(session, name, web.settings.domain)
        person_id = await find_person_id(session, form.text("name").strip().lstrip("@"), web.settings.domain)
        await people.transfer_community(session, viewer, community_id, person_id)
    return web.redirect(f"/c/{name}/settings?saved=mods#moderators")
