"""Writing forms: submit a link or text post (or cross-post one), edit a post, create a community."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import communities as community_actions
from moot.actions import posts as post_actions
from moot.db.community import Community
from moot.domain.enums import ListingType, SortType
from moot.domain.errors import LemmyError
from moot.queries.communities import follows, get_community_view, list_communities
from moot.queries.link_groups import discussions_of
from moot.queries.posts import get_post_view
from moot.queries.viewer import Viewer
from moot.web.context import Web, web_context
from moot.web.drafts import EXPIRED, post_message, preview, previewing
from moot.web.render import handle
from moot.web.routing import keep_text_on_expiry, message_for, posted_form, web_router
from moot.web.uploads import uploaded_url

router = web_router()


@dataclass(slots=True)
class PostDraft:
    name: str = ""
    url: str = ""
    body: str = ""
    community_id: int | None = None
    nsfw: bool = False


@dataclass(slots=True)
class CommunityDraft:
    name: str = ""
    title: str = ""
    description: str = ""
    nsfw: bool = False


async def _postable(session: AsyncSession, viewer: Viewer, wanted: int | None) -> list[Community]:
    """The communities the select offers: those you follow, the local ones, and the one you came from."""
    found = {c.id: c for c in await follows(session, viewer.person_id)}
    for view in await list_communities(session, viewer, ListingType.LOCAL, SortType.TOP_ALL, limit=50):
        found.setdefault(view.community.id, view.community)
    if wanted is not None and wanted not in found:
        with contextlib.suppress(LemmyError):
            found[wanted] = (await get_community_view(session, wanted, viewer, mod_or_admin=False)).community
    return sorted(found.values(), key=lambda c: handle(c).lower())


def _crosspost_body(ap_id: str, body: str | None) -> str:
    quoted = "\n".join(f"> {line}" if line else ">" for line in (body or "").splitlines())
    return f"cross-posted from: {ap_id}" + (f"\n\n{quoted}" if quoted else "")


async def _post_form(
    web: Web, draft: PostDraft, *, crosspost_of: int | None, error: str | None, shown: str = "", status: int = 0
) -> Response:
    viewer = web.require_viewer()
    async with web.db.read() as session:
        choices = await _postable(session, viewer, draft.community_id)
        # Where the link is already being discussed: the composer offers to join or to cross-post instead.
        discussions = await discussions_of(session, draft.url, viewer) if draft.url else []
    return web.render(
        "post_form.html",
        status=status or (400 if error else 200),
        title="Cross-post" if crosspost_of else "New post",
        draft=draft,
        communities=choices,
        crosspost_of=crosspost_of,
        discussions=discussions,
        action="/create_post",
        editing=None,
        error=error,
        preview=shown,
    )


@router.get("/create_post")
async def create_post_page(
    community_id: int | None = None, crosspost: int | None = None, web: Web = Depends(web_context)
) -> Response:
    web.require_viewer()
    draft = PostDraft(community_id=community_id)
    if crosspost is not None:
        async with web.db.read() as session:
            original = await get_post_view(session, crosspost, web.viewer)
        draft.name, draft.url = original.post.name, original.post.url or ""
        draft.body = _crosspost_body(original.post.ap_id, original.post.body)
    return await _post_form(web, draft, crosspost_of=crosspost, error=None)


@router.get("/link_discussions")
async def link_discussions(url: str = "", web: Web = Depends(web_context)) -> Response:
    """The composer's script asks where a link is being discussed (the same list "Check link" shows)."""
    async with web.db.read() as session:
        views = await discussions_of(session, url[:2000], web.viewer)
    return web.json(
        {
            "discussions": [
                {
                    "post_id": view.post.id,
                    "title": view.post.name,
                    "community": handle(view.community),
                    "comments": view.post.comments,
                    "score": view.post.score,
                }
                for view in views
            ]
        }
    )


