"""Remote halves of a joined thread: the comments of a cross-post that this server does not receive.

A post of the link in a community nobody here follows came to us by a search, a resolve or a community's
backfill; its comments were never delivered. The joined thread reads them from the post's own server, on
demand, as a visitor would: Lemmy 0.19 serves no `replies` collection for a post, so the one way that both a
Lemmy and a Moot origin answer is the public v3 API, `GET /api/v3/comment/list?post_id=<their id>` (the id is
the last part of the post's `ap_id`, `https://host/post/<id>` on both). The read goes through the fetch guard
(federation/fetch.py) with the site's instance lists, is bounded (a few posts per page view, MAX_COMMENTS
comments each, MAX_DEPTH levels), and its parsed, trimmed answer is kept in `remote_thread` for
MOOT_REMOTE_THREAD_SECONDS. Nothing of it becomes a comment here: it is shown marked as the other server's,
read-only, with a link to the post on its server."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from moot.actions.remote_threads import store_remote_thread
from moot.db.engine import Database
from moot.domain.instances import InstanceLists
from moot.domain.timefmt import as_utc, utcnow
from moot.federation.fetch import FetchError, FetchPolicy, fetch_json
from moot.federation.service import fetch_policy
from moot.queries.defaults import instance_lists
from moot.queries.link_groups import LinkGroup
from moot.queries.posts import PostView
from moot.queries.remote_threads import cached_threads
from moot.settings import Settings

MAX_POSTS = 4  # remote posts read for one page view
MAX_COMMENTS = 100  # comments kept of each
MAX_DEPTH = 6  # levels of replies asked for
TEXT_MAX = 10_000  # a comment's text, as our own comments are limited
_POST_PATH = re.compile(r"^/post/(\d{1,10})$")
_PATH = re.compile(r"0(\.\d{1,10})+")


@dataclass(slots=True)
class RemoteComment:
    ap_id: str
    author: str  # name@host
    author_url: str
    content: str
    published: datetime
    score: int
    path: str
    children: list[RemoteComment] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RemoteHalf:
    """One remote post's comments as its server answered them, when, and the last error if any."""

    post: PostView
    origin: str  # the server's host
    comments: list[RemoteComment]  # top level, replies nested
    count: int
    fetched_at: datetime | None
    error: str | None


def needs_reading(view: PostView) -> bool:
    """A remote post in a community that no one here follows: its comments are not delivered to us."""
    return not view.post.local and not view.community.local and view.community.subscribers_local == 0


def comments_url(post_ap_id: str) -> str | None:
    """The origin's v3 comment listing for the post, or None when its id does not have Lemmy's shape."""
    parts = urlsplit(post_ap_id)
    found = _POST_PATH.match(parts.path)
    if parts.scheme not in ("http", "https") or not parts.netloc or found is None:
        return None
    query = urlencode({"post_id": found.group(1), "max_depth": MAX_DEPTH, "limit": MAX_COMMENTS, "sort": "Hot"})
    return f"{parts.scheme}://{parts.netloc}/api/v3/comment/list?{query}"


