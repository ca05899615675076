"""Hostile servers against real Moot processes: forged, spoofed, replayed and oversized activities are refused
with the right status and leave nothing behind; plus what Moot serves to peers (WebFinger, NodeInfo, actors,
objects, collections) and the SSRF guard of a server that is not in debug mode.

The attacker is this test: it serves its actors (with their public keys) from a small HTTP server of its own on
127.0.0.5, signs requests with moot.federation.signatures.sign_request and sends them with httpx."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from conftest import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    DatabaseUnderTest,
    ServerProcess,
    drop_database,
    free_port,
    make_database,
    start_server,
    stop_server,
    unique,
)
from moot.domain.keys import KeyPair, generate_keypair
from moot.federation.parse import parse_actor
from moot.federation.signatures import digest_header, sign_request

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AP = "application/activity+json"
DEBUG_ENV = {"MOOT_FEDERATION_DEBUG": "true", "MOOT_RUN_JOBS": "false"}
PROD_ENV = {"MOOT_FEDERATION_DEBUG": "false", "MOOT_RUN_JOBS": "false"}


# ------------------------------------------------------------------ the attacker's own server


@dataclass
class Actor:
    ap_id: str
    keys: KeyPair
    key_id: str

    @property
    def host(self) -> str:
        return self.ap_id.split("/")[2]

    def new_id(self, kind: str) -> str:
        return f"http://{self.host}/activities/{kind.lower()}/{uuid.uuid4()}"


@dataclass
class FakeServer:
    """A tiny ActivityPub server under the test's control: serves documents, records every request."""

    host: str
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    httpd: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.httpd is not None
        return f"http://{self.host}:{self.httpd.server_address[1]}"

    def start(self) -> None:
        self.httpd = ThreadingHTTPServer((self.host, 0), _handler(self))
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()

    def serve(self, path: str, doc: dict[str, Any]) -> str:
        self.docs[path] = doc
        return f"{self.base}{path}"

    def actor(self, name: str, kind: str = "Person", key_suffix: str = "#main-key") -> Actor:
        path = f"/{'c' if kind == 'Group' else 'u'}/{name}"
        actor = Actor(f"{self.base}{path}", generate_keypair(), f"{self.base}{path}{key_suffix}")
        doc: dict[str, Any] = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor.ap_id,
            "type": kind,
            "preferredUsername": name,
            "inbox": f"{actor.ap_id}/inbox",
            "outbox": f"{actor.ap_id}/outbox",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {"id": actor.key_id, "owner": actor.ap_id, "publicKeyPem": actor.keys.public_pem},
        }
        if kind == "Group":
            doc["followers"] = f"{actor.ap_id}/followers"
            doc["attributedTo"] = f"{actor.ap_id}/moderators"
        self.serve(path, doc)
        return actor

    def seen_from(self, base_url: str) -> list[tuple[str, str, str]]:
        """Requests whose User-Agent names `base_url` (Moot's is `Moot/<version> (+<base url>)`)."""
        return [r for r in self.requests if f"(+{base_url})" in r[2]]


