"""The post page: the post, its cross-posts, the comment tree; and one comment's thread or its context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Depends
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import posts as post_actions
from moot.domain import commentpath
from moot.domain.enums import CommentSortType
from moot.domain.timefmt import utcnow
from moot.federation.remote_threads import RemoteHalf, remote_halves
from moot.queries.comments import CommentQuery, CommentView, get_comment_view, list_comments
from moot.queries.communities import CommunityView, get_community_view, moderators
from moot.queries.link_groups import LinkGroup, joined_comments, link_group
from moot.queries.posts import PostView, get_post_view
from moot.queries.rows import CreatorRow
from moot.queries.viewer import Viewer
from moot.queries.visits import last_visit
from moot.web.context import Web, web_context
from moot.web.joined import ThreadItem, interleave
from moot.web.params import COMMENT_SORTS, choice
from moot.web.routing import web_router
from moot.web.tree import Node, branch_of, build_tree, walk

router = web_router()

# Levels of replies one page shows below its root; deeper ones are behind "more replies" (as lemmy-ui).
TREE_DEPTH = 8


@dataclass(frozen=True, slots=True)
class PostHead:
    """Everything around the comments: the post, its community with moderators, where else it was posted."""

    view: PostView
    community: CommunityView
    moderators: list[CreatorRow]
    group: LinkGroup

    @property
    def crossposted_to(self) -> list[PostView]:
        """Each other community once, with its post (server, score and comments shown beside it)."""
        return self.group.elsewhere()


async def _head(session: AsyncSession, post_id: int, viewer: Viewer | None) -> PostHead:
    view = await get_post_view(session, post_id, viewer)
    community = await get_community_view(session, view.post.community_id, viewer)
    mods = await moderators(session, view.post.community_id)
    group = await link_group(session, view, viewer)
    return PostHead(view, community, [p for _, p in mods], group)


async def _last_visit(web: Web, head: PostHead) -> datetime | None:
    """When the reader last read this thread, asked only when it has comments they have not seen (Lemmy's
    `unread_comments`), so a thread with nothing new costs no extra query."""
    if web.viewer is None or head.view.unread_comments <= 0 or not head.view.read:
        return None
    async with web.db.read() as session:
        return await last_visit(session, web.viewer.person_id, head.view.post.id)


async def _mark_read(web: Web, head: PostHead) -> None:
    """Opening a post marks it read and remembers its comment count, as the API's GetPost does; a post
    read with no new comments since needs no write at all."""
    if web.viewer is None or not post_actions.opening_writes(head.view):
        return
    async with web.db.write() as session:
        await post_actions.mark_opened(session, web.viewer, head.view.post.id)


def _can_moderate(viewer: Viewer | None, head: PostHead) -> bool:
    """Whether to show the moderator tools (the actions decide, through the access gate, what they allow)."""
    if viewer is None:
        return False
    return viewer.is_admin or any(person.id == viewer.person_id for person in head.moderators)


def _render(
    web: Web,
    head: PostHead,
    tree: list[Node],
    sort: CommentSortType,
    mode: str,
    target: CommentView | None,
    new_since: datetime | None = None,
    joined: bool = False,
    halves: list[RemoteHalf] | None = None,
) -> Response:
    halves = halves or []
    # A joined thread's top level holds the remote halves' comments too, each where the sort puts it.
    items: list[ThreadItem] = interleave(tree, halves, sort, utcnow()) if joined else list(tree)
    # Comments by others published since the reader's last visit are marked "new" (and counted here).
    me = web.viewer.person_id if web.viewer else None
    new_count = (
        sum(1 for n in walk(tree) if n.view.comment.published > new_since and n.view.creator.id != me)
        if new_since
        else 0
    )
    return web.render(
        "post.html",
        title=head.view.post.name,
        head=head,
        post_view=head.view,
        post=head.view.post,
        community=head.community.community,
        tree=tree,
        items=items,
        sort=sort,
        sorts=COMMENT_SORTS,
        mode=mode,
        target=target,
        can_moderate=_can_moderate(web.viewer, head),
        new_since=new_since if new_count else None,
        new_count=new_count,
        joined=joined,
        remote_halves=halves,
    )


@router.get("/post/{post_id}")
async def post_page(
    post_id: int,
    sort: str | None = None,
    comment: int | None = None,
    discussion: str | None = None,
    web: Web = Depends(web_context),
) -> Response:
    """Thin on purpose: federation will answer `Accept: application/activity+json` here before this runs.
    `discussion=all` shows the joined thread of every post of the same link (queries/link_groups.py)."""
    if comment is not None:
        return await show_comment(web, post_id, comment, sort, context=False)
    return await show_post(web, post_id, sort, joined=discussion == "all")


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


async def show_post(web: Web, post_id: int, sort: str | None, joined: bool = False) -> Response:
    order = choice(CommentSortType, sort, CommentSortType.HOT)
    async with web.db.read() as session:
        head = await _head(session, post_id, web.viewer)
        joined = joined and bool(head.group.others)
        if joined:
            views = await joined_comments(session, head.group, web.viewer, sort=order, max_depth=TREE_DEPTH)
        else:
            views = await list_comments(
                session, CommentQuery(post_id=post_id, sort=order, max_depth=TREE_DEPTH), web.viewer
            )
    # The group's posts in communities nobody here follows: their comments are read from their own servers.
    halves = await remote_halves(web.db, web.settings, head.group) if joined else []
    new_since = await _last_visit(web, head)
    await _mark_read(web, head)
    return _render(web, head, build_tree(views), order, "post", None, new_since, joined=joined, halves=halves)


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
