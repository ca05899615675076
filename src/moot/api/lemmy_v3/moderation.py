"""Content moderation: remove, lock and feature posts; remove and distinguish comments; vote lists; remove and
hide communities (admins). The rules are in actions/moderation.py; this module reads forms and answers views."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import Field

from moot.actions import moderation
from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.comment import comment_response
from moot.api.lemmy_v3.community import community_response
from moot.api.lemmy_v3.context import Ctx, context, ok, query_form
from moot.api.lemmy_v3.forms import Flag, Form, Id, QueryForm, QueryId, QueryInt64
from moot.api.lemmy_v3.post import post_response
from moot.api.openapi import API_PREFIX, v3
from moot.domain.enums import PostFeatureType
from moot.queries.votes import VoteView

router = APIRouter(prefix=API_PREFIX)

_REASON = 2_000  # an outer bound; Lemmy's own limit is checked nowhere for reasons either


class RemovePost(Form):
    post_id: Id
    removed: Flag
    reason: str | None = Field(default=None, max_length=_REASON)


class LockPost(Form):
    post_id: Id
    locked: Flag


class FeaturePost(Form):
    post_id: Id
    featured: Flag
    feature_type: PostFeatureType


class RemoveComment(Form):
    comment_id: Id
    removed: Flag
    reason: str | None = Field(default=None, max_length=_REASON)


class DistinguishComment(Form):
    comment_id: Id
    distinguished: Flag


class ListPostLikes(QueryForm):
    post_id: QueryId
    page: QueryInt64 | None = None
    limit: QueryInt64 | None = None


class ListCommentLikes(QueryForm):
    comment_id: QueryId
    page: QueryInt64 | None = None
    limit: QueryInt64 | None = None


class RemoveCommunity(Form):
    community_id: Id
    removed: Flag
    reason: str | None = Field(default=None, max_length=_REASON)


class HideCommunity(Form):
    community_id: Id
    hidden: Flag
    reason: str | None = Field(default=None, max_length=_REASON)


def _votes(views: list[VoteView]) -> list[dict[str, object]]:
    return [
        {
            "creator": convert.person(v.creator),
            "creator_banned_from_community": v.creator_banned_from_community,
            "score": v.score,
        }
        for v in views
    ]


@router.post("/post/remove", **v3("removePost", "PostResponse", login=True, not_found=True))
async def remove_post(form: RemovePost, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await moderation.remove_post(session, viewer, form.post_id, form.removed, form.reason)
    return await post_response(c, form.post_id, viewer)


@router.post("/post/lock", **v3("lockPost", "PostResponse", login=True, not_found=True))
async def lock_post(form: LockPost, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await moderation.lock_post(session, viewer, form.post_id, form.locked)
    return await post_response(c, form.post_id, viewer)


@router.post("/post/feature", **v3("featurePost", "PostResponse", login=True, not_found=True))
async def feature_post(form: FeaturePost, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await moderation.feature_post(session, viewer, form.post_id, form.featured, form.feature_type.value)
    return await post_response(c, form.post_id, viewer)


@router.post("/comment/remove", **v3("removeComment", "CommentResponse", login=True, not_found=True))
async def remove_comment(form: RemoveComment, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await moderation.remove_comment(session, viewer, form.comment_id, form.removed, form.reason)
    return await comment_response(c, form.comment_id, viewer, [])


@router.post("/comment/distinguish", **v3("distinguishComment", "CommentResponse", login=True, not_found=True))
async def distinguish_comment(form: DistinguishComment, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await moderation.distinguish_comment(session, viewer, form.comment_id, form.distinguished)
    return await comment_response(c, form.comment_id, viewer, [])


@router.get("/post/like/list", **v3("listPostLikes", "ListPostLikesResponse", login=True, not_found=True))
async def list_post_likes(
    form: ListPostLikes = Depends(query_form(ListPostLikes)), c: Ctx = Depends(context)
) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.read() as session:
        views = await moderation.list_post_votes(session, viewer, form.post_id, form.page, form.limit)
    return ok({"post_likes": _votes(views)}, viewer)


@router.get("/comment/like/list", **v3("listCommentLikes", "ListCommentLikesResponse", login=True, not_found=True))
async def list_comment_likes(
    form: ListCommentLikes = Depends(query_form(ListCommentLikes)), c: Ctx = Depends(context)
) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.read() as session:
        views = await moderation.list_comment_votes(session, viewer, form.comment_id, form.page, form.limit)
    return ok({"comment_likes": _votes(views)}, viewer)


@router.post("/community/remove", **v3("removeCommunity", "CommunityResponse", login=True, not_found=True))
async def remove_community(form: RemoveCommunity, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await moderation.remove_community(session, viewer, form.community_id, form.removed, form.reason)
    return ok(await community_response(c, form.community_id, viewer), viewer)


@router.put("/community/hide", **v3("hideCommunity", "SuccessResponse", login=True, not_found=True))
async def hide_community(form: HideCommunity, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await moderation.hide_community(session, viewer, form.community_id, form.hidden, form.reason)
    return ok({"success": True}, viewer)
