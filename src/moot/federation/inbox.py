"""The inbox: verify an incoming activity, deduplicate it, and hand it to the same actions the API uses.

Order of checks (cheapest and most decisive first): envelope rules (parse.py), instance lists, not from our
own host, signature by the activity's actor (key refetched once on failure, for rotation), dedup by id.
Then one handler per activity type. Activities by remote people in our communities are re-announced to the
community's followers, exactly as received (FEP-1b12)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import String, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from moot.actions import comments as comment_actions
from moot.actions import communities as community_actions
from moot.actions import federation as federation_actions
from moot.actions import posts as post_actions
from moot.actions.federation import ALIVE_RESOLUTION
from moot.db.comment import Comment
from moot.db.community import Community
from moot.db.engine import Database
from moot.db.federation import ReceivedActivity
from moot.db.person import Person
from moot.db.post import Post
from moot.domain.errors import LemmyError
from moot.domain.instances import instance_host
from moot.domain.visibility import visible_to_other_servers
from moot.federation import outbox
from moot.federation.fetch import FetchError, FetchPolicy, parse_json_object
from moot.federation.inbox_messages import MessageInbox
from moot.federation.inbox_moderation import ModerationInbox, is_removal
from moot.federation.parse import ParsedActivity, Refused, announced_activity, id_of, parse_activity, parse_comment
from moot.federation.parse import parse_post as parse_page
from moot.federation.resolve import FirstRead, Resolver
from moot.federation.signatures import SignatureError, key_owner, parse_signature_header, verify_request
from moot.queries.defaults import instance_lists
from moot.queries.viewer import RemoteActor
from moot.settings import Settings

log = logging.getLogger(__name__)
# The ids an activity is received under: its own, and the Announce's that brought it, outermost first.
Received = tuple[str, ...]
# The write an activity makes, run by `Inbox._apply` in the activity's one transaction.
Change = Callable[[AsyncSession], Awaitable[None]]
# One handler per activity type: (resolver, activity, the announcing community or None, received ids).
Handler = Callable[["Resolver", ParsedActivity, Community | None, Received], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class InboxResult:
    status: int
    message: str


def _domain(url: str) -> str:
    return urlsplit(url).netloc.lower()


def _key_of(key_id: str, actor: str) -> bool:
    """Whether `key_id` names a key of `actor`: `actor#main-key` (Lemmy, Mastodon) or a path below the actor
    (GoToSocial's `actor/main-key`). Only the actor's own stored key is ever used to verify."""
    owner = key_owner(key_id)
    return owner == actor or (owner.startswith(actor.rstrip("/") + "/") and _domain(owner) == _domain(actor))


def own_host_headers(settings: Settings) -> frozenset[str]:
    """The `Host` values a request meant for this server may carry: our domain as configured, with or without
    its port (PieFed signs `Host: moot.test` for `moot.test:18601`; the signature still covers what was sent), and
    with the scheme's default port spelled out. Any other host is refused."""
    domain = settings.domain
    host = instance_host(domain)
    default_port = 443 if settings.tls_enabled else 80
    return frozenset({domain, host, f"{host}:{default_port}"} if domain == host else {domain, host})


class Inbox:
    def __init__(self, db: Database, settings: Settings, policy: FetchPolicy) -> None:
        self.db = db
        self.settings = settings
        self.policy = policy
        self._alive_marked: dict[str, float] = {}  # domain -> when this process last marked it alive
        self._own_hosts = own_host_headers(settings)
        self._handlers: dict[str, Handler] = {
            "Announce": self.on_announce,
            "Create": self.on_create,
            "Update": self.on_update,
            "Like": self.on_like,
            "Dislike": self.on_dislike,
            "Undo": self.on_undo,
            "Delete": self.on_delete,
            "Follow": self.on_follow,
            "Accept": self.on_accept,
            "Reject": self.on_reject,
        }
        # Lock, Add, Remove, Block, Flag; and removals (Delete with `summary`), their Undo, Update{Group}.
        self._moderation = ModerationInbox(self)
        self._handlers.update(self._moderation.handlers())
        # Private messages: ChatMessage and direct Notes in Create/Update, their Delete and Undo{Delete}.
        self._messages = MessageInbox(self)

    async def receive(self, method: str, path_with_query: str, headers: Mapping[str, str], body: bytes) -> InboxResult:
        try:
            # Strict whatever the Content-Type says: depth capped, no duplicate keys, one object.
            activity = parse_activity(parse_json_object(body))
        except (FetchError, Refused) as exc:
            return InboxResult(400, exc.reason if isinstance(exc, Refused) else f"body refused: {exc}")
        if _domain(activity.actor) == self.settings.domain:
            return InboxResult(400, "activities from our own host are never accepted from outside")
        resolver = Resolver(self.db, self.settings, self.policy)
        try:
            seen = await self._first_reads(resolver, activity, headers)
            if seen is None:
                return InboxResult(403, "instance is blocked or not in the allowlist")
            await self._verify(resolver, method, path_with_query, headers, body, activity.actor)
        except (SignatureError, Refused) as exc:
            return InboxResult(401, f"signature refused: {getattr(exc, 'reason', exc)}")
        if seen:
            return InboxResult(200, "already received")
        try:
            await self._mark_alive(activity.actor)
            await self.dispatch(resolver, activity, announced_by=None, received=(activity.ap_id,))
        except Refused as exc:
            log.info("refused %s %s: %s", activity.kind, activity.ap_id, exc.reason)
            return InboxResult(400, exc.reason)
        except LemmyError as exc:
            log.info("activity %s not applied: %s", activity.ap_id, exc.error)
            return InboxResult(400, exc.error)
        return InboxResult(200, "ok")

    def _check_signed_for_us(self, headers: Mapping[str, str], actor: str) -> None:
        """What can be refused without reading anything: the host, and a signature by a key of the actor."""
        if (headers.get("host") or "").lower().rstrip(".") not in self._own_hosts:
            # A request signed for another server must not be replayable here.
            raise SignatureError("the request was not addressed to this host")
        signature = headers.get("signature") or headers.get("authorization", "")
        if not signature:
            raise SignatureError("request is not signed")
        key_id = parse_signature_header(signature.removeprefix("Signature ").strip()).key_id
        if not _key_of(key_id, actor):
            raise SignatureError("the signing key does not belong to the activity's actor")

    async def _first_reads(
        self, resolver: Resolver, activity: ParsedActivity, headers: Mapping[str, str]
    ) -> bool | None:
        """What every activity starts with, in one session (a session costs a pooled connection and round trips of
        its own): the instance lists (kept in memory: no statement, mostly), then, if the sender's instance may
        send and the request was signed for us, the sender as stored (its key, and mostly the author too) and
        whether the activity was received, with a reply's thread when the activity carries one (`first_read`).
        None: the instance is refused."""
        async with self.db.read() as session:
            if not (await instance_lists(session)).permits(activity.actor):
                return None
            self._check_signed_for_us(headers, activity.actor)
            return await resolver.first_read(session, activity.actor, activity.ap_id, _ahead(activity))

    async def _verify(
        self,
        resolver: Resolver,
        method: str,
        path_with_query: str,
        headers: Mapping[str, str],
        body: bytes,
        actor: str,
    ) -> None:
        _, pem = await resolver.actor_key(actor)
        try:
            verify_request(method, path_with_query, headers, body, pem or "")
        except SignatureError:
            # The actor may have rotated its key: fetch it once more and try again.
            _, pem = await resolver.actor_key(actor, refresh=True)
            verify_request(method, path_with_query, headers, body, pem or "")

    async def _instance_allowed(self, actor: str) -> bool:
        async with self.db.read() as session:
            lists = await instance_lists(session)
        return lists.permits(actor)

    async def _seen(self, ap_id: str) -> bool:
        async with self.db.read() as session:
            return await _received(session, ap_id)

    async def _apply(self, received: Received, change: Change | None = None) -> None:
        """The one transaction of an activity: its id (and the announce's around it) recorded as received, the
        change, and the activities the change causes (a re-announce to the community's followers) commit
        together or not at all, so a crash never leaves a change without its announce while the sender's retry
        is answered "already received". What the change needed from elsewhere (authors, the community, the
        thread) was fetched and stored before. A concurrent delivery of the same activity waits on the id's row,
        then finds it received (and changes nothing); a concurrent store of the same object loses on its unique
        key, rolls back whole and runs once more: then it finds the object stored (and updates it)."""
        for attempt in (1, 2):
            try:
                async with self.db.write() as session:
                    fresh = await federation_actions.record_received(session, received)
                    if change is not None and fresh:
                        await change(session)
                return
            except IntegrityError:
                if attempt == 2:
                    raise

    async def _mark_alive(self, actor: str) -> None:
        domain = _domain(actor)
        now = time.monotonic()
        if self._alive_marked.get(domain, -1e9) > now - ALIVE_RESOLUTION.total_seconds():
            return  # written less than a minute ago (by this process): nothing would change
        async with self.db.write() as session:
            await federation_actions.mark_instance_alive(session, domain)
        if len(self._alive_marked) > 10_000:
            self._alive_marked.clear()
        self._alive_marked[domain] = now

    # Dispatch

    async def dispatch(
        self, resolver: Resolver, activity: ParsedActivity, announced_by: Community | None, received: Received
    ) -> None:
        """Hands the activity to its handler (the table below: every type we take, nothing found by name), which
        fetches what it needs and ends in exactly one `_apply`."""
        handler = self._handlers.get(activity.kind)
        if handler is None:
            raise Refused(f"{activity.kind} is not handled yet")
        await handler(resolver, activity, announced_by, received)

    async def on_announce(
        self, resolver: Resolver, activity: ParsedActivity, _by: Community | None, received: Received
    ) -> None:
        if activity.object is not None and activity.inner_kind in ("Page", "Note", "Article"):
            # Announce{Page} is for Mastodon; the Announce{Create} beside it carries the same post.
            return await self._apply(received)
        group = await resolver.community(activity.actor)
        inner = announced_activity(activity)
        if _domain(inner.actor) == self.settings.domain:
            return await self._apply(received)  # our own activity coming back from the community: applied here
        if not await self._instance_allowed(inner.actor):
            raise Refused("the announced activity comes from a blocked instance")
        seen = resolver.received_as_read(inner.ap_id)  # read with the sender, mostly
        if seen or (seen is None and await self._seen(inner.ap_id)):
            return await self._apply(received)
        await self.dispatch(resolver, inner, announced_by=group, received=(*received, inner.ap_id))

    async def on_create(
        self, resolver: Resolver, activity: ParsedActivity, by: Community | None, received: Received
    ) -> None:
        await self._create_or_update(resolver, activity, by, received)

    async def on_update(
        self, resolver: Resolver, activity: ParsedActivity, by: Community | None, received: Received
    ) -> None:
        if activity.inner_kind == "Group":
            return await self._moderation.on_update_group(resolver, activity, by, received)
        await self._create_or_update(resolver, activity, by, received)

    async def _create_or_update(
        self, resolver: Resolver, activity: ParsedActivity, by: Community | None, received: Received
    ) -> None:
        obj = activity.object
        if obj is None:
            obj = await resolver.fetch(activity.object_id or "")
            parse_activity({**activity.raw, "object": obj})  # R2 again, now that the object is known
        if await self._messages.create_or_update(resolver, activity, obj, by, received):
            return  # a private message (never a post or comment)
        if obj.get("type") == "Note" and obj.get("inReplyTo"):
            parsed_comment = parse_comment(obj)
            if by is not None:
                # The group vouches only for its own community (R3): the thread must be one of its posts.
                _same_community(await self._community_of(await resolver.object(parsed_comment.in_reply_to)), by)
            comment_parts = await resolver.comment_parts(parsed_comment)

            async def store_comment(session: AsyncSession) -> None:
                # The comment, then its announce: its thread's post and community are the session's by then (read
                # with the comment's target: no statement of their own). Its counters (the thread's busiest rows)
                # go out with the commit on PostgreSQL (db/engine.py write_at_commit).
                comment = await resolver.write_comment(session, comment_parts)
                await self._announce_if_ours(session, activity, await _community_of_post(session, comment.post_id), by)

            return await self._apply(received, store_comment)
        parsed = parse_page(obj)
        community = by or await resolver.community_of(parsed)
        if by is not None and by.ap_id not in parsed.community_candidates:
            raise Refused("announced post belongs to another community")
        post_parts = await resolver.post_parts(parsed, community)

        async def store_post(session: AsyncSession) -> None:
            post = await resolver.write_post(session, post_parts)
            await self._announce_if_ours(session, activity, post.community_id, by)

        await self._apply(received, store_post)

    async def on_like(
        self, resolver: Resolver, activity: ParsedActivity, by: Community | None, received: Received
    ) -> None:
        await self._vote(resolver, activity, 1, by, received)

    async def on_dislike(
        self, resolver: Resolver, activity: ParsedActivity, by: Community | None, received: Received
    ) -> None:
        await self._vote(resolver, activity, -1, by, received)

    async def _vote(
        self, resolver: Resolver, activity: ParsedActivity, score: int, by: Community | None, received: Received
    ) -> None:
        target = await resolver.find_object(activity.object_id or "")
        if target is None:
            target = await resolver.object(activity.object_id or "")
        await self._set_vote(resolver, activity, target, score, by, received)

    async def _set_vote(
        self,
        resolver: Resolver,
        activity: ParsedActivity,
        target: Post | Comment,
        score: int,
        by: Community | None,
        received: Received,
    ) -> None:
        """The actor's own vote on `target`; through an Announce, only on the announcing community's content."""
        community_id = await self._community_of(target)
        _same_community(community_id, by)
        voter = RemoteActor(person=await resolver.person(activity.actor))

        async def vote(session: AsyncSession) -> None:
            await self._announce_if_ours(session, activity, community_id, by)  # first, as for a comment
            if isinstance(target, Post):
                await post_actions.vote_post(session, voter, target.id, score)
            else:
                await comment_actions.vote_comment(session, voter, target.id, score)

        await self._apply(received, vote)

    async def on_undo(
        self, resolver: Resolver, activity: ParsedActivity, by: Community | None, received: Received
    ) -> None:
        inner = activity.object
        if inner is None:
            raise Refused("Undo must embed the activity it undoes")
        kind = inner.get("type")
        target_id = id_of(inner.get("object"))
        if await self._moderation.on_undo(resolver, activity, by, received):
            return  # a moderator's Undo{Delete} (restore), Undo{Lock} or Undo{Block}
        if kind in ("Like", "Dislike"):
            # Matched by actor and object, never by the inner type (Lemmy's fixture wraps a Like for a Dislike).
            target = await resolver.find_object(target_id or "")
            if target is None:
                return await self._apply(received)
            await self._set_vote(resolver, activity, target, 0, by, received)
        elif kind == "Follow":
            await self._unfollow(activity.actor, target_id or "", received)
        elif kind == "Delete":
            await self._delete(resolver, activity, target_id or "", restore=True, by=by, received=received)
        else:
            raise Refused(f"Undo of {kind} is not handled yet")

    async def on_delete(
        self, resolver: Resolver, activity: ParsedActivity, by: Community | None, received: Received
    ) -> None:
        if is_removal(activity.raw):
            return await self._moderation.removal(resolver, activity, activity.raw, False, by, received)
        await self._delete(resolver, activity, activity.object_id or "", restore=False, by=by, received=received)

    async def _delete(
        self,
        resolver: Resolver,
        activity: ParsedActivity,
        target_id: str,
        restore: bool,
        by: Community | None,
        received: Received,
    ) -> None:
        if target_id == activity.actor:
            if restore:
                return await self._apply(received)  # an account is never restored by federation
            return await self._moderation.account_deletion(activity, by, received)
        if await self._messages.deletion(resolver, activity, target_id, restore, received):
            return  # a private message deleted (or restored) by its author
        if await self._moderation.community_deletion(resolver, activity, target_id, restore, None, False, by, received):
            return  # a community deleted (or restored) by its moderator
        target = await resolver.find_object(target_id)
        if target is None:
            return await self._apply(received)  # never seen: nothing to delete
        author = RemoteActor(person=await resolver.person(activity.actor))
        if target.creator_id != author.person_id:
            raise Refused("only the author deletes (a moderator's removal carries `summary`)")
        community_id = await self._community_of(target)
        _same_community(community_id, by)

        async def delete(session: AsyncSession) -> None:
            try:
                if isinstance(target, Post):
                    await post_actions.delete_post(session, author, target.id, not restore)
                else:
                    await comment_actions.delete_comment(session, author, target.id, not restore)
            except LemmyError as exc:
                if exc.error not in ("couldnt_update_post", "couldnt_update_comment"):
                    raise
                return  # already in that state (checked before anything changed)
            await self._announce_if_ours(session, activity, community_id, by)

        await self._apply(received, delete)

    async def on_follow(
        self, resolver: Resolver, activity: ParsedActivity, _by: Community | None, received: Received
    ) -> None:
        async with self.db.read() as session:
            community = await session.scalar(
                select(Community).where(Community.ap_id == activity.object_id, Community.local.is_(True))
            )
        if community is None:
            raise Refused("follows are accepted for local communities only")
        if not visible_to_other_servers(community):
            raise Refused("couldnt_find_community")  # a local-only community does not exist for other servers
        follower = await resolver.person(activity.actor)

        async def follow(session: AsyncSession) -> None:
            await community_actions.follow_community(session, RemoteActor(person=follower), community.id, True)
            await outbox.accept_follow(session, community, follower, activity.raw)

        await self._apply(received, follow)

    async def _unfollow(self, actor: str, community_ap_id: str, received: Received) -> None:
        async with self.db.read() as session:
            community = await session.scalar(select(Community).where(Community.ap_id == community_ap_id))
            person = await session.scalar(select(Person).where(Person.ap_id == actor))
        if community is None or person is None:
            return await self._apply(received)
        community_id = community.id

        async def unfollow(session: AsyncSession) -> None:
            await community_actions.follow_community(session, RemoteActor(person=person), community_id, False)

        await self._apply(received, unfollow)

    async def on_accept(
        self, resolver: Resolver, activity: ParsedActivity, _by: Community | None, received: Received
    ) -> None:
        """The community accepted one of our people's follows: matched by (person, community), never by id."""
        follow = activity.object
        follower_id = id_of(follow.get("actor")) if follow else None
        if follow is not None and id_of(follow.get("object")) not in (None, activity.actor):
            raise Refused("a community accepts follows of itself only")

        async def accepted(session: AsyncSession) -> None:
            if not await federation_actions.follow_accepted(session, activity.actor, follower_id or ""):
                raise Refused("Accept of a follow we did not send")

        await self._apply(received, accepted)

    async def on_reject(
        self, resolver: Resolver, activity: ParsedActivity, _by: Community | None, received: Received
    ) -> None:
        follow = activity.object
        follower_id = id_of(follow.get("actor")) if follow else None

        async def rejected(session: AsyncSession) -> None:
            await federation_actions.follow_rejected(session, activity.actor, follower_id or "")

        await self._apply(received, rejected)

    # Helpers

    async def _community_of(self, target: Post | Comment) -> int:
        if isinstance(target, Post):
            return target.community_id
        async with self.db.read() as session:
            return await _community_of_post(session, target.post_id)

    async def _announce_if_ours(
        self, session: AsyncSession, activity: ParsedActivity, community_id: int, by: Community | None
    ) -> None:
        """Something a remote person did in one of our communities goes on to the community's followers, in the
        transaction that applies it. Every change an activity makes in a community passes here: in a local-only
        one it is refused, and the transaction with it (Lemmy's can_accept_activity_in_community)."""
        if by is not None:
            return
        await _announce_in(session, activity, await session.get(Community, community_id))


# Built once: every activity asks it (session.get built its statement anew each time).
_RECEIVED_ID = bindparam("received_id", type_=String)
_RECEIVED = select(ReceivedActivity.ap_id).where(ReceivedActivity.ap_id == _RECEIVED_ID)


def _ahead(activity: ParsedActivity) -> FirstRead:
    """What the activity's handler will look up that its first read can read with the sender: the id of the
    activity an Announce carries (was it received?) and its actor (stored?), and the objects of a Create or Update
    carrying a reply whole (the reply's id and what it replies to: `Resolver.comment_parts`) or of a vote (what it
    votes on: `Inbox._vote`), itself or announced."""
    inner_id: str | None = None
    inner_actor: str | None = None
    kind: object = activity.kind
    note: object = activity.object if activity.object is not None else activity.object_id
    if activity.kind == "Announce" and activity.object is not None:
        carried = activity.object
        inner_id, inner_actor = _text(carried.get("id")), _text(carried.get("actor"))
        kind, note = carried.get("type"), carried.get("object")
    objects = None
    if kind in ("Create", "Update") and isinstance(note, dict) and note.get("type") == "Note":
        note_id, in_reply_to = _text(note.get("id")), _text(note.get("inReplyTo"))
        objects = (note_id, in_reply_to) if note_id is not None and in_reply_to is not None else None
    elif kind in ("Like", "Dislike") and (voted := _text(id_of(note))) is not None:
        objects = (voted, voted)
    return FirstRead(inner_id, inner_actor, objects)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


async def _received(session: AsyncSession, ap_id: str) -> bool:
    return await session.scalar(_RECEIVED, {"received_id": ap_id}) is not None


async def _announce_in(session: AsyncSession, activity: ParsedActivity, community: Community | None) -> None:
    if community is not None and not visible_to_other_servers(community):
        raise Refused("couldnt_find_community")
    if community is not None and community.local:
        await outbox.announce_received(session, community, activity.raw)


async def _community_of_post(session: AsyncSession, post_id: int) -> int:
    """The post's community's id: the session's copy of the post when it holds one (no statement)."""
    post = await session.get(Post, post_id)
    assert post is not None
    return post.community_id


def _same_community(community_id: int, by: Community | None) -> None:
    """R3: an announcing group vouches for activities in its own community, nowhere else."""
    if by is not None and community_id != by.id:
        raise Refused("the announced activity is about another community's content")