def _handler(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.requests.append(("GET", self.path, self.headers.get("User-Agent", "")))
            doc = fake.docs.get(self.path.split("?")[0])
            body = json.dumps(doc).encode() if doc is not None else b'{"error": "not_found"}'
            self.send_response(200 if doc is not None else 404)
            self.send_header("Content-Type", AP)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            fake.requests.append(("POST", self.path, self.headers.get("User-Agent", "")))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


# ------------------------------------------------------------------ the Moot servers under attack


@dataclass
class Node:
    host: str
    port: int
    db: DatabaseUnderTest
    server: ServerProcess

    @property
    def domain(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def base(self) -> str:
        return f"http://{self.domain}"


class Client:
    """The admin of one node, over the v3 API."""

    def __init__(self, node: Node, jwt: str) -> None:
        self.node = node
        self.http = httpx.AsyncClient(base_url=f"{node.base}/api/v3", headers={"Authorization": f"Bearer {jwt}"})

    async def get(self, path: str, **params: Any) -> Any:
        r = await self.http.get(path, params=params)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        r = await self.http.post(path, json=body)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()

    async def put(self, path: str, body: dict[str, Any]) -> Any:
        r = await self.http.put(path, json=body)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()


@dataclass
class World:
    alpha: Node  # the victim, in debug mode so it may fetch from loopback addresses
    beta: Node  # another real server, home of bob
    prod: Node  # NOT in debug mode: its SSRF guard refuses private addresses
    attacker: FakeServer
    blocked: FakeServer  # an instance alpha's admin blocks
    admin: Client  # alpha's admin
    prod_admin: Client
    mallory: Actor
    trent: Actor  # an honest remote person, also on the attacker's server
    evil_group: Actor
    bob: str  # a real person on beta
    community: dict[str, Any]  # a community on alpha
    target: dict[str, Any]  # a post in it, by alpha's admin


def _start(tmp: Any, name: str, host: str, env: dict[str, str]) -> Node:
    db = make_database(tmp.mktemp(name))
    port = free_port()
    return Node(host, port, db, start_server(db, port, env, host=host))


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    started: dict[str, Node] = {}
    try:
        started["alpha"] = _start(tmp_path_factory, "sec_alpha", "127.0.0.6", DEBUG_ENV)
        started["beta"] = _start(tmp_path_factory, "sec_beta", "127.0.0.7", DEBUG_ENV)
        started["prod"] = _start(tmp_path_factory, "sec_prod", "127.0.0.8", PROD_ENV)
        yield started
    finally:
        for node in started.values():
            stop_server(node.server)
            drop_database(node.db)


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeServer, FakeServer]]:
    attacker, blocked = FakeServer("127.0.0.5"), FakeServer("127.0.0.9")
    attacker.start()
    blocked.start()
    yield attacker, blocked
    attacker.stop()
    blocked.stop()


