"""Comments: create, edit, get, delete, vote, save, the tree, and marking replies read."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from moot.actions import comments
from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.context import Ctx, context, ok, query_form
from moot.api.lemmy_v3.forms import (
    CreateComment,
    CreateCommentLike,
    DeleteComment,
    EditComment,
    GetComment,
    GetComments,
    MarkReplyRead,
    SaveComment,
)
from moot.api.openapi import API_PREFIX, v3
from moot.domain.enums import CommentSortType, ListingType
from moot.domain.errors import LemmyError
from moot.http.shared_reads import reads_share_a_session
from moot.queries.comments import CommentQuery, CommentView, get_comment_view, list_comments
from moot.queries.communities import find_community_id
from moot.queries.link_groups import merged_comments
from moot.queries.viewer import Viewer

router = APIRouter(prefix=API_PREFIX)


def comment_view_response(view: CommentView, viewer: Viewer | None, recipients: list[int]) -> JSONResponse:
    """Lemmy's CommentResponse for a view in hand (read in the write's own transaction, or afterwards)."""
    return ok({"comment_view": convert.comment_view(view), "recipient_ids": recipients}, viewer)


async def comment_response(c: Ctx, comment_id: int, viewer: Viewer | None, recipients: list[int]) -> JSONResponse:
    async with c.db.read() as session:
        view = await get_comment_view(session, comment_id, viewer)
    return comment_view_response(view, viewer, recipients)


@router.post("/comment", **v3("createComment", "CommentResponse", login=True, not_found=True))
async def create_comment(form: CreateComment, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        view, recipients = await comments.write_comment(
            session,
            c.settings,
            viewer,
            post_id=form.post_id,
            content=form.content,
            parent_id=form.parent_id,
            language_id=form.language_id,
        )
    return comment_view_response(view, viewer, recipients)


@router.put("/comment", **v3("editComment", "CommentResponse", login=True, not_found=True))
async def edit_comment(form: EditComment, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        _, recipients = await comments.edit_comment(
            session, c.settings, viewer, form.comment_id, form.content, form.language_id
        )
    return await comment_response(c, form.comment_id, viewer, recipients)


@router.get("/comment", **v3("getComment", "CommentResponse", not_found=True))
@reads_share_a_session
async def get_comment(form: GetComment = Depends(query_form(GetComment)), c: Ctx = Depends(context)) -> JSONResponse:
    return await comment_response(c, form.id, c.viewer, [])


@router.post("/comment/delete", **v3("deleteComment", "CommentResponse", login=True, not_found=True))
async def delete_comment(form: DeleteComment, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await comments.delete_comment(session, viewer, form.comment_id, form.deleted)
    return await comment_response(c, form.comment_id, viewer, [])


@router.post("/comment/like", **v3("likeComment", "CommentResponse", login=True, not_found=True))
async def like_comment(form: CreateCommentLike, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        view = await comments.like_comment(session, viewer, form.comment_id, form.score)
    return comment_view_response(view, viewer, [])


@router.put("/comment/save", **v3("saveComment", "CommentResponse", login=True, not_found=True))
async def save_comment(form: SaveComment, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await comments.save_comment(session, viewer, form.comment_id, form.save)
    return await comment_response(c, form.comment_id, viewer, [])


@router.post(
    "/comment/mark_as_read",
    **v3("markCommentReplyAsRead", "CommentReplyResponse", login=True, not_found=True),
)
async def mark_reply_read(form: MarkReplyRead, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        reply = await comments.mark_reply_read(session, viewer, form.comment_reply_id, form.read)
    async with c.db.read() as session:
        view = await get_comment_view(session, reply.comment_id, viewer)
    return ok({"comment_reply_view": convert.comment_reply_view(reply, view, viewer.person)}, viewer)


@router.get("/comment/list", **v3("getComments", "GetCommentsResponse", not_found=True))
@reads_share_a_session
async def list_all(form: GetComments = Depends(query_form(GetComments)), c: Ctx = Depends(context)) -> JSONResponse:
    async with c.db.read() as session:
        community_id = form.community_id
        if community_id is None and form.community_name:
            community_id = await find_community_id(session, form.community_name, c.settings.domain)
        query = CommentQuery(
            sort=form.sort or CommentSortType.HOT,
            # As in Lemmy 0.19, a community's comments are all listed, whatever type_ says.
            listing_type=ListingType.ALL if community_id is not None else form.type_ or ListingType.ALL,
            max_depth=form.max_depth,
            post_id=form.post_id,
            parent_id=form.parent_id,
            community_id=community_id,
            saved_only=bool(form.saved_only),
            liked_only=bool(form.liked_only),
            disliked_only=bool(form.disliked_only),
            page=form.page,
            limit=form.limit,
        )
        try:
            if form.merge_cross_posts and form.post_id is not None:
                views = await merged_comments(session, query, form.post_id, c.viewer)
            else:
                views = await list_comments(session, query, c.viewer)
        except LemmyError as exc:
            if exc.error != "unknown":
                raise
            # Lemmy reports any failure of the listing itself (bad page or limit) under one name.
            raise LemmyError("couldnt_get_comments") from exc
    return ok({"comments": convert.comment_views(views)}, c.viewer)
