"""A link's group: every post of the same link (domain/linkkey.py) that the reader may see, and their joined thread.

The group is one indexed lookup (`post.url_match`, ix_post_url_match) through the post listing, so its posts are
filtered as any listing's are: no removed or deleted posts, no LocalOnly community for an anonymous reader, nothing
of the communities, instances or people the reader blocks, no NSFW unless wanted. The joined thread is the comment
tree fetch of queries/comments.py over the group's post ids: one statement, one sort, and each comment still
carries its own post and community, so each community's moderation (removed comments, bans) applies to its own
comments and replies go to the comment's own post."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from moot.domain.enums import CommentSortType, SortType
from moot.domain.errors import LemmyError
from moot.domain.linkkey import link_key
from moot.domain.validation import clean_url
from moot.queries.comments import CommentQuery, CommentView, list_comments
from moot.queries.common import LIMIT_MAX
from moot.queries.posts import PostQuery, PostView, cross_posts, get_post_view, list_posts
from moot.queries.viewer import Viewer


@dataclass(frozen=True, slots=True)
class LinkGroup:
    """`home` is the post asked for; `others` the group's other posts the reader may see (Lemmy's cross_posts)."""

    home: PostView
    others: list[PostView]

    @property
    def key(self) -> str | None:
        return self.home.post.url_match

    @property
    def posts(self) -> list[PostView]:
        return [self.home, *self.others]

    @property
    def post_ids(self) -> list[int]:
        return [view.post.id for view in self.posts]

    @property
    def communities(self) -> int:
        return len({view.community.id for view in self.posts})

    @property
    def comments(self) -> int:
        return sum(view.post.comments for view in self.posts)

    def elsewhere(self) -> list[PostView]:
        """The other communities, each once (its first post in the listing's order), the home community left out:
        what the page lists as "cross-posted to"."""
        seen = {self.home.community.id}
        found: list[PostView] = []
        for view in self.others:
            if view.community.id not in seen:
                seen.add(view.community.id)
                found.append(view)
        return found

    def summary(self) -> dict[str, object]:
        """The API's additive `link_group` object (docs/api.md)."""
        return {
            "url_match": self.key,
            "post_ids": self.post_ids,
            "posts": len(self.posts),
            "communities": self.communities,
            "comments": self.comments,
        }


async def link_group(session: AsyncSession, home: PostView, viewer: Viewer | None) -> LinkGroup:
    return LinkGroup(home, await cross_posts(session, home.post, viewer))


async def joined_comments(
    session: AsyncSession,
    group: LinkGroup,
    viewer: Viewer | None,
    *,
    sort: CommentSortType = CommentSortType.HOT,
    max_depth: int | None = None,
) -> list[CommentView]:
    """The comment trees of every post of the group, merged under one sort (depth-first, as one thread)."""
    query = CommentQuery(post_ids=group.post_ids, sort=sort, max_depth=max_depth)
    return await list_comments(session, query, viewer)


async def merged_comments(
    session: AsyncSession, query: CommentQuery, post_id: int, viewer: Viewer | None
) -> list[CommentView]:
    """GET /comment/list with `merge_cross_posts`: `query` (any of its options) over the group of `post_id`."""
    group = await link_group(session, await get_post_view(session, post_id, viewer), viewer)
    return await list_comments(session, replace(query, post_id=None, post_ids=group.post_ids), viewer)


async def discussions_of(session: AsyncSession, url: str, viewer: Viewer | None) -> list[PostView]:
    """Where a link is already being discussed (for the composer): each community once, its liveliest post
    first; nothing for text that is not a post link."""
    try:
        cleaned = clean_url(url)
    except LemmyError:
        return []
    if cleaned is None:
        return []
    query = PostQuery(sort=SortType.MOST_COMMENTS, url_match=link_key(cleaned), show_read=True, limit=LIMIT_MAX)
    views, _ = await list_posts(session, query, viewer)
    seen: set[int] = set()
    found: list[PostView] = []
    for view in views:
        if view.community.id not in seen:
            seen.add(view.community.id)
            found.append(view)
    return found
