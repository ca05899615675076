"""Deleting asks first: a delete button without `confirm` answers with a page that asks (our script asks with
confirm() and sends `confirm` itself), so one stray click never deletes a post or a comment."""

from __future__ import annotations

from fastapi.responses import Response

from moot.queries.comments import get_comment_view
from moot.queries.posts import get_post_view
from moot.web.context import Web


async def confirm_delete_post(web: Web, post_id: int) -> Response:
    async with web.db.read() as session:
        view = await get_post_view(session, post_id, web.viewer)
    return web.render(
        "confirm_delete.html",
        title="Delete your post?",
        question=f"Delete your post “{view.post.name}”?",
        action=f"/post/{post_id}/delete",
        back=f"/post/{post_id}",
        next="",
        what="post",
    )


async def confirm_delete_comment(web: Web, comment_id: int, back: str) -> Response:
    async with web.db.read() as session:
        view = await get_comment_view(session, comment_id, web.viewer)
    post_id = view.comment.post_id
    return web.render(
        "confirm_delete.html",
        title="Delete your comment?",
        question="Delete your comment?",
        quoted=view.comment.content,
        action=f"/comment/{comment_id}/delete",
        back=back or f"/post/{post_id}#c{comment_id}",
        next=back,
        what="comment",
    )
