"""Listing pages: the front page, a community with its sidebar, the community list with search, and the site's
legal information."""

from __future__ import annotations

from fastapi import Depends
from fastapi.responses import Response

from moot.domain.enums import ListingType, SortType
from moot.domain.errors import LemmyError
from moot.queries.communities import find_community_id, get_community_view, list_communities, moderators
from moot.queries.posts import PostQuery, list_posts
from moot.web.context import Web, web_context
from moot.web.params import FRONT_LISTINGS, PAGE_SIZE, SORT_LABELS, choice, page_number
from moot.web.routing import web_router

router = web_router()


def _default_sort(web: Web) -> SortType:
    chosen = web.viewer.local_user.default_sort_type if web.viewer else web.site.default_sort
    return choice(SortType, chosen, SortType.ACTIVE)


def _default_listing(web: Web) -> ListingType:
    chosen = web.viewer.local_user.default_listing_type if web.viewer else web.site.default_listing
    listing = choice(ListingType, chosen, ListingType.LOCAL)
    return listing if listing in FRONT_LISTINGS else ListingType.LOCAL


@router.get("/")
async def front_page(
    type: str | None = None, sort: str | None = None, cursor: str | None = None, web: Web = Depends(web_context)
) -> Response:
    listing = choice(ListingType, type, _default_listing(web))
    if listing not in FRONT_LISTINGS:
        listing = ListingType.ALL
    order = choice(SortType, sort, _default_sort(web))
    async with web.db.read() as session:
        views, next_cursor = await list_posts(
            session,
            PostQuery(listing_type=listing, sort=order, page_cursor=cursor or None, limit=PAGE_SIZE),
            web.viewer,
        )
    return web.render(
        "front.html",
        title=web.site.name,
        posts=views,
        listing=listing,
        listings=FRONT_LISTINGS,
        sort=order,
        sorts=SORT_LABELS,
        cursor=cursor,
        next_cursor=next_cursor if len(views) == PAGE_SIZE else None,
    )


@router.get("/c/{name}")
async def community_page(
    name: str, sort: str | None = None, cursor: str | None = None, web: Web = Depends(web_context)
) -> Response:
    """Thin on purpose: federation will answer `Accept: application/activity+json` here before this runs."""
    return await show_community(web, name, sort, cursor)


async def show_community(web: Web, name: str, sort: str | None, cursor: str | None) -> Response:
    order = choice(SortType, sort, _default_sort(web))
    async with web.db.read() as session:
        community_id = await find_community_id(session, name, web.settings.domain)
        view = await get_community_view(session, community_id, web.viewer, mod_or_admin=False)
        mods = await moderators(session, community_id)
        posts, next_cursor = await list_posts(
            session,
            PostQuery(community_id=community_id, sort=order, page_cursor=cursor or None, limit=PAGE_SIZE),
            web.viewer,
        )
    return web.render(
        "community.html",
        title=view.community.title,
        community_view=view,
        community=view.community,
        moderators=[person for _, person in mods],
        posts=posts,
        sort=order,
        sorts=SORT_LABELS,
        cursor=cursor,
        next_cursor=next_cursor if len(posts) == PAGE_SIZE else None,
    )


@router.get("/communities")
async def communities_page(
    q: str | None = None,
    type: str | None = None,
    sort: str | None = None,
    page: str | None = None,
    web: Web = Depends(web_context),
) -> Response:
    listing = choice(ListingType, type, ListingType.ALL)
    if listing not in FRONT_LISTINGS:
        listing = ListingType.ALL
    order = choice(SortType, sort, SortType.TOP_MONTH)
    number = page_number(page)
    search = (q or "").strip()[:200] or None
    async with web.db.read() as session:
        views = await list_communities(session, web.viewer, listing, order, page=number, limit=PAGE_SIZE, search=search)
    return web.render(
        "communities.html",
        title="Communities",
        communities=views,
        q=search or "",
        listing=listing,
        listings=FRONT_LISTINGS,
        sort=order,
        sorts=SORT_LABELS,
        page=number,
        has_more=len(views) == PAGE_SIZE,
    )


@router.get("/legal")
async def legal_page(web: Web = Depends(web_context)) -> Response:
    """The site's legal information (EditSite `legal_information`), linked from every page's footer when set."""
    if not web.site.legal_information:
        raise LemmyError("couldnt_find_object", status=404)
    return web.render("legal.html", title="Legal information", text=web.site.legal_information)