def _text(value: Any, limit: int = 255) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def parse_comments(data: dict[str, Any], post_ap_id: str) -> list[dict[str, Any]]:
    """The usable comments of a GetCommentsResponse, as small plain dicts (what the cache keeps): only those
    on the post asked for, not deleted or removed, within the depth, each with the fields shown."""
    items = data.get("comments")
    kept: list[dict[str, Any]] = []
    for item in items if isinstance(items, list) else []:
        if len(kept) >= MAX_COMMENTS:
            break
        if not isinstance(item, dict):
            continue
        comment, creator, post, counts = (item.get(k) for k in ("comment", "creator", "post", "counts"))
        if not all(isinstance(x, dict) for x in (comment, creator, post)):
            continue
        assert isinstance(comment, dict) and isinstance(creator, dict) and isinstance(post, dict)
        if post.get("ap_id") != post_ap_id or comment.get("deleted") or comment.get("removed"):
            continue
        path, content = _text(comment.get("path"), 600), _text(comment.get("content"), TEXT_MAX)
        ap_id = _text(comment.get("ap_id"))
        name, actor = _text(creator.get("name")), _text(creator.get("actor_id"))
        published = _text(comment.get("published"), 64)
        if not (path and content and ap_id and name and actor and published):
            continue
        if not _PATH.fullmatch(path) or path.count(".") > MAX_DEPTH + 1:
            continue
        try:
            when = as_utc(datetime.fromisoformat(published.replace("Z", "+00:00")))
        except ValueError:
            continue
        score = counts.get("score") if isinstance(counts, dict) else 0
        kept.append(
            {
                "ap_id": ap_id,
                "author": f"{name}@{urlsplit(actor).hostname or ''}",
                "author_url": actor,
                "content": content,
                "published": when.isoformat(),
                "score": score if isinstance(score, int) else 0,
                "path": path,
            }
        )
    return kept


def nest(items: list[dict[str, Any]]) -> list[RemoteComment]:
    """The cached rows as a tree, in the origin's order; a reply whose parent is missing is left out."""
    by_path: dict[str, RemoteComment] = {}
    roots: list[RemoteComment] = []
    for item in items:
        node = RemoteComment(
            ap_id=item["ap_id"],
            author=item["author"],
            author_url=item["author_url"],
            content=item["content"],
            published=datetime.fromisoformat(item["published"]),
            score=item["score"],
            path=item["path"],
        )
        parent = node.path.rsplit(".", 1)[0]
        if parent == "0":
            roots.append(node)
        elif parent in by_path:
            by_path[parent].children.append(node)
        else:
            continue
        by_path[node.path] = node
    return roots


async def _read(url: str, post_ap_id: str, policy: FetchPolicy) -> tuple[str | None, str | None]:
    try:
        document = await fetch_json(url, policy, accept_activitypub=False, headers={"Accept": "application/json"})
    except FetchError as exc:
        return None, exc.reason
    return json.dumps(parse_comments(document.data, post_ap_id)), None


async def remote_halves(db: Database, settings: Settings, group: LinkGroup) -> list[RemoteHalf]:
    """The remote halves of `group`'s joined thread, read from their origins when the cached copy is older than
    MOOT_REMOTE_THREAD_SECONDS (or missing). Posts of instances the site's lists refuse are never read."""
    async with db.read() as session:
        lists: InstanceLists = await instance_lists(session)
        wanted = [
            view
            for view in group.others
            if needs_reading(view) and lists.permits(view.post.ap_id) and comments_url(view.post.ap_id)
        ][:MAX_POSTS]
        cached = await cached_threads(session, [view.post.id for view in wanted])
    now = utcnow()
    fresh_after = now - timedelta(seconds=settings.remote_thread_seconds)
    stale = [view for view in wanted if view.post.id not in cached or cached[view.post.id].fetched_at < fresh_after]
    if stale:
        policy = replace(fetch_policy(settings), permits_url=lists.permits)
        answers = await asyncio.gather(
            *(_read(comments_url(view.post.ap_id) or "", view.post.ap_id, policy) for view in stale)
        )
        async with db.write() as session:
            for view, (body, error) in zip(stale, answers, strict=True):
                await store_remote_thread(session, view.post.id, body, now, error)
        async with db.read() as session:
            cached = await cached_threads(session, [view.post.id for view in wanted])
    halves = []
    for view in wanted:
        row = cached.get(view.post.id)
        items: list[dict[str, Any]] = json.loads(row.body) if row is not None else []
        halves.append(
            RemoteHalf(
                post=view,
                origin=urlsplit(view.post.ap_id).netloc,
                comments=nest(items),
                count=len(items),
                fetched_at=row.fetched_at if row is not None else None,
                error=row.error if row is not None else None,
            )
        )
    return halves
