"""Federation over HTTP: WebFinger, actors and objects as ActivityPub JSON, collections, and the inboxes.

Actor and object URLs are the same ones that serve HTML pages (`/c/name`, `/u/name`, `/post/1`, ...). The
`ActivityPubNegotiation` middleware answers requests that ask for ActivityPub JSON and lets the rest through
to the pages, so neither side has to know about the other."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from moot.db.community import Community
from moot.db.federation import SentActivity
from moot.domain.validation import as_id, clean_text
from moot.domain.visibility import visible_to_other_servers
from moot.federation import protocol
from moot.federation.outbox import comment_note, origin
from moot.federation.protocol import ACTIVITY_JSON, CONTEXT
from moot.http.state import AppState, state_of
from moot.queries import activitypub as ap_queries
from moot.queries.defaults import site_switches

router = APIRouter()
AP_TYPES = ("application/activity+json", "application/ld+json")
PAGE_SIZE = 20


def wants_activitypub(accept: str) -> bool:
    return any(t in accept.lower() for t in AP_TYPES)


def ap_response(body: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status_code=status,
        media_type=ACTIVITY_JSON,
        headers={"Vary": "Accept"},
    )


def _not_found() -> Response:
    return ap_response({"error": "not_found"}, 404)


# WebFinger


@router.get("/.well-known/webfinger")
async def webfinger(resource: str = "", state: AppState = Depends(state_of)) -> Response:
    """`acct:name@host` for people and communities (which may share a name: the community link comes last),
    `acct:host@host` for the site actor."""
    match = re.fullmatch(r"(?:acct:)?@?([^@\s]+)@([^@\s]+)", resource.strip())
    if match is None or match.group(2).lower() != state.settings.domain:
        return JSONResponse({"error": "not_found"}, status_code=404)
    name = match.group(1)
    links: list[dict[str, Any]] = []
    async with state.db.read() as session:
        if not (await site_switches(session)).federation_enabled:
            # Lemmy mounts WebFinger only while it federates.
            return JSONResponse({"error": "not_found"}, status_code=404)
        if name.lower() == state.settings.domain.split(":")[0] or name.lower() == state.settings.domain:
            site = await ap_queries.site(session)
            if site is not None:
                links.append(_self_link(site.ap_id, "Application"))
        person = await ap_queries.local_person(session, name, include_deleted=False)
        if person is not None:
            links.append({"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": person.ap_id})
            links.append(_self_link(person.ap_id, "Person"))
        community = await ap_queries.discoverable_community(session, name)
        if community is not None:
            links.append({"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": community.ap_id})
            links.append(_self_link(community.ap_id, "Group"))
    if not links:
        return JSONResponse({"error": "not_found"}, status_code=404)
    return JSONResponse(
        {"subject": f"acct:{name}@{state.settings.domain}", "links": links}, media_type="application/jrd+json"
    )


def _self_link(href: str, kind: str) -> dict[str, Any]:
    return {
        "rel": "self",
        "type": ACTIVITY_JSON,
        "href": href,
        "properties": {"https://www.w3.org/ns/activitystreams#type": kind},
    }


# Inboxes


async def _inbox(request: Request, state: AppState) -> Response:
    if state.inbox is None:
        return _federation_disabled()
    # The activity's reads (the switch, the sender, what it refers to) share one session and connection; its
    # write, and any fetch from its server, give the connection back first.
    body = await request.body()  # first: no connection is held while the sender sends it
    async with state.db.shared_reads():
        async with state.db.read() as session:
            if not (await site_switches(session)).federation_enabled:
                return _federation_disabled()  # the admin's switch: nothing is received, not even verified
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        result = await state.inbox.receive(request.method, path, request.headers, body)
    return JSONResponse({"status": result.message}, status_code=result.status)


@router.post("/inbox")
async def shared_inbox(request: Request, state: AppState = Depends(state_of)) -> Response:
    return await _inbox(request, state)


@router.post("/c/{name}/inbox")
async def community_inbox(name: str, request: Request, state: AppState = Depends(state_of)) -> Response:
    return await _inbox(request, state)


@router.post("/u/{name}/inbox")
async def person_inbox(name: str, request: Request, state: AppState = Depends(state_of)) -> Response:
    return await _inbox(request, state)


# ActivityPub GETs, reached through the negotiation middleware


async def ap_get(state: AppState, path: str) -> Response | None:
    """The ActivityPub answer for `path`, or None when the path is not an ActivityPub object."""
    if clean_text(path) != path:
        return _not_found()  # a control character: no object of ours is named so (and PostgreSQL refuses NUL)
    parts = [p for p in path.split("/") if p]
    base = state.settings.base_url
    async with state.db.read() as session:
        if not (await site_switches(session)).federation_enabled:
            return _federation_disabled()
        if not parts:
            site = await ap_queries.site(session)
            return ap_response(protocol.site_json(site, state.settings.domain)) if site else _not_found()
        if parts[0] in ("u", "c") and len(parts) == 2 and "@" in parts[1]:
            name, _, host = parts[1].partition("@")
            if host.lower() != state.settings.domain:
                return await _remote_actor(session, parts[0], parts[1], state.settings.domain)
            parts[1] = name  # `name@` our own host is the local actor
        if parts[0] == "u" and len(parts) >= 2:
            person = await ap_queries.local_person(session, parts[1])
            if person is None:
                return _not_found()
            if person.deleted:
                return ap_response(protocol.tombstone(person.ap_id), 410)
            if len(parts) == 2:
                return ap_response(protocol.person_json(person, f"{base}/inbox"))
            if parts[2] == "outbox":
                return ap_response(_collection(f"{person.ap_id}/outbox", []))
            return None
        if parts[0] == "c" and len(parts) >= 2:
            community = await ap_queries.local_community(session, parts[1])
            if community is None or not visible_to_other_servers(community):
                return _not_found()  # a local-only community does not exist for other servers (as Lemmy)
            if community.deleted or community.removed:
                return ap_response(protocol.tombstone(community.ap_id), 410)
            if len(parts) == 2:
                languages = await ap_queries.community_languages(session, community.id)
                return ap_response(protocol.group_json(community, f"{base}/inbox", languages))
            return await _community_collection(session, community, parts[2])
        if parts[0] in ("post", "comment") and len(parts) == 2 and parts[1].isdigit():
            object_id = as_id(parts[1])
            return _not_found() if object_id is None else await _object(session, parts[0], object_id)
        if parts[0] == "activities" and len(parts) == 3:
            activity = await ap_queries.sent_activity(session, f"{base}{path}")
            if activity is None or not await _activity_visible(session, activity):
                return _not_found()
            return ap_response(json.loads(activity.data))
    return None


def _collection(ap_id: str, items: list[Any], kind: str = "OrderedCollection") -> dict[str, Any]:
    return {"@context": CONTEXT, "type": kind, "id": ap_id, "totalItems": len(items), "orderedItems": items}


async def _community_collection(session: Any, community: Community, name: str) -> Response | None:
    if name == "followers":
        total = await ap_queries.follower_count(session, community.id)
        return ap_response(
            {
                "@context": CONTEXT,
                "type": "Collection",
                "id": f"{community.ap_id}/followers",
                "totalItems": total,
                "items": [],
            }
        )
    if name == "moderators":
        mods = await ap_queries.moderator_ids(session, community.id)
        return ap_response(_collection(f"{community.ap_id}/moderators", mods))
    if name in ("outbox", "featured"):
        rows = await ap_queries.community_posts(
            session, community.id, featured_only=name == "featured", limit=PAGE_SIZE
        )
        items: list[Any] = []
        for post, creator in rows:
            page = protocol.page_json(post, creator, community)
            if name == "featured":
                items.append(page)
                continue
            create = protocol.activity(
                origin(community.ap_id),
                "Create",
                creator.ap_id,
                page,
                to=[protocol.PUBLIC],
                cc=[community.ap_id],
                audience=community.ap_id,
            )
            items.append(protocol.announce(origin(community.ap_id), community, create))
        return ap_response(_collection(f"{community.ap_id}/{name}", items))
    return None


async def _remote_actor(session: Any, kind: str, handle: str, domain: str) -> Response:
    """`/u/name@host` and `/c/name@host`, the local URLs of remote actors (our pages link them so): redirected to
    the actor's own id, where it lives, as Lemmy redirects its local URLs of remote posts and comments."""
    actor = await ap_queries.actor_by_handle(session, kind, handle, domain)
    return _redirect(actor.ap_id) if actor is not None and not actor.local else _not_found()