async def login(node: Node) -> Client:
    async with httpx.AsyncClient(base_url=f"{node.base}/api/v3") as http:
        r = await http.post("/user/login", json={"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD})
        assert r.status_code == 200, r.text
    client = Client(node, r.json()["jwt"])
    await client.put(
        "/site",
        {f"rate_limit_{bucket}": 10_000 for bucket in ("register", "post", "search", "message")},
    )
    return client


async def register(node: Node, name: str) -> str:
    async with httpx.AsyncClient(base_url=f"{node.base}/api/v3") as http:
        password = "security-pass-1"
        body = {"username": name, "password": password, "password_verify": password}
        r = await http.post("/user/register", json=body)
        assert r.status_code == 200, r.text
    return f"{node.base}/u/{name}"


@pytest.fixture(scope="module")
async def world(nodes: dict[str, Node], fakes: tuple[FakeServer, FakeServer]) -> World:
    attacker, blocked = fakes
    admin = await login(nodes["alpha"])
    community = (await admin.post("/community", {"name": unique("sec"), "title": "Under attack"}))["community_view"]
    target = await admin.post("/post", {"name": "The target post", "community_id": community["community"]["id"]})
    return World(
        alpha=nodes["alpha"],
        beta=nodes["beta"],
        prod=nodes["prod"],
        attacker=attacker,
        blocked=blocked,
        admin=admin,
        prod_admin=await login(nodes["prod"]),
        mallory=attacker.actor("mallory"),
        trent=attacker.actor("trent"),
        evil_group=attacker.actor("lookalike", kind="Group"),
        bob=await register(nodes["beta"], unique("bob")),
        community=community["community"],
        target=target["post_view"]["post"],
    )


# ------------------------------------------------------------------ building and sending activities


def page(author: Actor | str, community: str, title: str, page_id: str | None = None) -> dict[str, Any]:
    author_id = author.ap_id if isinstance(author, Actor) else author
    host = author_id.split("/")[2]
    return {
        "type": "Page",
        "id": page_id or f"http://{host}/post/{uuid.uuid4().hex[:8]}",
        "attributedTo": author_id,
        "to": [community, PUBLIC],
        "audience": community,
        "name": title,
        "mediaType": "text/html",
        "source": {"content": "body", "mediaType": "text/markdown"},
    }


def create(actor: Actor | str, obj: dict[str, Any], community: str, kind: str = "Create") -> dict[str, Any]:
    actor_id = actor.ap_id if isinstance(actor, Actor) else actor
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"http://{actor_id.split('/')[2]}/activities/{kind.lower()}/{uuid.uuid4()}",
        "type": kind,
        "actor": actor_id,
        "to": [PUBLIC],
        "cc": [community],
        "audience": community,
        "object": obj,
    }


def vote(actor: Actor, target: str, community: str, kind: str = "Like") -> dict[str, Any]:
    return {"id": actor.new_id(kind), "type": kind, "actor": actor.ap_id, "object": target, "audience": community}


def signed(
    url: str,
    activity: dict[str, Any],
    key_id: str,
    private_pem: str,
    now: datetime | None = None,
    content_type: str = AP,
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(activity).encode()
    headers = {"Content-Type": content_type}
    headers.update(sign_request("POST", url, headers, body, key_id, private_pem, now=now))
    return body, headers


def signed_by(actor: Actor, url: str, activity: dict[str, Any], **kw: Any) -> tuple[bytes, dict[str, str]]:
    return signed(url, activity, actor.key_id, actor.keys.private_pem, **kw)


async def send(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(url, content=body, headers=headers)


async def deliver(world: World, actor: Actor, activity: dict[str, Any]) -> httpx.Response:
    url = f"{world.alpha.base}/inbox"
    return await send(url, *signed_by(actor, url, activity))


# ------------------------------------------------------------------ what alpha has stored


async def titles(world: World) -> list[str]:
    data = await world.admin.get("/post/list", community_id=world.community["id"], sort="New", limit=50)
    return [p["post"]["name"] for p in data["posts"]]


async def comment_texts(world: World, post_id: int) -> list[str]:
    data = await world.admin.get("/comment/list", post_id=post_id, max_depth=50, limit=50)
    return [c["comment"]["content"] for c in data["comments"]]


async def votes(world: World, post_id: int) -> tuple[int, int]:
    counts = (await world.admin.get("/post", id=post_id))["post_view"]["counts"]
    return counts["upvotes"], counts["downvotes"]


async def accepted_post(world: World, title: str) -> dict[str, Any]:
    """A post by mallory, delivered properly: the control that proves the refusals are not accidents."""
    activity = create(
        world.mallory, page(world.mallory, world.community["actor_id"], title), world.community["actor_id"]
    )
    response = await deliver(world, world.mallory, activity)
    assert response.status_code == 200, response.text
    data = await world.admin.get("/post/list", community_id=world.community["id"], sort="New", limit=50)
    found = [p for p in data["posts"] if p["post"]["name"] == title]
    assert len(found) == 1
    return dict(found[0])


# ------------------------------------------------------------------ signatures


async def test_properly_signed_create_is_accepted(world: World) -> None:
    view = await accepted_post(world, unique("Honest post"))
    assert view["creator"]["actor_id"] == world.mallory.ap_id
    assert view["post"]["local"] is False


async def test_spoofed_actor_is_refused(world: World) -> None:
    """Signed by mallory, claiming to be bob, a real person on beta: with mallory's key id, and with bob's."""
    community = world.community["actor_id"]
    title = unique("Spoofed")
    activity = create(world.bob, page(world.bob, community, title), community)
    url = f"{world.alpha.base}/inbox"
    response = await send(url, *signed_by(world.mallory, url, activity))
    assert response.status_code == 401, response.text
    assert "does not belong to the activity's actor" in response.text
    response = await send(url, *signed(url, activity, f"{world.bob}#main-key", world.mallory.keys.private_pem))
    assert response.status_code == 401, response.text
    assert "does not verify" in response.text
    assert title not in await titles(world)


async def test_gotosocial_style_key_id_below_the_actor_is_accepted(world: World) -> None:
    tobi = world.attacker.actor(unique("tobi"), key_suffix="/main-key")
    community = world.community["actor_id"]
    title = unique("Sloth post")
    response = await deliver(world, tobi, create(tobi, page(tobi, community, title), community))
    assert response.status_code == 200, response.text
    assert title in await titles(world)
    # A key id below ANOTHER actor is not the signer's, however it is spelled.
    title = unique("Borrowed key")
    activity = create(world.mallory, page(world.mallory, community, title), community)
    url = f"{world.alpha.base}/inbox"
    response = await send(url, *signed(url, activity, f"{tobi.ap_id}/main-key", tobi.keys.private_pem))
    assert response.status_code == 401, response.text
    assert title not in await titles(world)


async def test_forged_signature_is_refused(world: World) -> None:
    community = world.community["actor_id"]
    title = unique("Forged")
    activity = create(world.mallory, page(world.mallory, community, title), community)
    url = f"{world.alpha.base}/inbox"
    response = await send(url, *signed(url, activity, world.mallory.key_id, generate_keypair().private_pem))
    assert response.status_code == 401, response.text
    assert title not in await titles(world)


async def test_replay_with_a_changed_body_is_refused(world: World) -> None:
    community = world.community["actor_id"]
    original, altered = unique("Original"), unique("Altered")
    activity = create(world.mallory, page(world.mallory, community, original), community)
    url = f"{world.alpha.base}/inbox"
    _, headers = signed_by(world.mallory, url, activity)
    activity["object"]["name"] = altered
    response = await send(url, json.dumps(activity).encode(), headers)
    assert response.status_code == 401, response.text
    assert "Digest does not match" in response.text
    assert not {original, altered} & set(await titles(world))


async def test_replay_to_another_inbox_or_host_is_refused(world: World) -> None:
    community = world.community["actor_id"]
    title = unique("Replayed")
    activity = create(world.mallory, page(world.mallory, community, title), community)
    url = f"{world.alpha.base}/inbox"
    body, headers = signed_by(world.mallory, url, activity)
    # Another path of the same server: the signed (request-target) no longer matches.
    response = await send(f"{world.alpha.base}/c/{world.community['name']}/inbox", body, headers)
    assert response.status_code == 401, response.text
    # Another server: the signed Host is not its own.
    response = await send(f"{world.beta.base}/inbox", body, {**headers, "Host": world.beta.domain})
    assert response.status_code == 401, response.text
    response = await send(f"{world.beta.base}/inbox", body, headers)
    assert response.status_code == 401, response.text
    assert title not in await titles(world)


async def test_exact_replay_is_applied_once(world: World) -> None:
    before = await votes(world, world.target["id"])
    activity = vote(world.trent, world.target["ap_id"], community=world.community["actor_id"])
    url = f"{world.alpha.base}/inbox"
    body, headers = signed_by(world.trent, url, activity)
    first = await send(url, body, headers)
    assert first.status_code == 200, first.text
    second = await send(url, body, headers)
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "already received"
    assert await votes(world, world.target["id"]) == (before[0] + 1, before[1])
    # The same post created twice through one replayed Create is stored once.
    title = unique("Once")
    activity = create(world.trent, page(world.trent, world.community["actor_id"], title), world.community["actor_id"])
    body, headers = signed_by(world.trent, url, activity)
    assert (await send(url, body, headers)).status_code == 200
    assert (await send(url, body, headers)).status_code == 200
    assert (await titles(world)).count(title) == 1


async def test_wrong_digest_is_refused(world: World) -> None:
    community = world.community["actor_id"]
    title = unique("Digest")
    activity = create(world.mallory, page(world.mallory, community, title), community)
    url = f"{world.alpha.base}/inbox"
    body, headers = signed_by(world.mallory, url, activity)
    response = await send(url, body, {**headers, "Digest": digest_header(b"something else")})
    assert response.status_code == 401, response.text
    response = await send(url, body, {**headers, "Digest": "SHA-512=" + headers["Digest"].split("=", 1)[1]})
    assert response.status_code == 401, response.text
    assert "no SHA-256" in response.text
    assert title not in await titles(world)


async def test_date_too_old_or_too_far_ahead_is_refused(world: World) -> None:
    community = world.community["actor_id"]
    title = unique("Stale")
    url = f"{world.alpha.base}/inbox"
    for moment in (datetime.now(UTC) - timedelta(hours=2), datetime.now(UTC) + timedelta(hours=2)):
        activity = create(world.mallory, page(world.mallory, community, title), community)
        response = await send(url, *signed_by(world.mallory, url, activity, now=moment))
        assert response.status_code == 401, response.text
        assert "too old" in response.text or "too far in the future" in response.text
    assert title not in await titles(world)


async def test_unsigned_post_is_refused(world: World) -> None:
    community = world.community["actor_id"]
    title = unique("Unsigned")
    body = json.dumps(create(world.mallory, page(world.mallory, community, title), community)).encode()
    for path in ("/inbox", f"/c/{world.community['name']}/inbox", f"/u/{ADMIN_NAME}/inbox"):
        response = await send(f"{world.alpha.base}{path}", body, {"Content-Type": AP})
        assert response.status_code == 401, (path, response.text)
        assert "not signed" in response.text
    assert title not in await titles(world)


# ------------------------------------------------------------------ origin and authorship


async def test_announce_from_the_wrong_community_is_refused(world: World) -> None:
    """A group announcing an activity addressed to another community, or about another community's content."""
    community, group = world.community["actor_id"], world.evil_group
    title = unique("Smuggled")
    inner = create(world.mallory, page(world.mallory, community, title), community)
    announce = {
        "id": group.new_id("Announce"),
        "type": "Announce",
        "actor": group.ap_id,
        "to": [PUBLIC],
        "object": inner,
    }
    response = await deliver(world, group, announce)
    assert response.status_code == 400, response.text
    assert "not the inner activity's community" in response.text
    assert title not in await titles(world)
    # Addressed to itself, but a reply in alpha's community and a vote on alpha's post.
    note = {
        "type": "Note",
        "id": f"{world.mallory.ap_id}/notes/{uuid.uuid4().hex[:8]}",
        "attributedTo": world.mallory.ap_id,
        "to": [PUBLIC],
        "cc": [group.ap_id],
        "inReplyTo": world.target["ap_id"],
        "content": "smuggled reply",
    }
    before = await votes(world, world.target["id"])
    for inner in (
        create(world.mallory, note, group.ap_id),
        vote(world.mallory, world.target["ap_id"], community=group.ap_id),
    ):
        announce = {**announce, "id": group.new_id("Announce"), "object": inner}
        response = await deliver(world, group, announce)
        assert response.status_code == 400, response.text
        assert "another community's content" in response.text
    assert "smuggled reply" not in await comment_texts(world, world.target["id"])
    assert await votes(world, world.target["id"]) == before


async def test_object_on_another_host_than_its_actor_is_refused(world: World) -> None:
    community = world.community["actor_id"]
    title = unique("Elsewhere")
    elsewhere = f"{world.beta.base}/post/{uuid.uuid4().hex[:6]}"
    activity = create(world.mallory, page(world.mallory, community, title, page_id=elsewhere), community)
    response = await deliver(world, world.mallory, activity)
    assert response.status_code == 400, response.text
    assert "another host than the actor" in response.text
    bare = {**create(world.mallory, {}, community), "object": world.target["ap_id"]}
    response = await deliver(world, world.mallory, bare)
    assert response.status_code == 400, response.text
    assert title not in await titles(world)


async def test_create_of_a_note_attributed_to_someone_else_is_refused(world: World) -> None:
    note = {
        "type": "Note",
        "id": f"{world.attacker.base}/comment/{uuid.uuid4().hex[:8]}",
        "attributedTo": world.trent.ap_id,
        "to": [PUBLIC],
        "cc": [world.community["actor_id"]],
        "inReplyTo": world.target["ap_id"],
        "content": "words put in trent's mouth",
    }
    response = await deliver(world, world.mallory, create(world.mallory, note, world.community["actor_id"]))
    assert response.status_code == 400, response.text
    assert "attributed to someone else" in response.text
    assert "words put in trent's mouth" not in await comment_texts(world, world.target["id"])


async def test_undo_of_someone_elses_vote_is_refused(world: World) -> None:
    created = await world.admin.post("/post", {"name": "Vote target", "community_id": world.community["id"]})
    post = created["post_view"]["post"]
    like = vote(world.trent, post["ap_id"], community=world.community["actor_id"])
    assert (await deliver(world, world.trent, like)).status_code == 200
    before = await votes(world, post["id"])
    assert before == (2, 0)  # the author's own vote and trent's
    undo = {"id": world.mallory.new_id("Undo"), "type": "Undo", "actor": world.mallory.ap_id, "object": like}
    response = await deliver(world, world.mallory, undo)
    assert response.status_code == 400, response.text
    assert "Undo of another actor's activity" in response.text
    # Without the inner actor the Undo can only ever reach mallory's own (absent) vote.
    anonymous = {k: v for k, v in like.items() if k != "actor"}
    await deliver(world, world.mallory, {**undo, "id": world.mallory.new_id("Undo"), "object": anonymous})
    assert await votes(world, post["id"]) == before


async def test_delete_of_someone_elses_post_is_refused(world: World) -> None:
    for kind in ("Delete", "Undo"):
        obj: Any = world.target["ap_id"]
        if kind == "Undo":
            obj = {"id": world.mallory.new_id("Delete"), "type": "Delete", "actor": world.mallory.ap_id, "object": obj}
        activity = {"id": world.mallory.new_id(kind), "type": kind, "actor": world.mallory.ap_id, "object": obj}
        response = await deliver(world, world.mallory, {**activity, "to": [PUBLIC]})
        assert response.status_code == 400, response.text
        assert "only the author deletes" in response.text
    post = (await world.admin.get("/post", id=world.target["id"]))["post_view"]["post"]
    assert post["deleted"] is False and post["removed"] is False


async def test_post_in_a_community_restricted_to_moderators_is_refused(world: World) -> None:
    body = {"name": unique("modsonly"), "title": "Announcements", "posting_restricted_to_mods": True}
    community = (await world.admin.post("/community", body))["community_view"]["community"]
    title = unique("Uninvited")
    activity = create(world.mallory, page(world.mallory, community["actor_id"], title), community["actor_id"])
    response = await deliver(world, world.mallory, activity)
    assert response.status_code == 400, response.text
    posts = await world.admin.get("/post/list", community_id=community["id"], sort="New")
    assert title not in [p["post"]["name"] for p in posts["posts"]]


async def test_blocked_instance_is_refused(world: World) -> None:
    eve = world.blocked.actor("eve")
    title = unique("Blocked")
    await world.admin.put("/site", {"blocked_instances": [world.blocked.host]})
    try:
        community = world.community["actor_id"]
        response = await deliver(world, eve, create(eve, page(eve, community, title), community))
        assert response.status_code == 403, response.text
        # Relayed by a group of an allowed instance, it is refused all the same.
        inner = create(eve, page(eve, world.evil_group.ap_id, title), world.evil_group.ap_id)
        announce = {"id": world.evil_group.new_id("Announce"), "type": "Announce", "actor": world.evil_group.ap_id}
        response = await deliver(world, world.evil_group, {**announce, "to": [PUBLIC], "object": inner})
        assert response.status_code == 400, response.text
        assert "blocked instance" in response.text
    finally:
        await world.admin.put("/site", {"blocked_instances": []})
    assert title not in await titles(world)
    assert not world.blocked.seen_from(world.alpha.base)  # alpha never even fetched eve's key


# ------------------------------------------------------------------ size and shape


async def test_huge_body_is_refused(world: World) -> None:
    community = world.community["actor_id"]
    title = unique("Huge")
    obj = page(world.mallory, community, title)
    obj["source"]["content"] = "x" * (1024 * 1024 + 10)
    response = await deliver(world, world.mallory, create(world.mallory, obj, community))
    assert response.status_code == 413, response.text
    assert title not in await titles(world)


async def test_deep_json_nesting_is_refused(world: World) -> None:
    url = f"{world.alpha.base}/inbox"
    deep = b'{"a":' * 1000 + b"1" + b"}" * 1000
    for content_type in (AP, "text/plain", "application/octet-stream"):
        response = await send(url, deep, {"Content-Type": content_type})
        assert response.status_code == 400, (content_type, response.status_code, response.text)
    # Deep inside an otherwise valid, properly signed activity.
    community = world.community["actor_id"]
    title = unique("Deep")
    activity = create(world.mallory, page(world.mallory, community, title), community)
    nested: Any = "bottom"
    for _ in range(40):
        nested = {"n": nested}
    activity["object"]["extra"] = nested
    for content_type in (AP, "text/plain"):
        body, headers = signed_by(world.mallory, url, activity, content_type=content_type)
        response = await send(url, body, headers)
        assert response.status_code == 400, (content_type, response.text)
    assert title not in await titles(world)


# ------------------------------------------------------------------ the SSRF guard outside debug mode


async def test_resolve_of_a_private_address_is_refused(world: World) -> None:
    for q in (
        f"http://127.0.0.1:{world.alpha.port}/u/{ADMIN_NAME}",
        world.mallory.ap_id,
        f"https://{world.attacker.host}/u/mallory",
        f"!lookalike@{world.attacker.host}:{world.attacker.base.rsplit(':', 1)[1]}",
    ):
        response = await world.prod_admin.http.get("/resolve_object", params={"q": q})
        assert response.status_code == 404, (q, response.text)
        assert response.json()["error"] == "couldnt_find_object"
    assert not world.attacker.seen_from(world.prod.base)
    # The same lookup from the debug-mode server does reach the attacker: the guard, not a typo, refused it.
    walter = world.attacker.actor(unique("walter"))
    found = await world.admin.get("/resolve_object", q=walter.ap_id)
    assert found["person"]["person"]["actor_id"] == walter.ap_id
    assert world.attacker.seen_from(world.alpha.base)


async def test_inbox_activity_from_an_actor_on_a_private_address_is_refused(world: World) -> None:
    prod_community = await world.prod_admin.post("/community", {"name": unique("prod"), "title": "Production"})
    community = prod_community["community_view"]["community"]
    title = unique("Private")
    activity = create(world.mallory, page(world.mallory, community["actor_id"], title), community["actor_id"])
    url = f"{world.prod.base}/inbox"
    response = await send(url, *signed_by(world.mallory, url, activity))
    assert response.status_code == 401, response.text
    assert "private address" in response.text or "insecure scheme" in response.text
    posts = await world.prod_admin.get("/post/list", community_id=community["id"], sort="New")
    assert [p["post"]["name"] for p in posts["posts"]] == []
    assert not world.attacker.seen_from(world.prod.base)


# ------------------------------------------------------------------ what Moot serves to its peers


async def ap_get(url: str, accept: str = AP, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.get(url, headers={"Accept": accept}, **kw)


async def webfinger(node: Node, resource: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.get(f"{node.base}/.well-known/webfinger", params={"resource": resource})


def self_links(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (link["href"], link["properties"]["https://www.w3.org/ns/activitystreams#type"])
        for link in data["links"]
        if link["rel"] == "self"
    ]


async def test_webfinger_answers_for_people_communities_and_the_site(world: World) -> None:
    alpha = world.alpha
    response = await webfinger(alpha, f"acct:{ADMIN_NAME}@{alpha.domain}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jrd+json")
    assert response.json()["subject"] == f"acct:{ADMIN_NAME}@{alpha.domain}"
    assert self_links(response.json()) == [(f"{alpha.base}/u/{ADMIN_NAME}", "Person")]
    response = await webfinger(alpha, f"acct:{world.community['name']}@{alpha.domain}")
    assert self_links(response.json()) == [(world.community["actor_id"], "Group")]
    for name in (alpha.host, alpha.domain):
        response = await webfinger(alpha, f"acct:{name}@{alpha.domain}")
        assert response.status_code == 200, name
        assert self_links(response.json()) == [(f"{alpha.base}/", "Application")]
    for resource in (f"acct:nobody_{uuid.uuid4().hex[:6]}@{alpha.domain}", f"acct:{ADMIN_NAME}@elsewhere.example"):
        assert (await webfinger(alpha, resource)).status_code == 404, resource


async def test_webfinger_lists_the_community_last_when_names_collide(world: World) -> None:
    name = unique("twin")
    await register(world.alpha, name)
    await world.admin.post("/community", {"name": name, "title": "Twin"})
    response = await webfinger(world.alpha, f"acct:{name}@{world.alpha.domain}")
    assert response.status_code == 200
    assert self_links(response.json()) == [
        (f"{world.alpha.base}/u/{name}", "Person"),
        (f"{world.alpha.base}/c/{name}", "Group"),
    ]
    assert response.json()["links"][-1]["properties"]["https://www.w3.org/ns/activitystreams#type"] == "Group"


async def test_nodeinfo(world: World) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        links = (await http.get(f"{world.alpha.base}/.well-known/nodeinfo")).json()["links"]
        href = next(link["href"] for link in links if link["rel"].endswith("/schema/2.1"))
        assert href == f"{world.alpha.base}/nodeinfo/2.1"
        info = (await http.get(href)).json()
    assert info["version"] == "2.1"
    assert info["software"]["name"] == "moot"
    assert info["software"]["version"].startswith("0.19.")
    assert info["protocols"] == ["activitypub"]
    assert info["usage"]["users"]["total"] >= 1
    assert info["usage"]["localPosts"] >= 1
    assert isinstance(info["openRegistrations"], bool)


async def test_actor_documents(world: World) -> None:
    base = world.alpha.base
    person = (await ap_get(f"{base}/u/{ADMIN_NAME}")).json()
    parsed = parse_actor(person, expected_id=f"{base}/u/{ADMIN_NAME}")
    assert (parsed.kind, parsed.name, parsed.shared_inbox) == ("Person", ADMIN_NAME, f"{base}/inbox")
    assert person["publicKey"]["id"] == f"{base}/u/{ADMIN_NAME}#main-key"
    assert person["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert person["outbox"] == f"{base}/u/{ADMIN_NAME}/outbox"
    group_id = world.community["actor_id"]
    group = (await ap_get(group_id)).json()
    parsed = parse_actor(group, expected_id=group_id)
    assert parsed.kind == "Group"
    assert (parsed.followers, parsed.moderators) == (f"{group_id}/followers", f"{group_id}/moderators")
    assert (parsed.featured, parsed.outbox) == (f"{group_id}/featured", f"{group_id}/outbox")
    assert group["postingRestrictedToMods"] is False and group["sensitive"] is False
    site = (await ap_get(f"{base}/")).json()
    parsed = parse_actor(site, expected_id=f"{base}/")
    assert (parsed.kind, parsed.inbox) == ("Application", f"{base}/inbox")
    moderators = (await ap_get(f"{group_id}/moderators")).json()
    assert moderators["type"] == "OrderedCollection" and moderators["orderedItems"] == [f"{base}/u/{ADMIN_NAME}"]
    followers = (await ap_get(f"{group_id}/followers")).json()
    assert followers["type"] == "Collection" and isinstance(followers["totalItems"], int)
    featured = (await ap_get(f"{group_id}/featured")).json()
    assert featured["type"] == "OrderedCollection"


async def test_content_negotiation(world: World) -> None:
    url = world.community["actor_id"]
    for accept in (AP, 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'):
        response = await ap_get(url, accept=accept)
        assert response.status_code == 200, accept
        assert response.headers["content-type"].startswith(AP)
        assert "Accept" in response.headers.get("vary", "")
        assert response.json()["id"] == url
    page_view = await ap_get(url, accept="text/html")
    assert not page_view.headers.get("content-type", "").startswith(AP)
    post = (await ap_get(world.target["ap_id"])).json()
    assert (post["type"], post["id"], post["name"]) == ("Page", world.target["ap_id"], "The target post")
    assert post["attributedTo"] == f"{world.alpha.base}/u/{ADMIN_NAME}"
    assert post["audience"] == url


async def test_deleted_post_is_a_tombstone(world: World) -> None:
    created = await world.admin.post("/post", {"name": "Soon gone", "community_id": world.community["id"]})
    post = created["post_view"]["post"]
    await world.admin.post("/post/delete", {"post_id": post["id"], "deleted": True})
    response = await ap_get(post["ap_id"])
    assert response.status_code == 410
    assert response.json()["type"] == "Tombstone" and response.json()["id"] == post["ap_id"]


async def test_remote_post_at_a_local_url_redirects_to_its_origin(world: World) -> None:
    view = await accepted_post(world, unique("Remote origin"))
    response = await ap_get(f"{world.alpha.base}/post/{view['post']['id']}", follow_redirects=False)
    assert response.status_code == 308  # permanent, as Lemmy answers
    assert response.headers["location"] == view["post"]["ap_id"]
    assert view["post"]["ap_id"].startswith(world.attacker.base)


async def test_local_only_community_is_invisible_to_other_servers(world: World) -> None:
    name = unique("private")
    body = {"name": name, "title": "Members only", "visibility": "LocalOnly"}
    community = (await world.admin.post("/community", body))["community_view"]["community"]
    post = (await world.admin.post("/post", {"name": "Inside", "community_id": community["id"]}))["post_view"]["post"]
    for url in (community["actor_id"], f"{community['actor_id']}/outbox", post["ap_id"]):
        response = await ap_get(url)
        assert response.status_code == 404, url
        assert "Inside" not in response.text
    assert (await webfinger(world.alpha, f"acct:{name}@{world.alpha.domain}")).status_code == 404


async def test_community_outbox_lists_announces(world: World) -> None:
    group_id = world.community["actor_id"]
    outbox = (await ap_get(f"{group_id}/outbox")).json()
    assert outbox["type"] == "OrderedCollection" and outbox["id"] == f"{group_id}/outbox"
    items = outbox["orderedItems"]
    assert items and all(item["type"] == "Announce" and item["actor"] == group_id for item in items)
    assert {item["object"]["type"] for item in items} == {"Create"}
    pages = [item["object"]["object"] for item in items]
    assert world.target["ap_id"] in [p["id"] for p in pages]
    assert all(p["type"] == "Page" and p["audience"] == group_id for p in pages)
