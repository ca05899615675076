"""The search page: posts, comments, communities, people, or posts by link."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Depends
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from moot.domain.enums import CommentSortType, ListingType, SearchType, SortType
from moot.queries.comments import CommentQuery, CommentView, list_comments
from moot.queries.communities import CommunityView, list_communities
from moot.queries.persons import PersonView, search_people
from moot.queries.posts import PostQuery, PostView, list_posts
from moot.queries.viewer import Viewer
from moot.web.context import Web, web_context
from moot.web.params import PAGE_SIZE, SEARCH_TYPES, choice, page_number
from moot.web.routing import web_router

router = web_router()

MAX_QUERY = 1000


@dataclass(slots=True)
class Results:
    posts: list[PostView] = field(default_factory=list)
    comments: list[CommentView] = field(default_factory=list)
    communities: list[CommunityView] = field(default_factory=list)
    people: list[PersonView] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.posts) + len(self.comments) + len(self.communities) + len(self.people)


async def run_search(session: AsyncSession, viewer: Viewer | None, text: str, kind: SearchType, number: int) -> Results:
    found = Results()
    if kind in (SearchType.ALL, SearchType.POSTS, SearchType.URL):
        found.posts, _ = await list_posts(
            session,
            PostQuery(
                sort=SortType.TOP_ALL,
                show_read=True,
                page=number,
                limit=PAGE_SIZE,
                search_text=None if kind == SearchType.URL else text,
                search_url=text if kind == SearchType.URL else None,
            ),
            viewer,
        )
    if kind in (SearchType.ALL, SearchType.COMMENTS):
        found.comments = await list_comments(
            session,
            CommentQuery(sort=CommentSortType.TOP, page=number, limit=PAGE_SIZE, search_text=text),
            viewer,
        )
    if kind in (SearchType.ALL, SearchType.COMMUNITIES):
        found.communities = await list_communities(
            session, viewer, ListingType.ALL, SortType.TOP_ALL, page=number, limit=PAGE_SIZE, search=text
        )
    if kind in (SearchType.ALL, SearchType.USERS):
        found.people = await search_people(session, text, number, PAGE_SIZE)
    return found


@router.get("/search")
async def search_page(
    q: str | None = None, type: str | None = None, page: str | None = None, web: Web = Depends(web_context)
) -> Response:
    text = (q or "").strip()[:MAX_QUERY]
    kind = choice(SearchType, type, SearchType.ALL)
    number = page_number(page)
    results = Results()
    if text:
        async with web.db.read() as session:
            results = await run_search(session, web.viewer, text, kind, number)
    return web.render(
        "search.html",
        title=f"Search: {text}" if text else "Search",
        q=text,
        kind=kind,
        kinds=SEARCH_TYPES,
        results=results,
        page=number,
        has_more=any(
            len(items) == PAGE_SIZE for items in (results.posts, results.comments, results.communities, results.people)
        ),
    )
