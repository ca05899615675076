"""The post page: the post, its cross-posts, the comment tree; and one comment's thread or its context."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import posts as post_actions
from moot.db.community import Community
from moot.db.person import Person
from moot.domain import commentpath
from moot.domain.enums import CommentSortType
from moot.queries.comments import CommentQuery, CommentView, get_comment_view, list_comments
from moot.queries.communities import CommunityView, get_community_view, moderators
from moot.queries.posts import PostView, cross_posts, get_post_view
from moot.queries.viewer import Viewer
from moot.web.context import Web, web_context
from moot.web.params import COMMENT_SORTS, choice
from moot.web.routing import web_router
from moot.web.tree import Node, branch_of, build_tree

router = web_router()

# Levels of replies one page shows below its root; deeper ones are behind "more replies" (as lemmy-ui).
TREE_DEPTH = 8


@dataclass(frozen=True, slots=True)
class PostHead:
    """Everything around the comments: the post, its community with moderators, where else it was posted."""

    view: PostView
    community: CommunityView
    moderators: list[Person]
    crossposted_to: list[tuple[Community, int]]


def crossposted_communities(others: list[PostView]) -> list[tuple[Community, int]]:
    """Each other community once (the earliest post there), with the post to link to."""
    seen: set[int] = set()
    found: list[tuple[Community, int]] = []
    for other in others:
        if other.community.id not in seen:
            seen.add(other.community.id)
            found.append((other.community, other.post.id))
    return found


async def _head(session: AsyncSession, post_id: int, viewer: Viewer | None) -> PostHead:
    view = await get_post_view(session, post_id, viewer)
    community = await get_community_view(session, view.post.community_id, viewer)
    mods = await moderators(session, view.post.community_id)
    others = await cross_posts(session, view.post, viewer)
    return PostHead(view, community, [p for _, p in mods], crossposted_communities(others))


async def _mark_read(web: Web, head: PostHead) -> None:
    """Opening a post marks it read and remembers its comment count, as the API's GetPost does; a post
    read with no new comments since needs no write at all."""
    if web.viewer is None or (head.view.read and head.view.unread_comments == 0):
        return
    async with web.db.write() as session:
        await post_actions.mark_read(session, web.viewer, [head.view.post.id], read=True)
        await post_actions.mark_comments_read(session, web.viewer, head.view.post)


def _can_moderate(viewer: Viewer | None, head: PostHead) -> bool:
    """Whether to show the moderator tools (the actions decide, through the access gate, what they allow)."""
    if viewer is None:
        return False
    return viewer.is_admin or any(person.id == viewer.person_id for person in head.moderators)


def _render(
    web: Web, head: PostHead, tree: list[Node], sort: CommentSortType, mode: str, target: CommentView | None
) -> Response:
    return web.render(
        "post.html",
        title=head.view.post.name,
        head=head,
        post_view=head.view,
        post=head.view.post,
        community=head.community.community,
        tree=tree,
        sort=sort,
        sorts=COMMENT_SORTS,
        mode=mode,
        target=target,
        can_moderate=_can_moderate(web.viewer, head),
    )


@router.get("/post/{post_id}")
async def post_page(
    post_id: int, sort: str | None = None, comment: int | None = None, web: Web = Depends(web_context)
) -> Response:
    """Thin on purpose: federation will answer `Accept: application/activity+json` here before this runs."""
    if comment is not None:
        return await show_comment(web, post_id, comment, sort, context=False)
    return await show_post(web, post_id, sort)


@router.get("/post/{post_id}/comment/{comment_id}")
async def comment_page(
    post_id: int,
    comment_id: int,
    sort: str | None = None,
    context: str | None = None,
    web: Web = Depends(web_context),
) -> Response:
    return await show_comment(web, post_id, comment_id, sort, context=bool(context))


@router.get("/comment/{comment_id}")
async def comment_link(comment_id: int, web: Web = Depends(web_context)) -> Response:
    """Lemmy's comment address; federation will answer ActivityPub here, people get the thread."""
    async with web.db.read() as session:
        view = await get_comment_view(session, comment_id, web.viewer)
    return web.finish(RedirectResponse(f"/post/{view.comment.post_id}/comment/{comment_id}", status_code=302))


async def show_post(web: Web, post_id: int, sort: str | None) -> Response:
    order = choice(CommentSortType, sort, CommentSortType.HOT)
    async with web.db.read() as session:
        head = await _head(session, post_id, web.viewer)
        views = await list_comments(
            session, CommentQuery(post_id=post_id, sort=order, max_depth=TREE_DEPTH), web.viewer
        )
    await _mark_read(web, head)
    return _render(web, head, build_tree(views), order, "post", None)


async def show_comment(web: Web, post_id: int, comment_id: int, sort: str | None, *, context: bool) -> Response:
    """One comment and its replies; with `context`, the whole branch from its top-level ancestor down."""
    order = choice(CommentSortType, sort, CommentSortType.HOT)
    async with web.db.read() as session:
        target = await get_comment_view(session, comment_id, web.viewer)
        if target.comment.post_id != post_id:
            return web.finish(RedirectResponse(f"/post/{target.comment.post_id}/comment/{comment_id}", 302))
        head = await _head(session, post_id, web.viewer)
        root_id = commentpath.root_id(target.comment.path) if context else comment_id
        depth = target.comment.depth - 1 + TREE_DEPTH if context else TREE_DEPTH
        views = await list_comments(session, CommentQuery(parent_id=root_id, sort=order, max_depth=depth), web.viewer)
    if context:
        views = branch_of(views, target.comment.path)
    return _render(web, head, build_tree(views), order, "context" if context else "comment", target)
