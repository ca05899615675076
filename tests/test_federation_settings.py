"""What other servers get, against a real Moot process: nothing of a LocalOnly community, and nothing at all while
the admin has turned federation off.

The other server is this test's own: a small HTTP server on 127.0.5.2 that serves its people (with their keys) and
records every activity Moot delivers to it. Moot runs on 127.0.5.1 in debug mode (it may talk plain HTTP to
loopback addresses). Delivery to one instance goes in the order activities were recorded, so once a later activity
has arrived, an earlier one that did not arrive was never sent: no test waits for something not to happen."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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
from moot.federation.signatures import sign_request

AP = "application/activity+json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
MOOT_HOST = "127.0.5.1"
PEER_HOST = "127.0.5.2"
DEADLINE = 60.0
IDLE_CLOSE_WITHIN = 20.0  # Moot closes a delivery connection after 4 s idle (fetch.KEEP_ALIVE_SECONDS)


# ------------------------------------------------------------------ the other server


@dataclass
class Person:
    ap_id: str
    keys: KeyPair

    @property
    def key_id(self) -> str:
        return f"{self.ap_id}#main-key"


@dataclass
class Peer:
    host: str
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)  # activities POSTed to any inbox here
    fetched: list[str] = field(default_factory=list)  # paths GET here
    connections: int = 0  # connections accepted so far (HTTP/1.1: a client may keep one open)
    open_connections: int = 0
    httpd: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.httpd is not None
        return f"http://{self.host}:{self.httpd.server_address[1]}"

    def start(self) -> None:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # A connection the client keeps open cannot hold up stop() (which waits for every handler) for
            # longer than this.
            timeout = DEADLINE

            def setup(self) -> None:
                super().setup()
                peer.connections += 1
                peer.open_connections += 1

            def finish(self) -> None:
                peer.open_connections -= 1
                super().finish()

            def do_GET(self) -> None:
                peer.fetched.append(self.path)
                doc = peer.docs.get(self.path.split("?")[0])
                body = json.dumps(doc if doc is not None else {"error": "not_found"}).encode()
                self.send_response(200 if doc is not None else 404)
                self.send_header("Content-Type", AP)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                peer.received.append(json.loads(raw))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer((self.host, 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()

    def person(self) -> Person:
        name = unique("far")
        person = Person(f"{self.base}/u/{name}", generate_keypair())
        self.docs[f"/u/{name}"] = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": person.ap_id,
            "type": "Person",
            "preferredUsername": name,
            "inbox": f"{person.ap_id}/inbox",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {"id": person.key_id, "owner": person.ap_id, "publicKeyPem": person.keys.public_pem},
        }
        return person

    def texts(self) -> str:
        return json.dumps(self.received)

    async def wait_for(self, what: str, check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + DEADLINE
        while not check():
            assert time.monotonic() < deadline, f"the peer never received {what}: {self.texts()[-2000:]}"
            await asyncio.sleep(0.05)


# ------------------------------------------------------------------ Moot


@dataclass
class Moot:
    server: ServerProcess
    jwt: str

    @property
    def base(self) -> str:
        return self.server.base_url

    def api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=f"{self.base}/api/v3", headers={"Authorization": f"Bearer {self.jwt}"})

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any) -> Any:
        async with self.api() as http:
            response = await http.request(method, path, json=body, params=params or None)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    async def community(self) -> dict[str, Any]:
        data = await self.call("POST", "/community", {"name": unique("fed"), "title": "Federated"})
        community: dict[str, Any] = data["community_view"]["community"]
        return community

    async def post(self, community_id: int, title: str) -> dict[str, Any]:
        data = await self.call("POST", "/post", {"name": title, "community_id": community_id})
        post: dict[str, Any] = data["post_view"]["post"]
        return post

    async def titles(self, community_id: int) -> list[str]:
        data = await self.call("GET", "/post/list", community_id=community_id, sort="New", limit=50)
        return [p["post"]["name"] for p in data["posts"]]


@pytest.fixture(scope="module")
def moot_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    db = make_database(tmp_path_factory.mktemp("fed_settings"))
    yield db
    drop_database(db)


@pytest.fixture(scope="module")
def moot_server(moot_db: DatabaseUnderTest) -> Iterator[ServerProcess]:
    env = {"MOOT_FEDERATION_DEBUG": "true", "MOOT_RUN_JOBS": "false"}
    server = start_server(moot_db, free_port(), env, host=MOOT_HOST)
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def peer() -> Iterator[Peer]:
    started = Peer(PEER_HOST)
    started.start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
async def moot(moot_server: ServerProcess) -> Moot:
    async with httpx.AsyncClient(base_url=f"{moot_server.base_url}/api/v3") as http:
        r = await http.post("/user/login", json={"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD})
        assert r.status_code == 200, r.text
    node = Moot(moot_server, r.json()["jwt"])
    await node.call("PUT", "/site", {f"rate_limit_{b}": 10_000 for b in ("register", "post", "comment", "message")})
    return node


async def send(moot: Moot, person: Person, activity: dict[str, Any], inbox: str = "/inbox") -> httpx.Response:
    url = f"{moot.base}{inbox}"
    body = json.dumps(activity).encode()
    headers = {"Content-Type": AP}
    headers.update(sign_request("POST", url, headers, body, person.key_id, person.keys.private_pem))
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(url, content=body, headers=headers)


def activity(person: Person, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
    host = person.ap_id.split("/")[2]
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"http://{host}/activities/{kind.lower()}/{uuid.uuid4()}",
        "type": kind,
        "actor": person.ap_id,
        "object": obj,
        **extra,
    }


def page(person: Person, community: str, title: str) -> dict[str, Any]:
    host = person.ap_id.split("/")[2]
    return {
        "type": "Page",
        "id": f"http://{host}/post/{uuid.uuid4().hex[:8]}",
        "attributedTo": person.ap_id,
        "to": [community, PUBLIC],
        "audience": community,
        "name": title,
        "mediaType": "text/html",
        "source": {"content": "body", "mediaType": "text/markdown"},
    }


async def follow(moot: Moot, peer: Peer, person: Person, community: dict[str, Any]) -> None:
    response = await send(moot, person, activity(person, "Follow", community["actor_id"]))
    assert response.status_code == 200, response.text
    await peer.wait_for(
        f"the Accept of {person.ap_id}'s follow",
        lambda: any(a.get("type") == "Accept" and a["object"]["actor"] == person.ap_id for a in peer.received),
    )


def announced(peer: Peer, title: str) -> Callable[[], bool]:
    return lambda: title in peer.texts()


# ------------------------------------------------------------------ LocalOnly


async def test_a_local_only_community_sends_nothing_and_takes_nothing(moot: Moot, peer: Peer) -> None:
    quiet, control = await moot.community(), await moot.community()
    follower = peer.person()
    await follow(moot, peer, follower, quiet)
    await follow(moot, peer, follower, control)
    opened = unique("Open post")
    await moot.post(quiet["id"], opened)
    await peer.wait_for("the public post", announced(peer, opened))

    await moot.call("PUT", "/community", {"community_id": quiet["id"], "visibility": "LocalOnly"})
    secret = unique("Secret post")
    post = await moot.post(quiet["id"], secret)
    await moot.call("POST", "/comment", {"post_id": post["id"], "content": f"comment on {secret}"})
    await moot.call("POST", "/post/like", {"post_id": post["id"], "score": 0})
    await moot.call("POST", "/post/like", {"post_id": post["id"], "score": 1})
    later = unique("Control post")
    await moot.post(control["id"], later)
    await peer.wait_for("the control post", announced(peer, later))
    # Recorded after everything above, delivered in order: what has not come was never sent.
    assert secret not in peer.texts()

    # It does not exist for other servers: no actor, no object, no new followers, no activity in it.
    async with httpx.AsyncClient() as http:
        actor = await http.get(f"{moot.base}/c/{quiet['name']}", headers={"Accept": AP})
        assert actor.status_code == 404, actor.text
        obj = await http.get(f"{moot.base}/post/{post['id']}", headers={"Accept": AP})
        assert obj.status_code == 404, obj.text
    newcomer = peer.person()
    response = await send(moot, newcomer, activity(newcomer, "Follow", quiet["actor_id"]))
    assert response.status_code == 400 and "couldnt_find_community" in response.text, response.text
    intruding = unique("Pushed in")
    response = await send(
        moot,
        follower,
        activity(follower, "Create", page(follower, quiet["actor_id"], intruding), to=[PUBLIC], cc=[quiet["actor_id"]]),
    )
    assert response.status_code == 400 and "couldnt_find_community" in response.text, response.text
    assert intruding not in await moot.titles(quiet["id"])
    # The same person's post in a public community is taken: the refusal above is about the community.
    welcome = unique("Welcome post")
    create = activity(follower, "Create", page(follower, control["actor_id"], welcome), to=[PUBLIC])
    assert (await send(moot, follower, create)).status_code == 200
    assert welcome in await moot.titles(control["id"])


# ------------------------------------------------------------------ federation_enabled


async def test_federation_off_receives_serves_fetches_and_delivers_nothing(moot: Moot, peer: Peer) -> None:
    community = await moot.community()
    follower = peer.person()
    await follow(moot, peer, follower, community)
    stranger = peer.person()
    try:
        await moot.call("PUT", "/site", {"federation_enabled": False})
        pushed = unique("Sent while off")
        create = activity(follower, "Create", page(follower, community["actor_id"], pushed), to=[PUBLIC])
        response = await send(moot, follower, create)
        assert (response.status_code, response.json()) == (403, {"error": "federation_disabled"})
        async with httpx.AsyncClient() as http:
            actor = await http.get(f"{moot.base}/c/{community['name']}", headers={"Accept": AP})
            assert (actor.status_code, actor.json()) == (403, {"error": "federation_disabled"})
            finger = await http.get(
                f"{moot.base}/.well-known/webfinger",
                params={"resource": f"acct:{community['name']}@{moot.base.split('//')[1]}"},
            )
            assert finger.status_code == 404
        # Looking up someone over there fetches nothing.
        async with moot.api() as http:
            lookup = await http.get("/resolve_object", params={"q": stranger.ap_id})
        assert lookup.status_code == 404, lookup.text
        assert f"/u/{stranger.ap_id.rsplit('/', 1)[1]}" not in peer.fetched
        while_off = unique("Written while off")
        await moot.post(community["id"], while_off)
    finally:
        await moot.call("PUT", "/site", {"federation_enabled": True})
    assert pushed not in await moot.titles(community["id"])
    after = unique("Written after")
    await moot.post(community["id"], after)
    await peer.wait_for("the post written after federation came back", announced(peer, after))
    assert while_off not in peer.texts()
    # And the inbox takes activities again.
    again = unique("Sent after")
    create = activity(follower, "Create", page(follower, community["actor_id"], again), to=[PUBLIC])
    assert (await send(moot, follower, create)).status_code == 200
    assert again in await moot.titles(community["id"])


# ------------------------------------------------------------------ the software of other servers

NODEINFO = "http://nodeinfo.diaspora.software/ns/schema/"


def serve_nodeinfo(peer: Peer, name: str, version: str) -> None:
    """NodeInfo as Lemmy and Mastodon serve it: the index lists 2.0 and 2.1; Moot reads the newest."""
    peer.docs["/.well-known/nodeinfo"] = {
        "links": [
            {"rel": f"{NODEINFO}2.0", "href": f"{peer.base}/nodeinfo/2.0"},
            {"rel": f"{NODEINFO}2.1", "href": f"{peer.base}/nodeinfo/2.1"},
        ]
    }
    peer.docs["/nodeinfo/2.0"] = {"version": "2.0", "software": {"name": "outdated-document", "version": "0"}}
    peer.docs["/nodeinfo/2.1"] = {"version": "2.1", "software": {"name": name, "version": version}}


def announced_kinds(peer: Peer, title: str) -> list[str]:
    """The object types of the Announces that carried a post's title here, in the order they came."""
    return [
        str(a["object"]["type"]) for a in list(peer.received) if a.get("type") == "Announce" and title in json.dumps(a)
    ]


