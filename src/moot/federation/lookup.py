"""Remote actors and objects found by handle or by URL, as Lemmy 0.19 finds them (resolve_object and
resolve_actor_identifier): WebFinger for `name@host`, the resolver for a URL, and the collections a community
brings along when its document is fetched.

- `!name@host` is a community, `@name@host` a person, and a bare `name@host` whichever WebFinger lists first of
  the two (Lemmy lists a person before a community of the same name).
- WebFinger is asked over https. Only in the MOOT_FEDERATION_DEBUG test mode, and only when no TLS connection
  can be made there at all (not on an error status, nor on a certificate we do not trust), is it asked again
  over http: the scheme follows the remote server, never our own switch.
- A URL may be another server's local URL of an object that lives elsewhere: that server redirects to the
  origin, and the object is accepted under its own id, the final URL (the fetch guard checks the two match).
- A community whose document was fetched brings its moderators, its featured posts and its latest posts, each
  collection read from the community's own host; they share a fetch budget of their own, and a collection that
  cannot be had is skipped (Lemmy ignores those errors too)."""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any

from sqlalchemy import select

from moot.actions.remote import set_remote_featured, set_remote_moderators
from moot.db.comment import Comment
from moot.db.community import Community
from moot.db.person import Person
from moot.db.post import Post
from moot.federation.fetch import FetchedDocument, FetchError, fetch_json
from moot.federation.parse import Refused, id_of, parse_actor, parse_post, same_host
from moot.federation.resolve import FETCH_BUDGET, Resolver

log = logging.getLogger(__name__)

AS_TYPE = "https://www.w3.org/ns/activitystreams#type"
# apf's extract_webfinger_name: letters, digits, `_`, `.` and `-`.
WEBFINGER_NAME = re.compile(r"[\w.-]+")
KINDS_BY_PREFIX = {"!": ("Group",), "@": ("Person",), "": ("Person", "Group")}
ACTOR_DOCUMENTS = ("Group", "Person", "Service")
BACKFILL_POSTS = 20  # Lemmy's outbox holds the latest 20 posts
MAX_FEATURED = 50  # Lemmy's FETCH_LIMIT_MAX
MAX_MODERATORS = 50


# WebFinger


async def webfinger(resolver: Resolver, name: str, host: str, kinds: tuple[str, ...]) -> list[tuple[str, str | None]]:
    """The actors behind `name@host` of the wanted kinds ("Person", "Group"), as (id, kind) in the order the
    server lists them. A link without a type may be either kind: its document will say."""
    host = host.lower()
    if not WEBFINGER_NAME.fullmatch(name) or not host:
        raise Refused(f"{name}@{host} is not a WebFinger address")
    if host == resolver.settings.domain:
        raise Refused(f"{name}@{host} would be local, and is not here")
    await resolver.check_permitted(host)
    document = await _webfinger_document(resolver, host, f"acct:{name}@{host}")
    links = document.data.get("links")
    found: list[tuple[str, str | None]] = []
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or link.get("rel") != "self" or not isinstance(link.get("href"), str):
            continue
        properties = link.get("properties")
        kind = properties.get(AS_TYPE) if isinstance(properties, dict) else None
        if kind is not None and kind not in kinds:
            continue
        href = str(link["href"])
        if not same_host(href, f"http://{host}/"):
            raise Refused("webfinger points at another host")
        found.append((href, kind if isinstance(kind, str) else None))
    if not found:
        raise Refused(f"no {' or '.join(kinds)} named {name}@{host}")
    return found


async def _webfinger_document(resolver: Resolver, host: str, resource: str) -> FetchedDocument:
    path = f"/.well-known/webfinger?resource={resource}"
    try:
        return await _get_json(resolver, f"https://{host}{path}")
    except FetchError as exc:
        if not (resolver.policy.allow_insecure_and_private and _no_tls_there(exc)):
            raise Refused(f"webfinger for {resource} failed: {exc.reason}") from exc
        log.info("no TLS at %s (%s); the debug mode asks over http", host, exc)
    try:
        return await _get_json(resolver, f"http://{host}{path}")
    except FetchError as exc:
        raise Refused(f"webfinger for {resource} failed: {exc.reason}") from exc


