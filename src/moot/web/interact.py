"""The small actions behind buttons: vote, save, delete, reply, edit a comment, subscribe, block.

Each answers a browser with a 303 back to the page it came from, and our script (which asks for JSON)
with the new state, so the page can update in place."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import Response

from moot.actions import blocks as block_actions
from moot.actions import comments as comment_actions
from moot.actions import communities as community_actions
from moot.actions import posts as post_actions
from moot.domain.errors import LemmyError
from moot.queries.comments import get_comment_view
from moot.web.comment_images import with_uploaded_image
from moot.web.context import Web, web_context
from moot.web.drafts import CommentDraft, comment_preview, previewing, refused_comment
from moot.web.markup import markdown
from moot.web.render import readable_time
from moot.web.routing import Form, posted_form, web_router
from moot.web.security import safe_next
from moot.web.trash import confirm_delete_comment, confirm_delete_post
from moot.web.tree import Node

router = web_router()


def _back(form: Form, default: str) -> str:
    return safe_next(form.optional("next"), default)


def _score(form: Form, error: str) -> int:
    score = form.integer("score")
    if score not in (-1, 0, 1):
        raise LemmyError(error)
    return score


def _vote_state(score: int, total: int) -> dict[str, object]:
    """What the buttons become: pressing the pressed arrow again takes the vote back."""
    return {"score": total, "my_vote": score, "up": 0 if score == 1 else 1, "down": 0 if score == -1 else -1}


@router.post("/post/{post_id}/vote")
async def vote_post(post_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    score = _score(form, "couldnt_like_post")
    async with web.db.write() as session:
        # The vote the API casts (`like_post`): the same rules (bots may not vote), and the post marked read.
        view = await post_actions.like_post(session, viewer, post_id, score)
        total = view.post.score
    if web.wants_json:
        return web.json(_vote_state(score, total))
    return web.redirect(_back(form, f"/post/{post_id}"))


@router.post("/comment/{comment_id}/vote")
async def vote_comment(comment_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    score = _score(form, "couldnt_like_comment")
    async with web.db.write() as session:
        view = await comment_actions.like_comment(session, viewer, comment_id, score)
        total, post_id = view.comment.score, view.comment.post_id
    if web.wants_json:
        return web.json(_vote_state(score, total))
    return web.redirect(_back(form, f"/post/{post_id}/comment/{comment_id}"))


@router.post("/post/{post_id}/save")
async def save_post(post_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    async with web.db.write() as session:
        await post_actions.save_post(session, viewer, post_id, form.flag("save"))
    if web.wants_json:
        return web.json({"saved": form.flag("save")})
    return web.redirect(_back(form, f"/post/{post_id}"))


@router.post("/comment/{comment_id}/save")
async def save_comment(comment_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    async with web.db.write() as session:
        await comment_actions.save_comment(session, viewer, comment_id, form.flag("save"))
    if web.wants_json:
        return web.json({"saved": form.flag("save")})
    return web.redirect(_back(form, f"/comment/{comment_id}"))


@router.post("/post/{post_id}/delete")
async def delete_post(post_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    if form.flag("deleted") and not form.flag("confirm"):
        return await confirm_delete_post(web, post_id)
    async with web.db.write() as session:
        await post_actions.delete_post(session, viewer, post_id, form.flag("deleted"))
    return web.redirect(f"/post/{post_id}")


@router.post("/comment/{comment_id}/delete")
async def delete_comment(comment_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    if form.flag("deleted") and not form.flag("confirm"):
        return await confirm_delete_comment(web, comment_id, _back(form, ""))
    async with web.db.write() as session:
        comment = await comment_actions.delete_comment(session, viewer, comment_id, form.flag("deleted"))
        post_id = comment.post_id
    return web.redirect(_back(form, f"/post/{post_id}#c{comment_id}"))


@router.post("/post/{post_id}/comment")
async def reply(post_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    """A comment on the post, or (with `parent_id`) a reply to one of its comments."""
    viewer = web.require_viewer()
    form = posted_form(request)
    draft = CommentDraft.new(form, post_id)
    try:
        # An image chosen in the box (no script) is stored now and its markdown added; kept even if the comment
        # is refused below, so sending the text again does not upload the image twice.
        draft.content = await with_uploaded_image(web, form, draft.content)
    except LemmyError as exc:
        return await refused_comment(web, draft, exc)
    if previewing(request, form):
        return await comment_preview(web, draft)
    try:
        async with web.db.write() as session:
            comment = (
                await comment_actions.create_comment(
                    session,
                    web.settings,
                    viewer,
                    post_id=post_id,
                    content=draft.content,
                    parent_id=draft.parent_id,
                )
            ).comment
            comment_id = comment.id
    except LemmyError as exc:
        if exc.status == 404:
            raise
        return await refused_comment(web, draft, exc)
    if web.wants_json:
        async with web.db.read() as session:
            view = await get_comment_view(session, comment_id, viewer)
        html = web.fragment("comment_fragment.html", node=Node(view), post=view.post)
        # The post's new comment count, so the page's counts follow the reply.
        return web.json({"id": comment_id, "html": html, "comments": view.post.comments})
    return web.redirect(_back(form, f"/post/{post_id}").split("#")[0] + f"#c{comment_id}")


async def _edit_draft(web: Web, form: Form, comment_id: int) -> CommentDraft:
    async with web.db.read() as session:
        view = await get_comment_view(session, comment_id, web.viewer)
    return CommentDraft.edit(form, comment_id, view.comment.post_id)


@router.post("/comment/{comment_id}/edit")
async def edit_comment(comment_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    draft = await _edit_draft(web, form, comment_id)
    try:
        draft.content = await with_uploaded_image(web, form, draft.content)
    except LemmyError as exc:
        return await refused_comment(web, draft, exc)
    if previewing(request, form):
        return await comment_preview(web, draft)
    try:
        async with web.db.write() as session:
            comment, _ = await comment_actions.edit_comment(
                session, web.settings, viewer, comment_id, draft.content, None
            )
            content, post_id, updated = comment.content, comment.post_id, comment.updated
    except LemmyError as exc:
        if exc.status == 404:
            raise
        return await refused_comment(web, draft, exc)
    if web.wants_json:
        # `updated` lets the page show "(edited)" with its time, as a reload would.
        return web.json(
            {"id": comment_id, "html": str(markdown(content)), "edited": readable_time(updated) if updated else ""}
        )
    return web.redirect(_back(form, f"/post/{post_id}#c{comment_id}"))


@router.post("/community/{community_id}/subscribe")
async def subscribe(community_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    async with web.db.write() as session:
        await community_actions.follow_community(session, viewer, community_id, form.flag("follow"))
    return web.redirect(_back(form, "/communities"))


@router.post("/community/{community_id}/block")
async def block_community(community_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    async with web.db.write() as session:
        await community_actions.block_community(session, viewer, community_id, form.flag("block"))
    return web.redirect(_back(form, "/communities"))


@router.post("/person/{person_id}/block")
async def block_person(person_id: int, request: Request, web: Web = Depends(web_context)) -> Response:
    viewer = web.require_viewer()
    form = posted_form(request)
    async with web.db.write() as session:
        await block_actions.block_person(session, viewer, person_id, form.flag("block"))
    return web.redirect(_back(form, "/"))
