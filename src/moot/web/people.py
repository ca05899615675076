"""A person's pages: the profile (posts, comments), your saved items and your inbox of replies and mentions."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import Response

from moot.actions import comments as comment_actions
from moot.domain.enums import CommentSortType, SortType
from moot.queries import inbox
from moot.queries.comments import CommentQuery, CommentView, list_comments
from moot.queries.communities import moderated_by
from moot.queries.persons import blocked_people, find_person_id, get_person_view
from moot.queries.posts import PostQuery, PostView, list_posts
from moot.web.context import Web, web_context
from moot.web.params import PAGE_SIZE, page_number
from moot.web.routing import posted_form, web_router
from moot.web.security import safe_next

router = web_router()

TABS = ("posts", "comments")


def _tab(raw: str | None) -> str:
    return raw if raw in TABS else "posts"


@router.get("/u/{name}")
async def profile_page(
    name: str, view: str | None = None, page: str | None = None, web: Web = Depends(web_context)
) -> Response:
    """Thin on purpose: federation will answer `Accept: application/activity+json` here before this runs."""
    return await show_profile(web, name, _tab(view), page_number(page))


async def show_profile(web: Web, name: str, tab: str, number: int) -> Response:
    async with web.db.read() as session:
        person_id = await find_person_id(session, name, web.settings.domain)
        person = await get_person_view(session, person_id)
        posts: list[PostView] = []
        comments: list[CommentView] = []
        if tab == "posts":
            posts, _ = await list_posts(
                session,
                PostQuery(
                    sort=SortType.NEW,
                    creator_id=person_id,
                    show_hidden=True,
                    show_read=True,
                    page=number,
                    limit=PAGE_SIZE,
                ),
                web.viewer,
            )
        else:
            comments = await list_comments(
                session,
                CommentQuery(creator_id=person_id, sort=CommentSortType.NEW, page=number, limit=PAGE_SIZE),
                web.viewer,
            )
        moderates = [community for community, _ in await moderated_by(session, person_id, web.viewer)]
        blocked = web.viewer is not None and any(
            p.id == person_id for p in await blocked_people(session, web.viewer.person_id)
        )
    return web.render(
        "profile.html",
        title=person.person.display_name or person.person.name,
        person_view=person,
        person=person.person,
        tab=tab,
        posts=posts,
        comments=comments,
        moderates=moderates,
        blocked=blocked,
        page=number,
        has_more=len(posts if tab == "posts" else comments) == PAGE_SIZE,
    )


@router.get("/saved")
async def saved_page(view: str | None = None, page: str | None = None, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    tab, number = _tab(view), page_number(page)
    async with web.db.read() as session:
        posts: list[PostView] = []
        comments: list[CommentView] = []
        if tab == "posts":
            posts, _ = await list_posts(
                session,
                PostQuery(
                    saved_only=True, sort=SortType.NEW, show_hidden=True, show_read=True, page=number, limit=PAGE_SIZE
                ),
                viewer,
            )
        else:
            comments = await list_comments(
                session,
                CommentQuery(saved_only=True, sort=CommentSortType.NEW, page=number, limit=PAGE_SIZE),
                viewer,
            )
    return web.render(
        "saved.html",
        title="Saved",
        tab=tab,
        posts=posts,
        comments=comments,
        page=number,
        has_more=len(posts if tab == "posts" else comments) == PAGE_SIZE,
    )


@router.get("/inbox")
async def inbox_page(
    view: str | None = None, unread: str | None = None, page: str | None = None, web: Web = Depends(web_context)
) -> Response:
    viewer = web.require_viewer()
    tab = view if view in ("replies", "mentions") else "replies"
    number, unread_only = page_number(page), bool(unread)
    async with web.db.read() as session:
        if tab == "replies":
            rows = [
                (reply.id, reply.read, v)
                for reply, v in await inbox.replies(session, viewer, None, unread_only, number, PAGE_SIZE)
            ]
        else:
            rows = [
                (mention.id, mention.read, v)
                for mention, v in await inbox.mentions(session, viewer, None, unread_only, number, PAGE_SIZE)
            ]
    return web.render(
        "inbox.html",
        title="Inbox",
        tab=tab,
        rows=rows,
        unread_only=unread_only,
        page=number,
        has_more=len(rows) == PAGE_SIZE,
    )


@router.post("/inbox/mark_all_read")
async def mark_all_read(web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    async with web.db.write() as session:
        await comment_actions.mark_all_read(session, viewer)
    return web.redirect("/inbox")


@router.post("/inbox/{kind}/{item_id}/read")
async def mark_read(kind: str, item_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    read = form.flag("read")
    async with web.db.write() as session:
        if kind == "mentions":
            await comment_actions.mark_mention_read(session, viewer, item_id, read)
        else:
            await comment_actions.mark_reply_read(session, viewer, item_id, read)
    return web.redirect(safe_next(form.optional("next"), "/inbox"))