async def test_group_software_gets_one_announce_per_post_the_rest_get_announce_page_too(moot: Moot) -> None:
    """Moot reads each follower instance's NodeInfo (as Lemmy does) and shows it in GET /federated_instances.
    A new post goes out as Announce{Create{Page}} and, for Mastodon and software Moot does not know, also as
    Announce{Page}; Lemmy gets the first only."""
    peers = {name: Peer(f"127.0.5.{n}") for n, name in ((3, "lemmy"), (4, "mastodon"), (5, "silent"))}
    for peer in peers.values():
        peer.start()
    try:
        serve_nodeinfo(peers["lemmy"], "lemmy", "0.19.20")
        serve_nodeinfo(peers["mastodon"], "mastodon", "4.3.0")
        # "silent" has no NodeInfo: its software stays unknown.
        community = await moot.community()
        for peer in peers.values():
            await follow(moot, peer, peer.person(), community)

        deadline = time.monotonic() + DEADLINE
        while True:
            linked = (await moot.call("GET", "/federated_instances"))["federated_instances"]["linked"]
            known = {i["domain"]: (i.get("software"), i.get("version")) for i in linked}
            listed = {name: known.get(peer.base.split("//")[1]) for name, peer in peers.items()}
            if listed["lemmy"] == ("lemmy", "0.19.20") and listed["mastodon"] == ("mastodon", "4.3.0"):
                break
            assert time.monotonic() < deadline, f"Moot never learned the peers' software: {listed}"
            await asyncio.sleep(0.1)
        assert listed["silent"] == (None, None), listed
        assert "/.well-known/nodeinfo" in peers["silent"].fetched  # asked, and got nothing

        first, second = unique("First post"), unique("Second post")
        await moot.post(community["id"], first)
        await moot.post(community["id"], second)
        for peer in peers.values():
            await peer.wait_for("the second post", lambda peer=peer: "Create" in announced_kinds(peer, second))
        # Delivered in order: the first post's Announce{Page}, had it been sent, came before the second post.
        assert announced_kinds(peers["lemmy"], first) == ["Create"]
        assert announced_kinds(peers["mastodon"], first) == ["Create", "Page"]
        assert announced_kinds(peers["silent"], first) == ["Create", "Page"]
    finally:
        for peer in peers.values():
            peer.stop()


