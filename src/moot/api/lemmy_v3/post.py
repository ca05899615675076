"""Posts: create, get (with cross-posts), edit, delete, vote, save, read, hide, list."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from moot.actions import posts
from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.context import Ctx, context, ok, query_form
from moot.api.lemmy_v3.forms import (
    CreatePost,
    CreatePostLike,
    DeletePost,
    EditPost,
    GetPost,
    GetPosts,
    HidePost,
    MarkPostAsRead,
    SavePost,
)
from moot.api.openapi import API_PREFIX, v3
from moot.db.comment import Comment
from moot.domain.enums import ListingType, SortType
from moot.domain.errors import LemmyError
from moot.domain.ranking import TOP_WINDOWS
from moot.http.shared_reads import reads_share_a_session
from moot.queries.communities import blocks_community, find_community_id, moderators
from moot.queries.defaults import listing_defaults
from moot.queries.link_groups import link_group
from moot.queries.posts import PostQuery, PostView, get_post_view, list_posts
from moot.queries.viewer import Viewer

router = APIRouter(prefix=API_PREFIX)


def post_view_response(view: PostView, viewer: Viewer | None) -> JSONResponse:
    """Lemmy's PostResponse for a view in hand (read in the write's own transaction, or afterwards)."""
    return ok({"post_view": convert.post_view(view)}, viewer)


async def post_response(c: Ctx, post_id: int, viewer: Viewer | None) -> JSONResponse:
    async with c.db.read() as session:
        view = await get_post_view(session, post_id, viewer)
    return post_view_response(view, viewer)


@router.post("/post", **v3("createPost", "PostResponse", login=True, not_found=True))
async def create_post(form: CreatePost, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        post = await posts.create_post(
            session,
            c.settings,
            viewer,
            community_id=form.community_id,
            name=form.name,
            url=form.url,
            body=form.body,
            alt_text=form.alt_text,
            nsfw=bool(form.nsfw),
            language_id=form.language_id,
            honeypot=form.honeypot,
            custom_thumbnail=form.custom_thumbnail,
        )
    return await post_response(c, post.id, viewer)


@router.get("/post", **v3("getPost", "GetPostResponse", not_found=True))
@reads_share_a_session
async def get_post(form: GetPost = Depends(query_form(GetPost)), c: Ctx = Depends(context)) -> JSONResponse:
    async with c.db.read() as session:
        post_id = form.id
        if post_id is None and form.comment_id is not None:
            comment = await session.get(Comment, form.comment_id)
            if comment is None:
                raise LemmyError("couldnt_find_comment", status=404)
            post_id = comment.post_id
        if post_id is None:
            raise LemmyError("couldnt_find_post", status=404)
        view = await get_post_view(session, post_id, c.viewer)
        blocked = await blocks_community(session, view.post.community_id, c.viewer)
        mods = await moderators(session, view.post.community_id)
        group = await link_group(session, view, c.viewer)
    if c.viewer is not None and posts.opening_writes(view):
        # Reading a post marks it read and remembers its comment count (for unread_comments).
        async with c.db.write() as session:
            await posts.mark_opened(session, c.viewer, view.post.id)
    answer = {
        "post_view": convert.post_view(view),
        "community_view": convert.community_view_of_post(view, blocked),
        "moderators": [convert.moderator_view(com, p) for com, p in mods],
        "cross_posts": [convert.post_view(v) for v in group.others],
    }
    if form.link_group:
        answer["link_group"] = group.summary()  # only when asked: the default answer is exactly Lemmy's
    return ok(answer, c.viewer)


@router.put("/post", **v3("editPost", "PostResponse", login=True, not_found=True))
async def edit_post(form: EditPost, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    changes = form.model_dump(exclude_none=True, exclude={"post_id"}, mode="json")
    async with c.db.write() as session:
        await posts.edit_post(session, viewer, form.post_id, changes, settings=c.settings)
    return await post_response(c, form.post_id, viewer)


@router.post("/post/delete", **v3("deletePost", "PostResponse", login=True, not_found=True))
async def delete_post(form: DeletePost, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await posts.delete_post(session, viewer, form.post_id, form.deleted)
    return await post_response(c, form.post_id, viewer)


@router.post("/post/like", **v3("likePost", "PostResponse", login=True, not_found=True))
async def like_post(form: CreatePostLike, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        view = await posts.like_post(session, viewer, form.post_id, form.score)
    return post_view_response(view, viewer)


@router.put("/post/save", **v3("savePost", "PostResponse", login=True, not_found=True))
async def save_post(form: SavePost, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await posts.save_post(session, viewer, form.post_id, form.save)
    return await post_response(c, form.post_id, viewer)


@router.post("/post/mark_as_read", **v3("markPostAsRead", "SuccessResponse", login=True))
async def mark_as_read(form: MarkPostAsRead, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    ids = list(form.post_ids or []) + ([form.post_id] if form.post_id is not None else [])
    async with c.db.write() as session:
        await posts.mark_read(session, viewer, ids, form.read)
    return ok({"success": True}, viewer)


@router.post("/post/hide", **v3("hidePost", "SuccessResponse", login=True))
async def hide(form: HidePost, c: Ctx = Depends(context)) -> JSONResponse:
    viewer = c.require_viewer()
    async with c.db.write() as session:
        await posts.hide_posts(session, viewer, form.post_ids, form.hide)
    return ok({"success": True}, viewer)


def default_listing(c: Ctx, requested: ListingType | None, default: str) -> ListingType:
    if requested is not None:
        return requested
    if c.viewer is not None:
        return ListingType(c.viewer.local_user.default_listing_type)
    return ListingType(default)


@router.get("/post/list", **v3("getPosts", "GetPostsResponse", not_found=True))
@reads_share_a_session
async def list_all(form: GetPosts = Depends(query_form(GetPosts)), c: Ctx = Depends(context)) -> JSONResponse:
    # A logged-in community page: PostgreSQL planned it anew for every request (2 ms for the biggest community;
    # its custom plans looked cheaper), where the generic plan is the same walk of the community's sort index.
    # Not for the Top time windows: their bound start time hides how narrow the window is, and the generic plan
    # walks the community's score index through every post (10 ms at 300,000 posts; custom: 0.1 ms).
    # The same for Subscribed, whose first page is looked for by primary key among the site's best posts
    # (queries/posts.py): its custom plans took 15 ms to make, five times on every pooled connection.
    one_community = form.community_id is not None or form.community_name is not None
    subscribed = c.viewer is not None and default_listing(c, form.type_, "") == ListingType.SUBSCRIBED
    asked = form.sort or (SortType(c.viewer.local_user.default_sort_type) if c.viewer else None)
    generic = c.viewer is not None and (one_community or subscribed) and asked is not None and asked not in TOP_WINDOWS
    async with c.db.read(generic_plans=generic) as session:
        community_id = form.community_id
        if community_id is None and form.community_name:
            community_id = await find_community_id(session, form.community_name, c.settings.domain)
        site_listing, site_sort = await listing_defaults(session)
        sort = form.sort or SortType(c.viewer.local_user.default_sort_type if c.viewer else site_sort)
        views, next_page = await list_posts(
            session,
            PostQuery(
                listing_type=(
                    ListingType.ALL if community_id is not None else default_listing(c, form.type_, site_listing)
                ),
                sort=sort,
                community_id=community_id,
                saved_only=bool(form.saved_only),
                liked_only=bool(form.liked_only),
                disliked_only=bool(form.disliked_only),
                show_hidden=bool(form.show_hidden),
                show_read=form.show_read,
                show_nsfw=form.show_nsfw,
                page=form.page,
                limit=form.limit,
                page_cursor=form.page_cursor,
            ),
            c.viewer,
        )
    body: dict[str, object] = {"posts": [convert.post_view(v) for v in views]}
    if next_page is not None:
        body["next_page"] = next_page
    return ok(body, c.viewer)
