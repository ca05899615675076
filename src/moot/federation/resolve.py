"""Remote people, communities, posts and comments: found locally, or fetched (through the guard) and stored.

Network I/O happens outside database transactions: a document is fetched first, then stored in a short write.
Reply chains are fetched iteratively, at most 50 deep, within a per-activity fetch budget."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import String, bindparam, exists, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from moot.actions import comments as comment_actions
from moot.actions import posts as post_actions
from moot.actions import previews
from moot.actions.remote import upsert_remote_community, upsert_remote_person
from moot.db.comment import Comment
from moot.db.community import Community
from moot.db.engine import Database
from moot.db.fast_read import Entities, FastRead
from moot.db.federation import ReceivedActivity
from moot.db.person import Person
from moot.db.post import Post
from moot.domain.instances import instance_host
from moot.domain.languages import LANGUAGE_BY_CODE
from moot.domain.timefmt import as_utc, utcnow
from moot.domain.validation import MAX_COMMENT_DEPTH
from moot.federation.fetch import FetchedDocument, FetchError, FetchPolicy, fetch_json
from moot.federation.parse import (
    ParsedActor,
    ParsedComment,
    ParsedPost,
    Refused,
    parse_actor,
    parse_comment,
    parse_post,
    same_host,
)
from moot.queries.defaults import instance_lists
from moot.queries.viewer import RemoteActor
from moot.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
STALE_AFTER = timedelta(days=1)
FETCH_BUDGET = 50
MAX_SUBSCRIBERS = 2**31 - 1  # the column is a 32-bit integer on PostgreSQL


@dataclass(frozen=True, slots=True)
class PostParts:
    parsed: ParsedPost
    author: Person
    community: Community


@dataclass(slots=True)
class CommentParts:
    parsed: ParsedComment
    author: Person
    parent: Post | Comment | None  # None when the comment was already stored (an update)
    post_id: int  # the thread it is (or will be) in
    # Looked for just before the transaction and not found: its first write inserts without looking again (a copy
    # stored meanwhile fails the insert on its unique ap_id, and the transaction runs once more: that one looks).
    unseen: bool = False


# The lookups by ActivityPub id every inbound activity makes, built once (built for each, they cost more Python
# than the database's work).
_AP_ID = bindparam("ap_id", type_=String)
_PERSON_BY_AP_ID = select(Person).where(Person.ap_id == _AP_ID)
_COMMUNITY_BY_AP_ID = select(Community).where(Community.ap_id == _AP_ID)
_POST_BY_AP_ID = select(Post).where(Post.ap_id == _AP_ID)
_COMMENT_BY_AP_ID = select(Comment).where(Comment.ap_id == _AP_ID)
# A comment's own id and what it replies to, each looked up as a post and as a comment: one statement, sent to the
# driver (db/fast_read.py), a row per id with the post's columns and the comment's (the key first: NULL, none).
_POSTS, _COMMENTS = Entities(Post), Entities(Comment)
_WANTED = union_all(
    select(bindparam("wanted_first", type_=String).label("ap_id")),
    select(bindparam("wanted_second", type_=String).label("ap_id")),
).subquery("wanted")
_TWO_OBJECTS = FastRead(
    select(*_POSTS.columns, *_COMMENTS.columns).select_from(
        _WANTED.outerjoin(Post, Post.ap_id == _WANTED.c.ap_id).outerjoin(Comment, Comment.ap_id == _WANTED.c.ap_id)
    )
)
# Every inbound activity's first read (`Resolver.first_read`): the sender as stored, as a person or as a community
# (its key; a person is mostly the author too, a community the announcing group), whether the activity was
# received and, for an Announce, the actor of the activity it carries and whether that was received: a LEFT JOIN
# from one row, so the flags come back when nothing is stored (each entity's columns with its key first: NULL, none
# stored). For a reply carried whole, the same from the two ids `_TWO_OBJECTS` reads, with their rows: one
# statement where there were up to five.
_SENDERS, _SENDER_GROUPS = Entities(Person), Entities(Community)
_SENDER = bindparam("sender", type_=String)
_INNER_ACTOR = aliased(Person, name="inner_actor")
_INNER_ACTORS = Entities(_INNER_ACTOR)
_FLAGS = (
    exists().where(ReceivedActivity.ap_id == bindparam("received_id", type_=String)).label("received"),
    exists().where(ReceivedActivity.ap_id == bindparam("inner_id", type_=String)).label("inner_received"),
)
_ONE_ROW = select(literal(1).label("one")).subquery("one_row")
_SENDER_AND_RECEIVED = FastRead(
    select(*_SENDERS.columns, *_SENDER_GROUPS.columns, *_INNER_ACTORS.columns, *_FLAGS).select_from(
        _ONE_ROW.outerjoin(Person, Person.ap_id == _SENDER)
        .outerjoin(Community, Community.ap_id == _SENDER)
        .outerjoin(_INNER_ACTOR, _INNER_ACTOR.ap_id == bindparam("inner_actor", type_=String))
    )
)
_SENDER_RECEIVED_AND_TWO_OBJECTS = FastRead(
    select(
        *_SENDERS.columns, *_SENDER_GROUPS.columns, *_INNER_ACTORS.columns, *_FLAGS, *_POSTS.columns, *_COMMENTS.columns
    ).select_from(
        _WANTED.outerjoin(Person, Person.ap_id == _SENDER)
        .outerjoin(Community, Community.ap_id == _SENDER)
        .outerjoin(_INNER_ACTOR, _INNER_ACTOR.ap_id == bindparam("inner_actor", type_=String))
        .outerjoin(Post, Post.ap_id == _WANTED.c.ap_id)
        .outerjoin(Comment, Comment.ap_id == _WANTED.c.ap_id)
    )
)


@dataclass(frozen=True, slots=True)
class FirstRead:
    """What an inbound activity's first read looks for besides its sender and its own id (`Resolver.first_read`):
    the id and the actor of the activity an Announce carries, and two ids looked up as posts and as comments (a
    reply's own id and what it replies to; a vote's object, twice)."""

    inner_id: str | None = None
    inner_actor: str | None = None
    objects: tuple[str, str] | None = None


@dataclass(slots=True)
class Resolver:
    """One per incoming activity (or resolve request): carries the fetch budget."""

    db: Database
    settings: Settings
    policy: FetchPolicy
    budget: int = FETCH_BUDGET
    fetched: list[str] = field(default_factory=list)
    # People as stored when this activity first asked (store_person replaces an entry with what it wrote).
    people: dict[str, Person | None] = field(default_factory=dict)
    # Communities as stored when this activity first asked (store_community replaces an entry with what it wrote).
    groups: dict[str, Community | None] = field(default_factory=dict)
    # What `first_read` found for two ids, kept for the one `find_two_objects` that asks for them (and for
    # `find_object`, of an object found).
    read_ahead: tuple[tuple[str, str], dict[str, Post | Comment]] | None = None
    # Whether the activity an Announce carries was received, as `first_read` found it (asked once).
    inner_received: tuple[str, bool] | None = None

    def is_local(self, url: str) -> bool:
        return urlsplit(url).netloc.lower() == self.settings.domain

    async def check_permitted(self, url: str) -> FetchPolicy:
        """Nothing is fetched from a blocked instance, or from one outside the allowlist when there is one.
        Returns the policy to fetch `url` with: a redirect is held to the same lists."""
        async with self.db.read() as session:
            lists = await instance_lists(session)
        if not lists.permits(url):
            raise Refused(f"{instance_host(url)} is blocked or not in the allowlist")
        return replace(self.policy, permits_url=lists.permits)

    async def fetch(self, url: str) -> dict[str, Any]:
        return (await self.fetch_document(url)).data

    async def fetch_document(self, url: str) -> FetchedDocument:
        """The document at `url`, through the guard. A server may redirect (once) to where the object lives, as
        Lemmy does for the local URL of a remote object: the document's `url` is then that final address, which
        the guard has checked is the document's id. Ids are compared with it, never with the requested URL."""
        if self.is_local(url):
            raise Refused(f"{url} is local; it is never fetched")
        policy = await self.check_permitted(url)
        if self.budget <= 0:
            raise Refused("fetch budget for this activity is spent")
        self.budget -= 1
        self.fetched.append(url)
        try:
            document = await fetch_json(url, policy)
        except FetchError as exc:
            raise Refused(f"fetching {url} failed: {exc.reason}") from exc
        if document.url != url:
            if self.is_local(document.url):
                # Never store our own objects as remote copies (activitypub-federation refuses this too).
                raise Refused(f"{url} redirected to a local URL")
            await self.check_permitted(document.url)
        return document

    # People and communities

    async def _stored_person(self, ap_id: str) -> Person | None:
        """The stored row, read once per activity: the signature check reads the actor, and the handler then
        asks for the same person as the author (a session and a statement each time, for the same row)."""
        if ap_id not in self.people:
            async with self.db.read() as session:
                await self.read_person(session, ap_id)
        return self.people[ap_id]

    async def _stored_community(self, ap_id: str) -> Community | None:
        """The stored row, read once per activity (the signature check of an Announce reads the group, and its
        handler then asks for the same community)."""
        if ap_id not in self.groups:
            async with self.db.read() as session:
                self.groups[ap_id] = await session.scalar(_COMMUNITY_BY_AP_ID, {"ap_id": ap_id})
        return self.groups[ap_id]

    async def first_read(self, session: AsyncSession, sender: str, received_id: str, ahead: FirstRead) -> bool:
        """Whether the activity `received_id` was received, read with its sender as stored, as a person or a
        community (kept for the rest of the activity) and with what `ahead` names: whether an announced activity
        was received (kept for `received_as_read`) and its actor, two ids as `find_two_objects` will ask for them
        (kept for it and `find_object`). One statement."""
        params = {
            "sender": sender,
            "received_id": received_id,
            "inner_id": ahead.inner_id or "",
            "inner_actor": ahead.inner_actor or "",
        }
        if ahead.objects is None:
            row = await _SENDER_AND_RECEIVED.first(session, params)
            assert row is not None  # a LEFT JOIN from one row: always one
        else:
            wanted = {"wanted_first": ahead.objects[0], "wanted_second": ahead.objects[1]}
            rows = await _SENDER_RECEIVED_AND_TWO_OBJECTS.rows(session, params | wanted)
            objects_at = len(_SENDERS) + len(_SENDER_GROUPS) + len(_INNER_ACTORS) + len(_FLAGS)
            self.read_ahead = (ahead.objects, _objects_of(rows, objects_at))
            row = rows[0]  # two rows from the two ids, the sender and the flags in each
        groups_at = len(_SENDERS)
        inner_actor_at = groups_at + len(_SENDER_GROUPS)
        flags_at = inner_actor_at + len(_INNER_ACTORS)
        self.people[sender] = None if row[0] is None else _SENDERS.detached(row)
        self.groups[sender] = None if row[groups_at] is None else _SENDER_GROUPS.detached(row, groups_at)
        if ahead.inner_actor is not None and ahead.inner_actor not in self.people:
            found = row[inner_actor_at] is not None
            self.people[ahead.inner_actor] = _INNER_ACTORS.detached(row, inner_actor_at) if found else None
        if ahead.inner_id is not None:
            self.inner_received = (ahead.inner_id, bool(row[flags_at + 1]))
        return bool(row[flags_at])

    def received_as_read(self, ap_id: str) -> bool | None:
        """Whether `ap_id` was received, as the first read found it (None: it did not look); asked once."""
        if self.inner_received is None or self.inner_received[0] != ap_id:
            return None
        received = self.inner_received[1]
        self.inner_received = None
        return received

    async def read_person(self, session: AsyncSession, ap_id: str) -> None:
        """Reads the stored row in the caller's session (one it opens anyway), kept for the rest of the activity."""
        self.people[ap_id] = await session.scalar(_PERSON_BY_AP_ID, {"ap_id": ap_id})

    async def person(self, ap_id: str, refresh: bool = False) -> Person:
        found = await self._stored_person(ap_id)
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
                published=_time(actor.published),
                updated=_time(actor.updated),
            )
            person.inbox_url = actor.inbox
            person.shared_inbox_url = actor.shared_inbox
            person.public_key = actor.public_key_pem
            person.bio = actor.summary
            person.avatar = actor.icon
            person.banner = actor.banner
            person.bot_account = actor.bot
            await previews.record_actor_images(session, self.settings, actor.icon, actor.banner, actor.summary)
        self.people[actor.ap_id] = person
        return person

    async def community(self, ap_id: str, refresh: bool = False) -> Community:
        found = await self._stored_community(ap_id)
        if found is not None and (found.local or (not refresh and not _stale(found.last_refreshed_at))):
            return found
        if found is None and self.is_local(ap_id):
            raise Refused(f"no local community {ap_id}")
        actor = parse_actor(await self.fetch(ap_id), expected_id=ap_id)
        if actor.kind != "Group":
            raise Refused(f"{ap_id} is not a community")
        return await self.store_community(actor)

    async def store_community(self, actor: ParsedActor) -> Community:
        subscribers = await self.followers_total(actor)
        async with self.db.write() as session:
            community = await upsert_remote_community(
                session,
                ap_id=actor.ap_id,
                name=actor.name,
                domain=urlsplit(actor.ap_id).netloc.lower(),
                title=actor.display_name or actor.name,
                published=_time(actor.published),
                updated=_time(actor.updated),
                subscribers=subscribers,
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
            await previews.record_actor_images(session, self.settings, actor.icon, actor.banner, actor.summary)
        self.groups[actor.ap_id] = community
        return community

    async def followers_total(self, actor: ParsedActor) -> int | None:
        """`totalItems` of a community's followers collection, fetched with the community (as Lemmy 0.19 does):
        its subscribers as its home server counts them. None when it cannot be had: the collection is optional
        (Lemmy ignores its errors too), so the community is stored all the same and keeps its last count."""
        if actor.followers is None:
            return None
        try:
            if not same_host(actor.followers, actor.ap_id):
                raise Refused("it is on another host than the community")
            collection = await self.fetch(actor.followers)
            # The fetch checked that the id is the final URL; a redirect must not have left the community's host.
            if not same_host(str(collection.get("id")), actor.ap_id):
                raise Refused("it was redirected to another host")
        except Refused as exc:
            log.info("no followers collection for %s: %s", actor.ap_id, exc.reason)
            return None
        total = collection.get("totalItems")
        if type(total) is not int or not 0 <= total <= MAX_SUBSCRIBERS:
            log.info("the followers collection of %s has no usable totalItems", actor.ap_id)
            return None
        return total

    async def actor_key(self, ap_id: str, refresh: bool = False) -> tuple[str, str | None]:
        """(kind, public key PEM) of a person or community, fetched when unknown or when asked to refresh."""
        person = await self._stored_person(ap_id)
        if not refresh and person is not None and person.public_key:
            return "person", person.public_key
        if person is None:
            community = await self._stored_community(ap_id)
            if not refresh and community is not None and community.public_key:
                return "community", community.public_key
        actor = parse_actor(await self.fetch(ap_id), expected_id=ap_id)
        if actor.kind == "Group":
            return "community", (await self.store_community(actor)).public_key
        return "person", (await self.store_person(actor)).public_key

    # Posts and comments

    async def find_two_objects(self, first: str, second: str) -> dict[str, Post | Comment]:
        """The stored posts and comments of the two ids, by id (a post first, as `find_object` has it): one
        statement, or none when the activity's first read read them (`first_read`)."""
        if self.read_ahead is not None and self.read_ahead[0] == (first, second):
            found = self.read_ahead[1]
            self.read_ahead = None  # read once: a later lookup (after a write) reads again
            return found
        async with self.db.read() as session:
            rows = await _TWO_OBJECTS.rows(session, {"wanted_first": first, "wanted_second": second})
        return _objects_of(rows)

    async def find_object(self, ap_id: str) -> Post | Comment | None:
        """The stored post or comment of the id (a post first). One the activity's first read found is taken from
        it (and left there for `find_two_objects`): a stored object does not go away within the activity, where
        one found missing may be stored by it (so that is read again)."""
        if self.read_ahead is not None and ap_id in self.read_ahead[1]:
            return self.read_ahead[1][ap_id]
        async with self.db.read() as session:
            post = await session.scalar(_POST_BY_AP_ID, {"ap_id": ap_id})
            if post is not None:
                return post
            return await session.scalar(_COMMENT_BY_AP_ID, {"ap_id": ap_id})

    async def community_of(self, parsed: ParsedPost) -> Community:
        for candidate in parsed.community_candidates:
            try:
                return await self.community(candidate)
            except Refused:
                continue
        raise Refused("the post names no community we can find")

    # A post or comment is stored in two steps: its parts are found or fetched first (author, community, the
    # thread it replies to: network I/O, each stored on its own), then one short write creates or updates the
    # object itself by `ap_id`. The inbox runs that write inside the activity's own transaction.

    async def post_parts(self, parsed: ParsedPost, community: Community | None = None) -> PostParts:
        author = await self.person(parsed.author)
        return PostParts(parsed, author, community or await self.community_of(parsed))

    async def comment_parts(self, parsed: ParsedComment) -> CommentParts:
        author = await self.person(parsed.author)
        # The comment (when this is an update) and what it replies to, looked up together.
        found = await self.find_two_objects(parsed.ap_id, parsed.in_reply_to)
        existing = found.get(parsed.ap_id)
        if isinstance(existing, Post):
            raise Refused(f"{parsed.ap_id} is already a post")
        if existing is not None:
            return CommentParts(parsed, author, None, existing.post_id)
        parent = found.get(parsed.in_reply_to) or await self.object(parsed.in_reply_to)
        return CommentParts(
            parsed, author, parent, parent.id if isinstance(parent, Post) else parent.post_id, unseen=True
        )

    async def write_post(self, session: AsyncSession, parts: PostParts) -> Post:
        """Create or update by `ap_id`, in the caller's transaction. An update that says nothing new changes
        nothing (a redelivery, or the loser of two concurrent stores, never marks the post edited)."""
        parsed, actor = parts.parsed, RemoteActor(person=parts.author)
        existing = await session.scalar(_POST_BY_AP_ID, {"ap_id": parsed.ap_id})
        if existing is not None:
            if existing.creator_id != parts.author.id:
                raise Refused("an update of a post by someone other than its author")
            changes: dict[str, object] = {"name": parsed.title, "body": parsed.body or "", "nsfw": parsed.nsfw}
            if parsed.url:
                changes["url"] = parsed.url
            current = {"name": existing.name, "body": existing.body or "", "nsfw": existing.nsfw, "url": existing.url}
            if all(current.get(key) == value for key, value in changes.items()) or _older(parsed.updated, existing):
                return existing
            return await post_actions.edit_post(
                session, actor, existing.id, changes, updated=_time(parsed.updated), settings=self.settings
            )
        if await session.scalar(select(Comment.id).where(Comment.ap_id == parsed.ap_id)) is not None:
            raise Refused(f"{parsed.ap_id} is already a comment")
        return await post_actions.create_post(
            session,
            self.settings,
            actor,
            community_id=parts.community.id,
            name=parsed.title,
            url=parsed.url,
            body=parsed.body,
            nsfw=parsed.nsfw,
            language_id=_language_id(parsed.language),
            ap_id=parsed.ap_id,
            published=_time(parsed.published),
            updated=_time(parsed.updated),
            alt_text=parsed.alt_text,
            custom_thumbnail=parsed.thumbnail,
        )

    async def write_comment(self, session: AsyncSession, parts: CommentParts) -> Comment:
        """Create or update by `ap_id`, in the caller's transaction (as `write_post`)."""
        parsed, actor = parts.parsed, RemoteActor(person=parts.author)
        language_id = _language_id(parsed.language)
        existing = None
        if parts.unseen:
            parts.unseen = False  # once: a run after a lost race looks
        else:
            existing = await session.scalar(_COMMENT_BY_AP_ID, {"ap_id": parsed.ap_id})
        if existing is not None:
            if existing.creator_id != parts.author.id:
                raise Refused("an update of a comment by someone other than its author")
            same = existing.content == parsed.content and language_id in (None, existing.language_id)
            if same or _older(parsed.updated, existing):
                return existing
            edited, _ = await comment_actions.edit_comment(
                session, self.settings, actor, existing.id, parsed.content, language_id, updated=_time(parsed.updated)
            )
            return edited
        if parts.parent is None:
            raise Refused(f"{parsed.ap_id} was stored and is gone again")
        parent = parts.parent
        comment = (
            await comment_actions.create_comment(
                session,
                self.settings,
                actor,
                post_id=parts.post_id,
                content=parsed.content,
                parent_id=parent.id if isinstance(parent, Comment) else None,
                language_id=language_id,
                ap_id=parsed.ap_id,
                published=_time(parsed.published),
                updated=_time(parsed.updated),
            )
        ).comment
        return comment

    async def write_once(self, change: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """One transaction for `change`. When another request stored the same object at the same moment (an inbox
        delivery racing a resolve_object: the unique `ap_id`), its transaction won and ours rolled back whole;
        it runs once more, now as an update of that row (which changes nothing if it says nothing new)."""
        try:
            async with self.db.write() as session:
                return await change(session)
        except IntegrityError:
            async with self.db.write() as session:
                return await change(session)

    async def store_post(self, parsed: ParsedPost, community: Community | None = None) -> Post:
        parts = await self.post_parts(parsed, community)
        return await self.write_once(lambda session: self.write_post(session, parts))

    async def store_comment(self, parsed: ParsedComment) -> Comment:
        parts = await self.comment_parts(parsed)
        return await self.write_once(lambda session: self.write_comment(session, parts))

    async def object(self, ap_id: str) -> Post | Comment:
        """A post or comment by id: stored, or fetched with its unknown ancestors, top-down, iteratively."""
        found = await self.find_object(ap_id)
        if found is not None:
            return found
        return await self.object_from(await self.fetch_document(ap_id))

    async def object_from(self, document: FetchedDocument) -> Post | Comment:
        """A fetched post or comment, stored with its unknown ancestors. Its id is the address it was finally
        fetched from (after a redirect from another server's local URL), which may be an object we already have."""
        chain: list[dict[str, Any]] = []
        while True:
            data = document.data
            if data.get("id") != document.url:
                raise Refused("fetched object id is not the address it was fetched from")
            known = await self.find_object(document.url)
            if known is not None:  # reached through a redirect, and stored under its own id
                if not chain:
                    return known
                break
            chain.append(data)
            if data.get("type") != "Note" or not data.get("inReplyTo"):
                break
            parent_id = parse_comment(data).in_reply_to
            if await self.find_object(parent_id) is not None:
                break
            if len(chain) > MAX_COMMENT_DEPTH:
                raise Refused("reply chain is deeper than 50")
            document = await self.fetch_document(parent_id)
        stored: Post | Comment | None = None
        for data in reversed(chain):
            if data.get("type") == "Note" and data.get("inReplyTo"):
                stored = await self.store_comment(parse_comment(data))
            else:
                stored = await self.store_post(parse_post(data))
        assert stored is not None
        return stored


def _older(updated: str | None, stored: Post | Comment) -> bool:
    """An Update that is older than what we hold (it arrived after a newer one, or is replayed): ignored, as
    Lemmy ignores it, so that edits delivered out of order end with the newest."""
    moment = _time(updated)
    held = stored.updated or stored.published
    return moment is not None and held is not None and moment < as_utc(held)


def _stale(moment: datetime | None) -> bool:
    return moment is None or utcnow() - as_utc(moment) > STALE_AFTER


def _time(value: str | None) -> datetime | None:
    """An RFC 3339 time of a remote document, kept to the microsecond (so that every server shows the time its
    origin shows); None when absent or unreadable."""
    if value is None or len(value) > 64:
        return None
    try:
        moment = as_utc(datetime.fromisoformat(value.strip().upper()))
    except (ValueError, OverflowError):
        return None
    # A time in the future (a wrong clock, or a trick to stay on top of New) is clamped to now.
    return min(moment, utcnow())


def _language_id(code: str | None) -> int | None:
    if code is None:
        return None
    lang = LANGUAGE_BY_CODE.get(code)
    return lang.id if lang is not None else None


def _objects_of(rows: Sequence[Sequence[Any]], offset: int = 0) -> dict[str, Post | Comment]:
    """The posts and comments of `_TWO_OBJECTS`'s rows (their columns from `offset` on), by id."""
    found: dict[str, Post | Comment] = {}
    for row in rows:
        if row[offset] is not None:
            post = _POSTS.detached(row, offset)
            found.setdefault(post.ap_id, post)
        elif row[offset + len(_POSTS)] is not None:
            comment = _COMMENTS.detached(row, offset + len(_POSTS))
            found.setdefault(comment.ap_id, comment)
    return found