# ------------------------------------------------------------------ connections


async def test_a_run_of_activities_to_one_instance_shares_one_connection_closed_when_idle(
    moot: Moot, peer: Peer
) -> None:
    """Delivery keeps its connection to an instance open while it has more to send (no TCP and TLS handshake per
    activity), and closes it a few seconds after the last one."""
    community = await moot.community()
    await follow(moot, peer, peer.person(), community)
    before = peer.connections
    titles = [unique("Burst") for _ in range(5)]
    for title in titles:
        await moot.post(community["id"], title)
    await peer.wait_for("the last post", announced(peer, titles[-1]))
    assert all(title in peer.texts() for title in titles)
    # Ten announces (two per post: the peer serves no NodeInfo), over the connection that brought the Accept
    # or one new one; a connection per request would be ten.
    assert peer.connections - before <= 1, peer.connections - before
    # Idle means idle for this instance: posts elsewhere (activities the worker reads and sends nowhere), one
    # every half second, do not keep its connection open.
    elsewhere = await moot.community()
    deadline = time.monotonic() + IDLE_CLOSE_WITHIN
    while peer.open_connections:
        assert time.monotonic() < deadline, f"{peer.open_connections} connections still open"
        await moot.post(elsewhere["id"], unique("Elsewhere"))
        await asyncio.sleep(0.5)
