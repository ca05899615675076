"""Remote people, communities, posts and comments: found locally, or fetched (through the guard) and stored.

Network I/O happens outside database transactions: a document is fetched first, then stored in a short write.
Reply chains are fetched iteratively, at most 50 deep, within a per-activity fetch budget."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from moot.actions import comments as comment_actions
from moot.actions import posts as post_actions
from moot.actions.remote import upsert_remote_community, upsert_remote_person
from moot.db.comment import Comment
from moot.db.community import Community
from moot.db.engine import Database
from moot.db.person import Person
from moot.db.post import Post
from moot.domain.instances import instance_host
from moot.domain.languages import LANGUAGE_BY_CODE
from moot.domain.timefmt import as_utc, utcnow
from moot.domain.validation import MAX_COMMENT_DEPTH
from moot.federation.fetch import FetchError, FetchPolicy, fetch_json
from moot.federation.parse import (
    ParsedActor,
    ParsedComment,
    ParsedPost,
    Refused,
    parse_actor,
    parse_comment,
    parse_post,
)
from moot.queries.defaults import instance_lists
from moot.queries.viewer import RemoteActor
from moot.settings import Settings

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(days=1)
FETCH_BUDGET = 50


@dataclass(slots=True)
class Resolver:
    """One per incoming activity (or resolve request): carries the fetch budget."""

    db: Database
    settings: Settings
    policy: FetchPolicy
    budget: int = FETCH_BUDGET
    fetched: list[str] = field(default_factory=list)

    def is_local(self, url: str) -> bool:
        return urlsplit(url).netloc.lower() == self.settings.domain

    async def check_permitted(self, url: str) -> None:
        """Nothing is fetched from a blocked instance, or from one outside the allowlist when there is one."""
        async with self.db.read() as session:
            lists = await instance_lists(session)
        if not lists.permits(url):
            raise Refused(f"{instance_host(url)} is blocked or not in the allowlist")

    async def fetch(self, url: str) -> dict[str, Any]:
        if self.is_local(url):
            raise Refused(f"{url} is local; it is never fetched")
        await self.check_permitted(url)
        if self.budget <= 0:
            raise Refused("fetch budget for this activity is spent")
        self.budget -= 1
        self.fetched.append(url)
        try:
            document = await fetch_json(url, self.policy)
        except FetchError as exc:
            raise Refused(f"fetching {url} failed: {exc.reason}") from exc
        return document.data

    # People and communities

    async def person(self, ap_id: str, refresh: bool = False) -> Person:
        async with self.db.read() as session:
            found = await session.scalar(select(Person).where(Person.ap_id == ap_id))
        if found is not None and (found.local or (not refresh and not _stale(found.last_refreshed_at))):
            return found
        if found is None and self.is_local(ap_id):
            raise Refused(f"no local person {ap_id}")
        actor = parse_actor(await self.fetch(ap_id), expected_id=ap_id)
        if actor.kind == "Group":
            raise Refused(f"{ap_id} is a community, not a person")
        return await self.store_person(actor)

    async def store_person(self, actor: ParsedActor) -> Person:
        async with self.db.write() as session:
            person = await upsert_remote_person(
                session,
                ap_id=actor.ap_id,
                name=actor.name,
                domain=urlsplit(actor.ap_id).netloc.lower(),
                display_name=actor.display_name,
            )
            person.inbox_url = actor.inbox
            person.shared_inbox_url = actor.shared_inbox
            person.public_key = actor.public_key_pem
            person.bio = actor.summary
            person.avatar = actor.icon
            person.banner = actor.banner
            person.bot_account = actor.bot
        return person

    async def community(self, ap_id: str, refresh: bool = False) -> Community:
        async with self.db.read() as session:
            found = await session.scalar(select(Community).where(Community.ap_id == ap_id))
        if found is not None and (found.local or (not refresh and not _stale(found.last_refreshed_at))):
            return found
        if found is None and self.is_local(ap_id):
            raise Refused(f"no local community {ap_id}")
        actor = parse_actor(await self.fetch(ap_id), expected_id=ap_id)
        if actor.kind != "Group":
            raise Refused(f"{ap_id} is not a community")
        return await self.store_community(actor)

    async def find_community(self, ap_id: str) -> Community | None:
        async with self.db.read() as session:
            return await session.scalar(select(Community).where(Community.ap_id == ap_id))

    async def store_community(self, actor: ParsedActor) -> Community:
        async with self.db.write() as session:
            community = await upsert_remote_community(
                session,
                ap_id=actor.ap_id,
                name=actor.name,
                domain=urlsplit(actor.ap_id).netloc.lower(),
                title=actor.display_name or actor.name,
            )
            community.inbox_url = actor.inbox
            community.shared_inbox_url = actor.shared_inbox
            community.public_key = actor.public_key_pem
            community.description = actor.summary
            community.followers_url = actor.followers
            community.moderators_url = actor.moderators
            community.featured_url = actor.featured
            community.nsfw = actor.sensitive
            community.posting_restricted_to_mods = actor.posting_restricted_to_mods
            community.icon = actor.icon
            community.banner = actor.banner
        return community

    async def actor_key(self, ap_id: str, refresh: bool = False) -> tuple[str, str | None]:
        """(kind, public key PEM) of a person or community, fetched when unknown or when asked to refresh."""
        async with self.db.read() as session:
            person = await session.scalar(select(Person).where(Person.ap_id == ap_id))
            community = await session.scalar(select(Community).where(Community.ap_id == ap_id))
        if not refresh and person is not None and person.public_key:
            return "person", person.public_key
        if not refresh and community is not None and community.public_key:
            return "community", community.public_key
        actor = parse_actor(await self.fetch(ap_id), expected_id=ap_id)
        if actor.kind == "Group":
            return "community", (await self.store_community(actor)).public_key
        return "person", (await self.store_person(actor)).public_key

    # Posts and comments

    async def find_object(self, ap_id: str) -> Post | Comment | None:
        async with self.db.read() as session:
            post = await session.scalar(select(Post).where(Post.ap_id == ap_id))
            if post is not None:
                return post
            return await session.scalar(select(Comment).where(Comment.ap_id == ap_id))

    async def community_of(self, parsed: ParsedPost) -> Community:
        for candidate in parsed.community_candidates:
            try:
                return await self.community(candidate)
            except Refused:
                continue
        raise Refused("the post names no community we can find")

    async def store_post(self, parsed: ParsedPost, community: Community | None = None) -> Post:
        """Create or update by `ap_id`. When another request stores the same post at the same moment (an inbox
        delivery racing a resolve_object), its transaction wins and ours rolls back whole; ours then becomes an
        update of that row, or nothing if it says nothing new."""
        try:
            return await self._store_post_once(parsed, community)
        except IntegrityError:
            stored = await self.find_object(parsed.ap_id)
            if not isinstance(stored, Post):
                raise
            if stored.name == parsed.title and (stored.body or "") == (parsed.body or ""):
                return stored
            return await self._store_post_once(parsed, community)

    async def _store_post_once(self, parsed: ParsedPost, community: Community | None = None) -> Post:
        existing = await self.find_object(parsed.ap_id)
        author = await self.person(parsed.author)
        community = community or await self.community_of(parsed)
        actor = RemoteActor(person=author)
        async with self.db.write() as session:
            if isinstance(existing, Post):
                if existing.creator_id != author.id:
                    raise Refused("an update of a post by someone other than its author")
                changes: dict[str, object] = {"name": parsed.title, "body": parsed.body or "", "nsfw": parsed.nsfw}
                if parsed.url:
                    changes["url"] = parsed.url
                return await post_actions.edit_post(session, actor, existing.id, changes)
            if isinstance(existing, Comment):
                raise Refused(f"{parsed.ap_id} is already a comment")
            return await post_actions.create_post(
                session,
                self.settings,
                actor,
                community_id=community.id,
                name=parsed.title,
                url=parsed.url,
                body=parsed.body,
                nsfw=parsed.nsfw,
                language_id=_language_id(parsed.language),
                ap_id=parsed.ap_id,
                published=_time(parsed.published),
            )

    async def store_comment(self, parsed: ParsedComment) -> Comment:
        """Create or update by `ap_id`; a concurrent store of the same comment is handled as in `store_post`."""
        try:
            return await self._store_comment_once(parsed)
        except IntegrityError:
            stored = await self.find_object(parsed.ap_id)
            if not isinstance(stored, Comment):
                raise
            if stored.content == parsed.content:
                return stored
            return await self._store_comment_once(parsed)

    async def _store_comment_once(self, parsed: ParsedComment) -> Comment:
        existing = await self.find_object(parsed.ap_id)
        author = await self.person(parsed.author)
        actor = RemoteActor(person=author)
        if isinstance(existing, Comment):
            if existing.creator_id != author.id:
                raise Refused("an update of a comment by someone other than its author")
            async with self.db.write() as session:
                edited, _ = await comment_actions.edit_comment(
                    session, self.settings, actor, existing.id, parsed.content, _language_id(parsed.language)
                )
            return edited
        if existing is not None:
            raise Refused(f"{parsed.ap_id} is already a post")
        parent = await self.object(parsed.in_reply_to)
        post_id = parent.id if isinstance(parent, Post) else parent.post_id
        parent_id = parent.id if isinstance(parent, Comment) else None
        async with self.db.write() as session:
            comment, _ = await comment_actions.create_comment(
                session,
                self.settings,
                actor,
                post_id=post_id,
                content=parsed.content,
                parent_id=parent_id,
                language_id=_language_id(parsed.language),
                ap_id=parsed.ap_id,
                published=_time(parsed.published),
            )
        return comment

    async def object(self, ap_id: str) -> Post | Comment:
        """A post or comment by id: stored, or fetched with its unknown ancestors, top-down, iteratively."""
        found = await self.find_object(ap_id)
        if found is not None:
            return found
        chain: list[dict[str, Any]] = []
        cursor = ap_id
        while True:
            if len(chain) > MAX_COMMENT_DEPTH:
                raise Refused("reply chain is deeper than 50")
            data = await self.fetch(cursor)
            if data.get("id") != cursor:
                raise Refused("fetched object id is not the address it was fetched from")
            chain.append(data)
            if data.get("type") != "Note" or not data.get("inReplyTo"):
                break
            parent_id = parse_comment(data).in_reply_to
            if await self.find_object(parent_id) is not None:
                break
            cursor = parent_id
        stored: Post | Comment | None = None
        for data in reversed(chain):
            if data.get("type") == "Note" and data.get("inReplyTo"):
                stored = await self.store_comment(parse_comment(data))
            else:
                stored = await self.store_post(parse_post(data))
        assert stored is not None
        return stored


def _stale(moment: datetime | None) -> bool:
    return moment is None or utcnow() - as_utc(moment) > STALE_AFTER


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None
    # A time in the future (a wrong clock, or a trick to stay on top of New) is clamped to now.
    return min(moment, utcnow())


def _language_id(code: str | None) -> int | None:
    if code is None:
        return None
    lang = LANGUAGE_BY_CODE.get(code)
    return lang.id if lang is not None else None


async def webfinger(resolver: Resolver, name: str, host: str, want: str) -> str:
    """The actor id behind `name@host` (`want` is "Group" or "Person"), through the guard."""
    from moot.federation.fetch import fetch_json as _fetch

    scheme = "http" if resolver.policy.allow_insecure_and_private else "https"
    await resolver.check_permitted(host)
    if resolver.budget <= 0:
        raise Refused("fetch budget for this activity is spent")
    resolver.budget -= 1
    url = f"{scheme}://{host}/.well-known/webfinger?resource=acct:{name}@{host}"
    try:
        document = await _fetch(url, resolver.policy, accept_activitypub=False)
    except FetchError as exc:
        raise Refused(f"webfinger for {name}@{host} failed: {exc.reason}") from exc
    links = document.data.get("links")
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or link.get("rel") != "self" or not isinstance(link.get("href"), str):
            continue
        kind = (link.get("properties") or {}).get("https://www.w3.org/ns/activitystreams#type")
        if kind in (None, want):
            href = str(link["href"])
            if urlsplit(href).netloc.lower() != host.lower():
                raise Refused("webfinger points at another host")
            return href
    raise Refused(f"no {want} named {name}@{host}")


async def resolve_remote(resolver: Resolver, q: str) -> tuple[str, int]:
    """`!community@host`, `@person@host` or an object URL of another server: fetched, stored, and returned as
    (kind, local id) with kind one of community, person, post, comment."""
    q = q.strip()
    if q.startswith("!") or (q.startswith("@") is False and "@" in q and "/" not in q):
        name, _, host = q.lstrip("!").partition("@")
        if q.startswith("!"):
            group_id = await webfinger(resolver, name, host, "Group")
            is_new = await resolver.find_community(group_id) is None
            community = await resolver.community(group_id)
            if is_new:
                await backfill_outbox(resolver, community)
            return "community", community.id
        person = await resolver.person(await webfinger(resolver, name, host, "Person"))
        return "person", person.id
    if q.startswith("@"):
        name, _, host = q[1:].partition("@")
        person = await resolver.person(await webfinger(resolver, name, host, "Person"))
        return "person", person.id
    known = await resolver.find_object(q)
    if known is not None:
        return ("comment", known.id) if isinstance(known, Comment) else ("post", known.id)
    data = await resolver.fetch(q)
    if data.get("type") in ("Group", "Person", "Service"):
        actor = parse_actor(data, expected_id=q)
        if actor.kind == "Group":
            return "community", (await resolver.store_community(actor)).id
        return "person", (await resolver.store_person(actor)).id
    stored = await resolver.object(q)
    return ("comment", stored.id) if isinstance(stored, Comment) else ("post", stored.id)


BACKFILL_POSTS = 20


async def backfill_outbox(resolver: Resolver, community: Community) -> int:
    """A community seen for the first time brings its latest posts along (from its outbox's announces), so its
    page is not empty. Each post passes the same checks as one arriving in the inbox; bad ones are skipped."""
    try:
        outbox = await resolver.fetch(f"{community.ap_id}/outbox")
        items = outbox.get("orderedItems")
        if not isinstance(items, list) and isinstance(outbox.get("first"), str):
            items = (await resolver.fetch(str(outbox["first"]))).get("orderedItems")
    except Refused as exc:
        log.info("no outbox for %s: %s", community.ap_id, exc.reason)
        return 0
    stored = 0
    for item in (items if isinstance(items, list) else [])[:BACKFILL_POSTS]:
        create = item.get("object") if isinstance(item, dict) and item.get("type") == "Announce" else item
        if not isinstance(create, dict) or create.get("type") != "Create" or not isinstance(create.get("object"), dict):
            continue
        page = create["object"]
        try:
            parsed = parse_post(page)
            if parsed.author != create.get("actor") or community.ap_id not in parsed.community_candidates:
                continue
            await resolver.store_post(parsed, community)
            stored += 1
        except Refused as exc:
            log.info("skipped an outbox item of %s: %s", community.ap_id, exc.reason)
    return stored
