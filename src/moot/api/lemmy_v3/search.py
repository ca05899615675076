"""GET /search over posts, comments, communities, people and links; GET /resolve_object for local objects."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.context import Ctx, context, ok
from moot.api.lemmy_v3.forms import ResolveObject, Search
from moot.api.ratelimit import Bucket
from moot.db.comment import Comment
from moot.db.community import Community
from moot.db.person import Person
from moot.db.post import Post
from moot.domain.enums import CommentSortType, ListingType, SearchType, SortType
from moot.domain.errors import LemmyError
from moot.queries.comments import CommentQuery, get_comment_view, list_comments
from moot.queries.communities import find_community_id, get_community_view, list_communities
from moot.queries.persons import find_person_id, get_person_view, search_people
from moot.queries.posts import PostQuery, get_post_view, list_posts
from moot.queries.viewer import Viewer

router = APIRouter()


def _comment_sort(sort: SortType) -> CommentSortType:
    if sort == SortType.NEW:
        return CommentSortType.NEW
    if sort == SortType.OLD:
        return CommentSortType.OLD
    if sort.value.startswith("Top"):
        return CommentSortType.TOP
    return CommentSortType.HOT


@router.get("/search")
async def search(form: Annotated[Search, Query()], c: Ctx = Depends(context)) -> JSONResponse:
    c.rate_limit(Bucket.SEARCH)
    kind = form.type_ or SearchType.ALL
    sort = form.sort or SortType.TOP_ALL
    listing = form.listing_type or ListingType.ALL
    body: dict[str, Any] = {"type_": kind.value, "comments": [], "posts": [], "communities": [], "users": []}
    text = form.q.strip()
    if not text:
        return ok(body, c.viewer)
    async with c.db.read() as session:
        community_id = form.community_id
        if community_id is None and form.community_name:
            community_id = await find_community_id(session, form.community_name, c.settings.domain)
        if kind in (SearchType.ALL, SearchType.POSTS, SearchType.URL):
            posts, _ = await list_posts(
                session,
                PostQuery(
                    listing_type=listing,
                    sort=sort,
                    community_id=community_id,
                    creator_id=form.creator_id,
                    show_read=True,
                    page=form.page,
                    limit=form.limit,
                    search_text=None if kind == SearchType.URL else text,
                    title_only=bool(form.post_title_only),
                    search_url=text if kind == SearchType.URL else None,
                ),
                c.viewer,
            )
            body["posts"] = [convert.post_view(v) for v in posts]
        if kind in (SearchType.ALL, SearchType.COMMENTS):
            views = await list_comments(
                session,
                CommentQuery(
                    sort=_comment_sort(sort),
                    listing_type=listing,
                    community_id=community_id,
                    creator_id=form.creator_id,
                    page=form.page,
                    limit=form.limit,
                    search_text=text,
                ),
                c.viewer,
            )
            body["comments"] = [convert.comment_view(v) for v in views]
        if kind in (SearchType.ALL, SearchType.COMMUNITIES) and community_id is None and form.creator_id is None:
            communities = await list_communities(
                session, c.viewer, listing, sort, page=form.page, limit=form.limit, search=text
            )
            body["communities"] = [convert.community_view(v) for v in communities]
        if kind in (SearchType.ALL, SearchType.USERS) and community_id is None and form.creator_id is None:
            body["users"] = [convert.person_view(v) for v in await search_people(session, text, form.page, form.limit)]
    return ok(body, c.viewer)


async def _resolve_local(session: AsyncSession, c: Ctx, q: str, viewer: Viewer | None) -> dict[str, Any]:
    q = q.strip()
    domain = c.settings.domain
    if q.startswith("!"):
        cid = await find_community_id(session, q[1:], domain)
        return {"community": convert.community_view(await get_community_view(session, cid, viewer))}
    if q.startswith("@") or ("@" in q and "/" not in q):
        pid = await find_person_id(session, q.lstrip("@"), domain)
        return {"person": convert.person_view(await get_person_view(session, pid))}
    url = urlsplit(q)
    if url.scheme not in ("http", "https"):
        raise LemmyError("couldnt_find_object", status=404)
    # Any object whose id is this URL (local, or remote ones we already have).
    for model, key in ((Post, "post"), (Comment, "comment"), (Community, "community"), (Person, "person")):
        found = await session.scalar(select(model.id).where(model.ap_id == q))
        if found is not None:
            return await _view_of(session, key, found, viewer)
    if url.netloc.lower() == domain:
        parts = [p for p in url.path.split("/") if p]
        if len(parts) == 2 and parts[0] in ("post", "comment") and parts[1].isdigit():
            return await _view_of(session, parts[0], int(parts[1]), viewer)
        if len(parts) == 2 and parts[0] == "c":
            return await _view_of(session, "community", await find_community_id(session, parts[1], domain), viewer)
        if len(parts) == 2 and parts[0] == "u":
            return await _view_of(session, "person", await find_person_id(session, parts[1], domain), viewer)
    raise LemmyError("couldnt_find_object", status=404)


async def _view_of(session: AsyncSession, key: str, object_id: int, viewer: Viewer | None) -> dict[str, Any]:
    try:
        if key == "post":
            return {"post": convert.post_view(await get_post_view(session, object_id, viewer))}
        if key == "comment":
            return {"comment": convert.comment_view(await get_comment_view(session, object_id, viewer))}
        if key == "community":
            return {"community": convert.community_view(await get_community_view(session, object_id, viewer))}
        return {"person": convert.person_view(await get_person_view(session, object_id))}
    except LemmyError as exc:
        raise LemmyError("couldnt_find_object", status=404) from exc


@router.get("/resolve_object")
async def resolve_object(form: Annotated[ResolveObject, Query()], c: Ctx = Depends(context)) -> JSONResponse:
    c.rate_limit(Bucket.SEARCH)
    async with c.db.read() as session:
        try:
            body = await _resolve_local(session, c, form.q, c.viewer)
        except LemmyError as exc:
            raise LemmyError("couldnt_find_object", status=404) from exc
    return ok(body, c.viewer)