def _redirect(ap_id: str) -> Response:
    """A remote object asked for at its local URL: its origin is where it lives (Lemmy answers 308 too)."""
    return Response(status_code=308, headers={"Location": ap_id})


def _hidden(community: Community) -> bool:
    """Content of a community that other servers must not see (Lemmy's check_community_public)."""
    return not visible_to_other_servers(community) or community.deleted or community.removed


def _federation_disabled() -> Response:
    return ap_response({"error": "federation_disabled"}, 403)


def _audience(data: dict[str, Any]) -> str | None:
    """The community an activity is about: its `audience`, or its object's (an Announce carries the inner
    activity), the way Lemmy addresses everything in a community."""
    node: Any = data
    while isinstance(node, dict):
        audience = node.get("audience")
        if isinstance(audience, str):
            return audience
        node = node.get("object")
    return None


def _about_private_message(data: dict[str, Any]) -> bool:
    """Create / Update / Delete / Undo{Delete} of a private message (a `ChatMessage`, or the id of one of ours)."""
    node: Any = data
    while isinstance(node, dict):
        if node.get("type") == "ChatMessage":
            return True
        node = node.get("object")
    return isinstance(node, str) and urlsplit(node).path.startswith("/private_message/")


async def _activity_visible(session: Any, activity: SentActivity) -> bool:
    """An activity we sent is served again only while its community may still be seen by other servers (it may
    have become local-only since); one about a private message never, nor a report (`Flag`: who reported what,
    for the community's moderators only), as Lemmy's `sensitive` activities."""
    data = json.loads(activity.data)
    if _about_private_message(data) or data.get("type") == "Flag":
        return False
    audience = _audience(data)
    if audience is None:
        return True
    community = await ap_queries.local_community_by_ap_id(session, audience)
    return community is None or visible_to_other_servers(community)


