"""RSS 2.0 feeds: all, local, a community, a person, and your subscriptions (by the token in the address)."""

from __future__ import annotations

from email.utils import format_datetime
from xml.etree import ElementTree as ET

from fastapi import Depends
from fastapi.responses import Response

from moot.domain.enums import ListingType, SortType
from moot.domain.errors import LemmyError
from moot.domain.timefmt import as_utc
from moot.queries.communities import find_community_id, get_community_view
from moot.queries.persons import find_person_id, get_person_view
from moot.queries.posts import PostQuery, PostView, list_posts
from moot.queries.viewer import Viewer, load_viewer
from moot.web.context import Web, web_context
from moot.web.markup import markdown
from moot.web.params import choice
from moot.web.render import handle, safe_href
from moot.web.routing import web_router

router = web_router()

FEED_SIZE = 20
DC = "http://purl.org/dc/elements/1.1/"
ET.register_namespace("dc", DC)


def _item(channel: ET.Element, view: PostView, base: str) -> None:
    post = view.post
    link = f"{base}/post/{post.id}"
    item = ET.SubElement(channel, "item")
    ET.SubElement(item, "title").text = post.name
    ET.SubElement(item, "link").text = link
    ET.SubElement(item, "guid", isPermaLink="true").text = link
    ET.SubElement(item, "comments").text = f"{link}#comments"
    ET.SubElement(item, "pubDate").text = format_datetime(as_utc(post.published))
    ET.SubElement(item, f"{{{DC}}}creator").text = handle(view.creator)
    ET.SubElement(item, "category").text = handle(view.community)
    # ElementTree escapes the HTML into text, as RSS readers expect of <description>.
    parts = []
    if safe_href(post.url):
        parts.append(f'<p><a href="{safe_href(post.url)}">{safe_href(post.url)}</a></p>')
    parts.append(str(markdown(post.body)))
    ET.SubElement(item, "description").text = "".join(parts)


def rss(
    title: str, link: str, description: str, posts: list[PostView], base: str, cache: str = "public, max-age=300"
) -> Response:
    root = ET.Element("rss", version="2.0")
    channel = ET.SubElement(root, "channel")
    ET.SubElement(channel, "title").text = title
    ET.SubElement(channel, "link").text = link
    ET.SubElement(channel, "description").text = description
    for view in posts:
        _item(channel, view, base)
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, media_type="application/rss+xml; charset=utf-8", headers={"Cache-Control": cache})


async def _posts(web: Web, query: PostQuery, viewer: Viewer | None = None) -> list[PostView]:
    query.limit = FEED_SIZE
    async with web.db.read() as session:
        views, _ = await list_posts(session, query, viewer)
    return views


@router.get("/feeds/all.xml")
async def all_feed(sort: str | None = None, web: Web = Depends(web_context)) -> Response:
    order = choice(SortType, sort, SortType.NEW)
    posts = await _posts(web, PostQuery(listing_type=ListingType.ALL, sort=order))
    base = web.settings.base_url
    return rss(f"{web.site.name}: all posts", f"{base}/", web.site.description or web.site.name, posts, base)


@router.get("/feeds/local.xml")
async def local_feed(sort: str | None = None, web: Web = Depends(web_context)) -> Response:
    order = choice(SortType, sort, SortType.NEW)
    posts = await _posts(web, PostQuery(listing_type=ListingType.LOCAL, sort=order))
    base = web.settings.base_url
    return rss(f"{web.site.name}: local posts", f"{base}/", web.site.description or web.site.name, posts, base)


@router.get("/feeds/c/{name}.xml")
async def community_feed(name: str, sort: str | None = None, web: Web = Depends(web_context)) -> Response:
    async with web.db.read() as session:
        community_id = await find_community_id(session, name, web.settings.domain)
        community = (await get_community_view(session, community_id, None, mod_or_admin=False)).community
    posts = await _posts(web, PostQuery(community_id=community_id, sort=choice(SortType, sort, SortType.NEW)))
    base = web.settings.base_url
    link = f"{base}/c/{handle(community)}"
    return rss(f"{community.title} ({handle(community)})", link, community.description or community.title, posts, base)


@router.get("/feeds/u/{name}.xml")
async def person_feed(name: str, web: Web = Depends(web_context)) -> Response:
    async with web.db.read() as session:
        person_id = await find_person_id(session, name, web.settings.domain)
        person = (await get_person_view(session, person_id)).person
    posts = await _posts(web, PostQuery(creator_id=person_id, sort=SortType.NEW, show_read=True))
    base = web.settings.base_url
    link = f"{base}/u/{handle(person)}"
    return rss(f"Posts by {handle(person)}", link, f"Posts by {handle(person)}", posts, base)


@router.get("/feeds/front/{token}.xml")
async def front_feed(token: str, sort: str | None = None, web: Web = Depends(web_context)) -> Response:
    """Your Subscribed listing; the address carries your login token, so keep it private (as in Lemmy)."""
    async with web.db.read() as session:
        viewer = await load_viewer(session, token, web.state.jwt_secret)
    if viewer is None:
        raise LemmyError("not_logged_in", status=401)
    order = choice(SortType, sort, SortType.NEW)
    posts = await _posts(web, PostQuery(listing_type=ListingType.SUBSCRIBED, sort=order), viewer)
    base = web.settings.base_url
    description = f"Subscriptions of {viewer.person.name}"
    return rss(f"{web.site.name}: subscribed", f"{base}/", description, posts, base, cache="private, max-age=300")