async def _get_json(resolver: Resolver, url: str) -> FetchedDocument:
    if resolver.budget <= 0:
        raise Refused("fetch budget for this activity is spent")
    resolver.budget -= 1
    return await fetch_json(url, await resolver.check_permitted(url), accept_activitypub=False)


def _no_tls_there(exc: FetchError) -> bool:
    """The https attempt could not connect at all: nothing listens there, or what answers does not speak TLS.
    A certificate we do not trust is a refusal, never a reason to speak plain http instead."""
    return exc.reason == "connect" and "certificate" not in str(exc).lower()


# resolve_object


async def resolve_remote(resolver: Resolver, q: str) -> tuple[str, int]:
    """`!community@host`, `@person@host`, `name@host` or the URL of an actor or object of another server:
    fetched, stored, and returned as (kind, local id), kind one of community, person, post, comment."""
    q = q.strip()
    if "@" in q and "/" not in q:
        prefix = q[0] if q[0] in "!@" else ""
        name, _, host = q[len(prefix) :].partition("@")
        return await resolve_handle(resolver, name, host, KINDS_BY_PREFIX[prefix])
    known = await resolver.find_object(q)
    if known is not None:
        return _kind_of(known)
    document = await resolver.fetch_document(q)
    if document.data.get("type") in ACTOR_DOCUMENTS:
        actor = parse_actor(document.data, expected_id=document.url)
        if actor.kind != "Group":
            return "person", (await resolver.store_person(actor)).id
        community = await resolver.store_community(actor)
        await backfill_community(resolver, community, actor.outbox)
        return "community", community.id
    return _kind_of(await resolver.object_from(document))


async def resolve_handle(resolver: Resolver, name: str, host: str, kinds: tuple[str, ...]) -> tuple[str, int]:
    """The first actor WebFinger lists for `name@host` that can be fetched, as ("person" | "community", id)."""
    failure = Refused(f"nothing named {name}@{host}")
    for ap_id, kind in await webfinger(resolver, name, host, kinds):
        try:
            if kind == "Group" or (kind is None and "Person" not in kinds):
                return "community", (await _community(resolver, ap_id)).id
            try:
                return "person", (await resolver.person(ap_id)).id
            except Refused:
                if kind is not None or "Group" not in kinds:
                    raise
            return "community", (await _community(resolver, ap_id)).id  # an untyped link to a group
        except Refused as exc:
            failure = exc
    raise failure


async def _community(resolver: Resolver, ap_id: str) -> Community:
    mark = len(resolver.fetched)
    community = await resolver.community(ap_id)
    if ap_id in resolver.fetched[mark:]:  # its document was fetched just now: first sight, or a refresh
        await backfill_community(resolver, community)
    return community


def _kind_of(found: Post | Comment) -> tuple[str, int]:
    return ("comment", found.id) if isinstance(found, Comment) else ("post", found.id)


# A community's collections


async def backfill_community(resolver: Resolver, community: Community, outbox: str | None = None) -> None:
    """Moderators, featured posts and the latest posts of a remote community, as Lemmy fetches them with it."""
    if community.local:
        return
    collections = dataclasses.replace(resolver, budget=FETCH_BUDGET, fetched=[])
    await backfill_moderators(collections, community)
    await backfill_featured(collections, community)
    await backfill_outbox(collections, community, outbox or f"{community.ap_id}/outbox")


