"""GET /search over posts, comments, communities, people and links; GET /resolve_object for local objects."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from moot.api.lemmy_v3 import convert
from moot.api.lemmy_v3.context import Ctx, context, ok, query_form
from moot.api.lemmy_v3.forms import ResolveObject, Search
from moot.api.lemmy_v3.remote import resolve_remote_object
from moot.api.openapi import API_PREFIX, v3
from moot.db.search import exact_bitmaps, load_word_shares
from moot.domain.enums import CommentSortType, ListingType, SearchType, SortType
from moot.domain.errors import LemmyError
from moot.http.shared_reads import reads_share_a_session
from moot.queries.comments import CommentQuery, get_comment_view, list_comments
from moot.queries.communities import find_community_id, get_community_view, list_communities
from moot.queries.persons import get_person_view, search_people
from moot.queries.posts import PostQuery, get_post_view, list_posts, search_posts
from moot.queries.resolve import find_local_object
from moot.queries.viewer import Viewer

router = APIRouter(prefix=API_PREFIX)


def _comment_sort(sort: SortType | None) -> CommentSortType:
    """Lemmy's mapping of a post sort onto comments (post_to_comment_sort_type)."""
    if sort in (SortType.NEW, SortType.NEW_COMMENTS, SortType.MOST_COMMENTS):
        return CommentSortType.NEW
    if sort == SortType.OLD:
        return CommentSortType.OLD
    if sort == SortType.CONTROVERSIAL:
        return CommentSortType.CONTROVERSIAL
    if sort is not None and sort.value.startswith("Top"):
        return CommentSortType.TOP
    return CommentSortType.HOT


def _wants(kind: SearchType, *own: SearchType) -> bool:
    return kind == SearchType.ALL or kind in own


@router.get("/search", **v3("search", "SearchResponse", not_found=True))
@reads_share_a_session
async def search(form: Search = Depends(query_form(Search)), c: Ctx = Depends(context)) -> JSONResponse:
    kind = form.type_ or SearchType.ALL
    listing = form.listing_type or ListingType.ALL
    body: dict[str, Any] = {"type_": kind.value, "comments": [], "posts": [], "communities": [], "users": []}
    text = form.q.strip()
    if not text:
        return ok(body, c.viewer)
    # As Lemmy: an All search narrowed to a community or a creator leaves out communities and users.
    narrowed = kind == SearchType.ALL and (
        form.community_id is not None or form.community_name is not None or form.creator_id is not None
    )
    async with c.db.read() as session:
        await load_word_shares(session)  # which words are common: the plan of a bounded search
        community_id = form.community_id
        if form.community_name:
            community_id = await find_community_id(session, form.community_name, c.settings.domain)

    async def comments() -> None:
        query = CommentQuery(
            sort=_comment_sort(form.sort),
            listing_type=listing,
            community_id=community_id,
            creator_id=form.creator_id,
            page=form.page,
            limit=form.limit,
            search_text=text,
        )
        async with c.db.read() as session, exact_bitmaps(session):
            body["comments"] = convert.comment_views(await list_comments(session, query, c.viewer))

    async def the_rest() -> None:
        async with c.db.read() as session:
            if _wants(kind, SearchType.POSTS, SearchType.URL):
                async with exact_bitmaps(session):
                    body["posts"] = await _posts(session, form, kind, community_id, c.viewer)
            if _wants(kind, SearchType.COMMUNITIES) and not narrowed:
                communities = await list_communities(
                    session, c.viewer, listing, form.sort or SortType.HOT, page=form.page, limit=form.limit, search=text
                )
                body["communities"] = [convert.community_view(v) for v in communities]
            if _wants(kind, SearchType.USERS) and not narrowed:
                people = await search_people(session, text, form.page, form.limit, form.sort, listing)
                body["users"] = [convert.person_view(v) for v in people]

    # The comments, the slowest part by far (the word's GIN list read whole: ~100 ms for a word in 1% of ten
    # million comments), on a connection of their own beside the rest: the answer waits for the slower one only.
    if _wants(kind, SearchType.COMMENTS):
        # Both run to their end (no session is left behind), then the first failure, if any, is the answer.
        for outcome in await asyncio.gather(comments(), the_rest(), return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome
    else:
        await the_rest()
    return ok(body, c.viewer)


async def _posts(
    session: AsyncSession, form: Search, kind: SearchType, community_id: int | None, viewer: Viewer | None
) -> list[dict[str, Any]]:
    """Posts by words (title and body, or the title only), or by their link for a Url search."""
    text = form.q.strip()
    by_url = kind == SearchType.URL
    query = PostQuery(
        listing_type=form.listing_type or ListingType.ALL,
        sort=form.sort or SortType.HOT,
        community_id=community_id,
        creator_id=form.creator_id,
        show_read=True,
        page=form.page,
        limit=form.limit,
        search_text=None if by_url else text,
        title_only=bool(form.post_title_only),
        search_url=text if by_url else None,
    )
    if query.search_text:
        posts = await search_posts(session, query, viewer)
    else:
        posts, _ = await list_posts(session, query, viewer)
    return [convert.post_view(v) for v in posts]


async def _resolve_local(session: AsyncSession, c: Ctx, q: str, viewer: Viewer | None) -> dict[str, Any]:
    kind, object_id = await find_local_object(session, q, c.settings.domain)
    return await _view_of(session, kind, object_id, viewer)


async def _view_of(session: AsyncSession, key: str, object_id: int, viewer: Viewer | None) -> dict[str, Any]:
    """The object's view, unless it is deleted or removed: Lemmy resolves only live objects."""
    try:
        if key == "post":
            post = await get_post_view(session, object_id, viewer)
            _check_alive(post.post.deleted or post.post.removed)
            return {"post": convert.post_view(post)}
        if key == "comment":
            comment = await get_comment_view(session, object_id, viewer)
            _check_alive(comment.comment.deleted or comment.comment.removed)
            return {"comment": convert.comment_view(comment)}
        if key == "community":
            community = await get_community_view(session, object_id, viewer, mod_or_admin=False)
            return {"community": convert.community_view(community)}
        person = await get_person_view(session, object_id)
        _check_alive(person.person.deleted)
        return {"person": convert.person_view(person)}
    except LemmyError as exc:
        raise LemmyError("couldnt_find_object", status=404) from exc


def _check_alive(gone: bool) -> None:
    if gone:
        raise LemmyError("couldnt_find_object", status=404)


@router.get("/resolve_object", **v3("resolveObject", "ResolveObjectResponse", not_found=True))
async def resolve_object(
    form: ResolveObject = Depends(query_form(ResolveObject)), c: Ctx = Depends(context)
) -> JSONResponse:
    async with c.db.read() as session:
        try:
            return ok(await _resolve_local(session, c, form.q, c.viewer), c.viewer)
        except LemmyError as exc:
            if c.viewer is None:
                # Anonymous visitors only look up what this server already has (as on Lemmy).
                raise LemmyError("couldnt_find_object", status=404) from exc
    kind, object_id = await resolve_remote_object(c.state, form.q)
    async with c.db.read() as session:
        return ok(await _view_of(session, kind, object_id, c.viewer), c.viewer)