async def _object(session: Any, kind: str, object_id: int) -> Response:
    if kind == "post":
        found = await ap_queries.post_in_community(session, object_id)
        if found is None or _hidden(found[1]):
            return _not_found()
        post, community, creator = found
        if not post.local:
            return _redirect(post.ap_id)
        if post.deleted or post.removed:
            return ap_response(protocol.tombstone(post.ap_id), 410)
        return ap_response(protocol.page_json(post, creator, community))
    found_comment = await ap_queries.comment_in_community(session, object_id)
    if found_comment is None or _hidden(found_comment[1]):
        return _not_found()
    comment, community, creator = found_comment
    if not comment.local:
        return _redirect(comment.ap_id)
    if comment.deleted or comment.removed:
        return ap_response(protocol.tombstone(comment.ap_id), 410)
    note, _ = await comment_note(session, comment, creator, community)
    return ap_response(note)


_AP_PATH = re.compile(
    r"^/(?:$|u/[^/]+(?:/outbox)?$|c/[^/]+(?:/(?:followers|outbox|moderators|featured))?$|"
    r"post/\d+$|comment/\d+$|activities/[a-z]+/[0-9a-fA-F-]+$)"
)


class ActivityPubNegotiation:
    """GETs of actor and object URLs that ask for ActivityPub JSON are answered here; all else passes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and _AP_PATH.match(scope["path"]):
            headers = dict(scope.get("headers", []))
            accept = headers.get(b"accept", b"").decode("latin-1")
            if wants_activitypub(accept):
                state: AppState = scope["app"].state.moot
                response = await ap_get(state, scope["path"])
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