async def _collection_items(resolver: Resolver, community: Community, url: str | None) -> list[Any] | None:
    """The items of one of the community's collections (or of its first page); None when it cannot be had. It
    must come from the community's own host, after any redirect: only that host speaks for the community."""
    if url is None:
        return None
    try:
        document = await _from_community_host(resolver, community, url)
        items = document.data.get("orderedItems")
        first = document.data.get("first")
        if items is None and isinstance(first, dict):
            items = first.get("orderedItems")
        elif items is None and isinstance(first, str):
            items = (await _from_community_host(resolver, community, first)).data.get("orderedItems")
    except Refused as exc:
        log.info("skipped the collection %s of %s: %s", url, community.ap_id, exc.reason)
        return None
    return items if isinstance(items, list) else None


async def _from_community_host(resolver: Resolver, community: Community, url: str) -> FetchedDocument:
    if not same_host(url, community.ap_id):
        raise Refused("it is on another host than the community")
    document = await resolver.fetch_document(url)
    if not same_host(document.url, community.ap_id):
        raise Refused("it was redirected to another host")
    return document


async def backfill_moderators(resolver: Resolver, community: Community) -> None:
    """The moderators collection replaces the community's moderators (people listed there who cannot be fetched
    now but are known stay; people no longer listed leave)."""
    items = await _collection_items(resolver, community, community.moderators_url)
    if items is None:
        return
    person_ids: list[int] = []
    for item in items[:MAX_MODERATORS]:
        ap_id = id_of(item)
        if ap_id is None:
            continue
        try:
            person_ids.append((await resolver.person(ap_id)).id)
        except Refused as exc:
            async with resolver.db.read() as session:
                known = await session.scalar(select(Person.id).where(Person.ap_id == ap_id))
            if known is not None:
                person_ids.append(known)
            log.info("moderator %s of %s not fetched: %s", ap_id, community.ap_id, exc.reason)
    async with resolver.db.write() as session:
        await set_remote_moderators(session, community, person_ids)


async def backfill_featured(resolver: Resolver, community: Community) -> None:
    """The featured collection says which posts are featured in the community (Lemmy's stickied posts). A page
    embedded by the community's own host is taken as is; a page of another host is fetched from its origin."""
    items = await _collection_items(resolver, community, community.featured_url)
    if items is None:
        return
    post_ids: list[int] = []
    for item in items[:MAX_FEATURED]:
        ap_id = id_of(item)
        if ap_id is None:
            continue
        try:
            found = await resolver.find_object(ap_id)
            if found is None and isinstance(item, dict) and same_host(ap_id, community.ap_id):
                parsed = parse_post(item)
                if community.ap_id not in parsed.community_candidates:
                    raise Refused("the post belongs to another community")
                found = await resolver.store_post(parsed, community)
            elif found is None:
                found = await resolver.object(ap_id)
        except Refused as exc:
            log.info("skipped a featured post of %s: %s", community.ap_id, exc.reason)
            continue
        # Only the community's own posts can be featured in it.
        if isinstance(found, Post) and found.community_id == community.id:
            post_ids.append(found.id)
    async with resolver.db.write() as session:
        await set_remote_featured(session, community, post_ids)


async def backfill_outbox(resolver: Resolver, community: Community, outbox: str) -> int:
    """The community's latest posts (its outbox's announces), so that its page is not empty. Each post passes the
    same checks as one arriving in the inbox; bad ones, and ones already here, are skipped."""
    items = await _collection_items(resolver, community, outbox)
    stored = 0
    for item in (items or [])[:BACKFILL_POSTS]:
        create = item.get("object") if isinstance(item, dict) and item.get("type") == "Announce" else item
        if not isinstance(create, dict) or create.get("type") != "Create" or not isinstance(create.get("object"), dict):
            continue
        page = create["object"]
        try:
            parsed = parse_post(page)
            if parsed.author != create.get("actor") or community.ap_id not in parsed.community_candidates:
                continue
            if await resolver.find_object(parsed.ap_id) is not None:
                continue
            await resolver.store_post(parsed, community)
            stored += 1
        except Refused as exc:
            log.info("skipped an outbox item of %s: %s", community.ap_id, exc.reason)
    return stored