@router.post("/create_post")
async def create_post(request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    draft = PostDraft(
        name=form.text("name"),
        url=form.text("url"),
        body=form.text("body"),
        community_id=form.integer("community_id"),
        nsfw=form.flag("nsfw"),
    )
    if previewing(request, form) or form.flag("check_link"):
        # "Check link" (the no-script way to ask where the link is discussed) shows the form again, with the list.
        shown = preview(draft.body) if previewing(request, form) else ""
        return await _post_form(web, draft, crosspost_of=form.integer("crosspost_of"), error=None, shown=shown)
    try:
        if draft.community_id is None:
            raise LemmyError("couldnt_find_community", status=404)
        # An image chosen in the form is uploaded and becomes the post's link (an image post).
        draft.url = await uploaded_url(web, form, "image") or draft.url
        async with web.db.write() as session:
            post = await post_actions.create_post(
                session,
                web.settings,
                viewer,
                community_id=draft.community_id,
                name=draft.name,
                url=draft.url or None,
                body=draft.body or None,
                nsfw=draft.nsfw,
            )
    except LemmyError as exc:
        error = post_message(exc, draft.name, draft.body)
        return await _post_form(web, draft, crosspost_of=form.integer("crosspost_of"), error=error)
    return web.redirect(f"/post/{post.id}")


async def _edit_form(web: Web, post_id: int, draft: PostDraft | None, error: str | None, shown: str = "") -> Response:
    viewer = web.require_viewer()
    async with web.db.read() as session:
        view = await get_post_view(session, post_id, viewer)
    if view.post.creator_id != viewer.person_id:
        raise LemmyError("no_post_edit_allowed", status=403)
    if draft is None:
        p = view.post
        draft = PostDraft(name=p.name, url=p.url or "", body=p.body or "", community_id=p.community_id, nsfw=p.nsfw)
    return web.render(
        "post_form.html",
        status=400 if error else 200,
        title="Edit post",
        draft=draft,
        communities=[view.community],
        crosspost_of=None,
        action=f"/post/{post_id}/edit",
        editing=view.post,
        error=error,
        preview=shown,
    )


@keep_text_on_expiry("/create_post")
async def expired_post(request: Request) -> Response:
    """A post form whose token expired comes back with what was typed and a fresh token; nothing is posted."""
    web = await web_context(request)
    if web.viewer is None:
        return web.redirect(web.login_url())
    form = posted_form(request)
    draft = PostDraft(
        name=form.text("name"),
        url=form.text("url"),
        body=form.text("body"),
        community_id=form.integer("community_id"),
        nsfw=form.flag("nsfw"),
    )
    return await _post_form(web, draft, crosspost_of=form.integer("crosspost_of"), error=EXPIRED, status=403)


@router.get("/post/{post_id}/edit")
async def edit_post_page(post_id: int, web: Web = Depends(web_context)) -> Response:
    return await _edit_form(web, post_id, None, None)


@router.post("/post/{post_id}/edit")
async def edit_post(post_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    draft = PostDraft(name=form.text("name"), url=form.text("url"), body=form.text("body"), nsfw=form.flag("nsfw"))
    if previewing(request, form):
        return await _edit_form(web, post_id, draft, None, preview(draft.body))
    try:
        draft.url = await uploaded_url(web, form, "image") or draft.url
        changes: dict[str, object] = {"name": draft.name, "url": draft.url, "body": draft.body, "nsfw": draft.nsfw}
        async with web.db.write() as session:
            await post_actions.edit_post(session, viewer, post_id, changes, settings=web.settings)
    except LemmyError as exc:
        if exc.status == 404:
            raise
        return await _edit_form(web, post_id, draft, post_message(exc, draft.name, draft.body))
    return web.redirect(f"/post/{post_id}")


def _community_form(web: Web, draft: CommunityDraft, error: str | None) -> Response:
    web.require_viewer()
    return web.render(
        "community_form.html", status=400 if error else 200, title="New community", draft=draft, error=error
    )


@router.get("/create_community")
async def create_community_page(web: Web = Depends(web_context)) -> Response:
    return _community_form(web, CommunityDraft(), None)


@router.post("/create_community")
async def create_community(request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    draft = CommunityDraft(
        name=form.text("name").strip(),
        title=form.text("title"),
        description=form.text("description"),
        nsfw=form.flag("nsfw"),
    )
    try:
        async with web.db.write() as session:
            community = await community_actions.create_community(
                session,
                web.settings,
                viewer,
                name=draft.name,
                title=draft.title,
                description=draft.description or None,
                nsfw=draft.nsfw,
            )
    except LemmyError as exc:
        return _community_form(web, draft, message_for(exc))
    return web.redirect(f"/c/{community.name}")
