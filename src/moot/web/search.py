"""The search page: posts, comments, communities, people, or posts by link; a handle (`!news@host`,
`@alice@host`) or the URL of a community, person, post or comment is resolved first, as lemmy-ui does: found here,
or for a logged-in reader fetched from its server (federation/lookup.py, the code of the API's resolve_object)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fastapi import Depends
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from moot.db.search import exact_bitmaps, load_word_shares
from moot.domain.enums import CommentSortType, ListingType, SearchType, SortType
from moot.domain.errors import LemmyError
from moot.federation.lookup import resolve_remote
from moot.federation.parse import Refused
from moot.federation.resolve import Resolver
from moot.federation.service import fetch_policy
from moot.queries.comments import CommentQuery, CommentView, get_comment_view, list_comments
from moot.queries.communities import CommunityView, get_community_view, list_communities
from moot.queries.persons import PersonView, get_person_view, search_people
from moot.queries.posts import PostQuery, PostView, get_post_view, list_posts
from moot.queries.resolve import find_local_object, looks_resolvable
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
    lookup_note = None
    if text:
        found = None
        if number == 1 and looks_resolvable(text):
            found, lookup_note = await resolve_for_search(web, text)
        # As the API's search: exact bitmaps, and which words are common (the plan of a bounded search).
        async with web.db.read() as session, exact_bitmaps(session):
            await load_word_shares(session)
            results = await run_search(session, web.viewer, text, kind, number)
            if found is not None:
                await _put_first(session, web.viewer, results, *found)
    return web.render(
        "search.html",
        title=f"Search: {text}" if text else "Search",
        q=text,
        kind=kind,
        kinds=SEARCH_TYPES,
        results=results,
        lookup_note=lookup_note,
        page=number,
        has_more=any(
            len(items) == PAGE_SIZE for items in (results.posts, results.comments, results.communities, results.people)
        ),
    )


async def resolve_for_search(web: Web, text: str) -> tuple[tuple[str, int] | None, str | None]:
    """What a handle or URL names, as (kind, id), or why not (`login`: a visitor, `not_found`: its server had
    nothing): found here first; fetched from its server only for a logged-in reader, as Lemmy's resolve_object."""
    async with web.db.read() as session:
        try:
            return await find_local_object(session, text, web.settings.domain), None
        except LemmyError:
            pass
    if not _names_another_host(text, web.settings.domain):
        return None, None
    if web.viewer is None:
        return None, "login"
    resolver = Resolver(web.db, web.settings, fetch_policy(web.settings))
    try:
        return await resolve_remote(resolver, text), None
    except (Refused, LemmyError):
        return None, "not_found"


def _names_another_host(text: str, domain: str) -> bool:
    url = urlsplit(text)
    host = url.netloc if url.scheme in ("http", "https") else text.lstrip("!@").partition("@")[2]
    return bool(host) and host.lower() != domain.lower()


async def _put_first(session: AsyncSession, viewer: Viewer | None, results: Results, kind: str, object_id: int) -> None:
    """The resolved object at the top of its list (once), if the reader may see it and it is not gone."""
    try:
        if kind == "community":
            community = await get_community_view(session, object_id, viewer, mod_or_admin=False)
            rest = [v for v in results.communities if v.community.id != object_id]
            results.communities = [community, *rest]
        elif kind == "person":
            person = await get_person_view(session, object_id)
            if not person.person.deleted:
                results.people = [person, *(v for v in results.people if v.person.id != object_id)]
        elif kind == "post":
            post = await get_post_view(session, object_id, viewer)
            if not (post.post.deleted or post.post.removed):
                results.posts = [post, *(v for v in results.posts if v.post.id != object_id)]
        else:
            comment = await get_comment_view(session, object_id, viewer)
            if not (comment.comment.deleted or comment.comment.removed):
                results.comments = [comment, *(v for v in results.comments if v.comment.id != object_id)]
    except LemmyError:
        return
