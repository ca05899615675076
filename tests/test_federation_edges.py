"""Federation edges a Lemmy or PieFed peer runs into: the admin's allow and block lists applied by host (to
delivery, the inbox and every outbound fetch), a signed `Host` without our port, and the same remote object
stored by two requests at the same moment.

One real Moot server (debug mode, so it may fetch from loopback) and two small peers of the test's own, which
serve documents and can hold a request until others have arrived (a barrier, not a sleep)."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from conftest import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    Api,
    DatabaseUnderTest,
    ServerProcess,
    backend,
    drop_database,
    free_port,
    make_database,
    start_server,
    stop_server,
    unique,
)
from moot.db.instance import Instance
from moot.domain.instances import InstanceLists, instance_host
from moot.domain.keys import KeyPair, generate_keypair
from moot.federation.delivery import deliverable_instances
from moot.federation.signatures import sign_request
from moot.queries.defaults import forget

AP = "application/activity+json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
DEBUG_ENV = {"MOOT_FEDERATION_DEBUG": "true", "MOOT_RUN_JOBS": "false"}


# ------------------------------------------------------------------ the rule itself


def test_instance_host_drops_port_scheme_and_case() -> None:
    assert instance_host("lemmy-beta:8551") == "lemmy-beta"
    assert instance_host("https://Lemmy-Beta:8551/u/bob") == "lemmy-beta"
    assert instance_host("beehaw.org.") == "beehaw.org"
    assert instance_host("[::1]:80") == "::1"
    assert instance_host("") == ""


def test_lists_compare_hosts_without_ports() -> None:
    allow = InstanceLists.of(blocked=[], allowed=["lemmy-beta", "lemmy-gamma:8561"])
    assert allow.permits("lemmy-beta:8551") and allow.permits("http://lemmy-gamma:9999/c/x")
    assert not allow.permits("lemmy-delta:8571")
    block = InstanceLists.of(blocked=["lemmy-alpha"], allowed=[])
    assert not block.permits("http://lemmy-alpha:8541/u/x") and block.permits("lemmy-beta:8551")
    assert not InstanceLists.of(blocked=[], allowed=[]).permits("")


async def test_delivery_goes_to_an_allowlisted_host_whatever_its_port(app: Any, admin: Api) -> None:
    """The bug that stopped every delivery in a Lemmy-style cluster: `allowed_instances: ["lemmy-beta"]` never
    matched the instance `lemmy-beta:8551`, so nothing went out."""
    db = app.state.moot.db
    beta, gamma = (f"{unique(n).replace('_', '-')}.test" for n in ("beta", "gamma"))
    now = datetime.now(UTC)
    async with db.write() as session:
        for domain in (f"{beta}:8551", f"{gamma}:8561"):
            session.add(Instance(domain=domain, published=now))
    try:
        await admin.ok_put("/site", {"allowed_instances": [beta]})
        async with db.read() as session:
            domains = {i.domain for i in await deliverable_instances(session, 0, 1, now)}
        assert f"{beta}:8551" in domains and f"{gamma}:8561" not in domains
        await admin.ok_put("/site", {"allowed_instances": [], "blocked_instances": [beta]})
        async with db.read() as session:
            domains = {i.domain for i in await deliverable_instances(session, 0, 1, now)}
        assert f"{beta}:8551" not in domains and f"{gamma}:8561" in domains
    finally:
        await admin.ok_put("/site", {"allowed_instances": [], "blocked_instances": []})
        forget()


# ------------------------------------------------------------------ a peer of the test's own


@dataclass
class Peer:
    """Serves documents by path; a path in `gates` is answered only once `gates[path]` parties have asked."""

    host: str
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    gates: dict[str, threading.Barrier] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)  # bodies POSTed to any inbox here
    httpd: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.httpd is not None
        return f"http://{self.host}:{self.httpd.server_address[1]}"

    def start(self) -> None:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                peer.requests.append(("GET", path))
                gate = peer.gates.get(path)
                if gate is not None:
                    gate.wait(timeout=20)
                doc = peer.docs.get(path)
                body = json.dumps(doc).encode() if doc is not None else b"{}"
                self.send_response(200 if doc is not None else 404)
                self.send_header("Content-Type", AP)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                peer.requests.append(("POST", self.path))
                peer.posted.append(json.loads(body))
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

    def actor(self, name: str, kind: str = "Person") -> tuple[str, KeyPair]:
        path = f"/{'c' if kind == 'Group' else 'u'}/{name}"
        ap_id, keys = f"{self.base}{path}", generate_keypair()
        doc: dict[str, Any] = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": ap_id,
            "type": kind,
            "preferredUsername": name,
            "inbox": f"{ap_id}/inbox",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {"id": f"{ap_id}#main-key", "owner": ap_id, "publicKeyPem": keys.public_pem},
        }
        if kind == "Group":
            doc["followers"] = f"{ap_id}/followers"
        self.docs[path] = doc
        return ap_id, keys

    def page(self, author: str, community: str, title: str) -> str:
        path = f"/post/{uuid.uuid4().hex[:10]}"
        self.docs[path] = {
            "type": "Page",
            "id": f"{self.base}{path}",
            "attributedTo": author,
            "to": [community, PUBLIC],
            "audience": community,
            "name": title,
            "mediaType": "text/html",
            "source": {"content": "body", "mediaType": "text/markdown"},
            "published": "2026-11-01T10:00:00.123456Z",
        }
        return f"{self.base}{path}"

    def note(self, author: str, community: str, in_reply_to: str, content: str) -> str:
        path = f"/comment/{uuid.uuid4().hex[:10]}"
        self.docs[path] = {
            "type": "Note",
            "id": f"{self.base}{path}",
            "attributedTo": author,
            "to": [PUBLIC],
            "cc": [community],
            "audience": community,
            "inReplyTo": in_reply_to,
            "content": f"<p>{content}</p>",
            "mediaType": "text/html",
            "source": {"content": content, "mediaType": "text/markdown"},
            "published": "2026-11-01T10:05:00.654321Z",
        }
        return f"{self.base}{path}"


@dataclass
class Node:
    host: str
    port: int
    db: DatabaseUnderTest
    server: ServerProcess

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    db = make_database(tmp_path_factory.mktemp("edges"))
    port = free_port()
    node = Node("127.0.0.10", port, db, start_server(db, port, DEBUG_ENV, host="127.0.0.10"))
    try:
        yield node
    finally:
        stop_server(node.server)  # the crash test restarts it: stop the one running now
        drop_database(db)


@pytest.fixture(scope="module")
def peers() -> Iterator[tuple[Peer, Peer]]:
    one, two = Peer("127.0.0.11"), Peer("127.0.0.12")
    one.start()
    two.start()
    yield one, two
    one.stop()
    two.stop()


async def _admin(node: Node) -> httpx.AsyncClient:
    async with httpx.AsyncClient(base_url=f"{node.base}/api/v3") as http:
        r = await http.post("/user/login", json={"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD})
        assert r.status_code == 200, r.text
    client = httpx.AsyncClient(
        base_url=f"{node.base}/api/v3", headers={"Authorization": f"Bearer {r.json()['jwt']}"}, timeout=60
    )
    r = await client.put(
        "/site", json={"rate_limit_search": 10_000, "rate_limit_post": 10_000, "rate_limit_message": 10_000}
    )
    assert r.status_code == 200, r.text
    return client


async def _set_lists(admin: httpx.AsyncClient, allowed: list[str], blocked: list[str]) -> None:
    r = await admin.put("/site", json={"allowed_instances": allowed, "blocked_instances": blocked})
    assert r.status_code == 200, r.text


# ------------------------------------------------------------------ the same object, twice at once


async def test_the_same_post_resolved_twice_at_once_is_stored_once(node: Node, peers: tuple[Peer, Peer]) -> None:
    peer, _ = peers
    author, _ = peer.actor(unique("racer"))
    community, _ = peer.actor(unique("racing"), kind="Group")
    post_url = peer.page(author, community, "Raced")
    # Both requests have looked the post up (not there) and fetched it before either may read its author.
    peer.gates[author.removeprefix(peer.base)] = threading.Barrier(2)
    admin = await _admin(node)
    answers = await asyncio.gather(*(admin.get("/resolve_object", params={"q": post_url}) for _ in range(2)))
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    ids = {a.json()["post"]["post"]["id"] for a in answers}
    assert len(ids) == 1
    listed = (await admin.get("/post", params={"id": ids.pop()})).json()["post_view"]
    # Stored once, and not as an edit of itself.
    assert listed["post"]["ap_id"] == post_url and "updated" not in listed["post"]
    found = await admin.get("/search", params={"q": "Raced", "type_": "Posts", "listing_type": "All"})
    assert [p["post"]["ap_id"] for p in found.json()["posts"]].count(post_url) == 1


async def test_the_same_comment_resolved_twice_at_once_is_stored_once(node: Node, peers: tuple[Peer, Peer]) -> None:
    peer, _ = peers
    author, _ = peer.actor(unique("op"))
    replier, _ = peer.actor(unique("replier"))
    community, _ = peer.actor(unique("thread"), kind="Group")
    post_url = peer.page(author, community, "A thread")
    admin = await _admin(node)
    post = await admin.get("/resolve_object", params={"q": post_url})
    assert post.status_code == 200, post.text
    post_id = post.json()["post"]["post"]["id"]
    note_url = peer.note(replier, community, post_url, "first!")
    peer.gates[replier.removeprefix(peer.base)] = threading.Barrier(2)
    answers = await asyncio.gather(*(admin.get("/resolve_object", params={"q": note_url}) for _ in range(2)))
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert len({a.json()["comment"]["comment"]["id"] for a in answers}) == 1
    listed = (await admin.get("/comment/list", params={"post_id": post_id})).json()["comments"]
    assert [c["comment"]["ap_id"] for c in listed] == [note_url]
    counts = (await admin.get("/post", params={"id": post_id})).json()["post_view"]["counts"]
    assert counts["comments"] == 1


# ------------------------------------------------------------------ allow and block lists on outbound fetches


async def test_nothing_is_fetched_from_a_blocked_or_unlisted_host(node: Node, peers: tuple[Peer, Peer]) -> None:
    allowed_peer, other_peer = peers
    admin = await _admin(node)
    author, _ = other_peer.actor(unique("far"))
    community, _ = other_peer.actor(unique("far"), kind="Group")
    post_url = other_peer.page(author, community, "From afar")
    try:
        # Blocked by host: the peer's address, without its port.
        await _set_lists(admin, allowed=[], blocked=[other_peer.host])
        before = len(other_peer.requests)
        r = await admin.get("/resolve_object", params={"q": post_url})
        assert r.status_code == 404 and r.json()["error"] == "couldnt_find_object", r.text
        assert len(other_peer.requests) == before
        # Not in the allowlist.
        await _set_lists(admin, allowed=[allowed_peer.host], blocked=[])
        r = await admin.get("/resolve_object", params={"q": post_url})
        assert r.status_code == 404, r.text
        r = await admin.get("/resolve_object", params={"q": f"!{community.rsplit('/', 1)[1]}@{other_peer.base[7:]}"})
        assert r.status_code == 404, r.text
        assert len(other_peer.requests) == before
        # Allowed: the control that proves the refusals are the lists' doing.
        await _set_lists(admin, allowed=[allowed_peer.host, other_peer.host], blocked=[])
        r = await admin.get("/resolve_object", params={"q": post_url})
        assert r.status_code == 200, r.text
        assert len(other_peer.requests) > before
    finally:
        await _set_lists(admin, allowed=[], blocked=[])


# ------------------------------------------------------------------ the signed Host header


async def _signed_follow(node: Node, peer: Peer, host_header: str) -> httpx.Response:
    follower, keys = peer.actor(unique("follower"))
    admin = await _admin(node)
    name = unique("hosted")
    r = await admin.post("/community", json={"name": name, "title": "Hosted"})
    assert r.status_code == 200, r.text
    community = r.json()["community_view"]["community"]["actor_id"]
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.base}/activities/follow/{uuid.uuid4()}",
        "type": "Follow",
        "actor": follower,
        "object": community,
    }
    body = json.dumps(activity).encode()
    headers = {"Content-Type": AP}
    # Signed as PieFed signs it: for the URL it believes it is posting to.
    headers.update(
        sign_request("POST", f"http://{host_header}/inbox", headers, body, f"{follower}#main-key", keys.private_pem)
    )
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(f"{node.base}/inbox", content=body, headers=headers)


async def test_signed_host_without_our_port_is_accepted(node: Node, peers: tuple[Peer, Peer]) -> None:
    response = await _signed_follow(node, peers[0], node.host)
    assert response.status_code == 200, response.text


async def test_signed_host_of_another_server_is_refused(node: Node, peers: tuple[Peer, Peer]) -> None:
    response = await _signed_follow(node, peers[0], f"127.0.0.99:{node.port}")
    assert response.status_code == 401, response.text
    assert "not addressed to this host" in response.text


# ------------------------------------------------------------------ one transaction per inbound activity


def _signed(url: str, activity: dict[str, Any], actor: str, keys: KeyPair) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(activity).encode()
    headers = {"Content-Type": AP}
    headers.update(sign_request("POST", url, headers, body, f"{actor}#main-key", keys.private_pem))
    return body, headers


async def _eventually(check: Any, timeout: float = 30.0) -> Any:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout}s: {result!r}")
        await asyncio.sleep(0.1)


@pytest.mark.skipif(backend() != "postgres", reason="holds a PostgreSQL table lock to stop the server mid-write")
async def test_a_crash_mid_activity_loses_nothing_and_announces_once(
    node: Node, peers: tuple[Peer, Peer], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The server is killed while it applies an inbound reply: after recording its id as received, while it
    waits to store the comment (the test holds a lock on the comment table). Nothing of it may stay behind as
    "received"; the sender's retry after the restart applies it, and the Announce goes out exactly once. (The
    Announce is written with the COMMIT, in the same round trip: once that is sent, the activity is whole.)"""
    import asyncpg

    peer, _ = peers
    admin = await _admin(node)
    community = (await admin.post("/community", json={"name": unique("crash"), "title": "Crash"})).json()
    community_id = community["community_view"]["community"]["actor_id"]
    post = (
        await admin.post(
            "/post", json={"name": "Crash test", "community_id": community["community_view"]["community"]["id"]}
        )
    ).json()["post_view"]["post"]
    # A follower on the peer, so that the community announces what it receives.
    follower, follower_keys = peer.actor(unique("watcher"))
    follow = {
        "id": f"{peer.base}/activities/follow/{uuid.uuid4()}",
        "type": "Follow",
        "actor": follower,
        "object": community_id,
    }
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(
            f"{node.base}/inbox",
            content=(signed := _signed(f"{node.base}/inbox", follow, follower, follower_keys))[0],
            headers=signed[1],
        )
        assert r.status_code == 200, r.text
    replier, replier_keys = peer.actor(unique("replier"))
    note = peer.note(replier, community_id, post["ap_id"], "said just before the crash")
    create = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.base}/activities/create/{uuid.uuid4()}",
        "type": "Create",
        "actor": replier,
        "to": [PUBLIC],
        "cc": [community_id],
        "audience": community_id,
        "object": peer.docs[note.removeprefix(peer.base)],
    }
    dsn = node.db.url.replace("postgresql+asyncpg://", "postgresql://")
    locker = await asyncpg.connect(dsn)
    try:
        locker_tx = locker.transaction()
        await locker_tx.start()
        # Inserts into the comment table wait; reads of it do not.
        await locker.execute("LOCK TABLE comment IN SHARE ROW EXCLUSIVE MODE")
        async with httpx.AsyncClient(timeout=60) as http:
            body, headers = _signed(f"{node.base}/inbox", create, replier, replier_keys)
            sending = asyncio.ensure_future(http.post(f"{node.base}/inbox", content=body, headers=headers))

            async def blocked_on_the_comment_table() -> bool:
                waiting = await locker.fetchval(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                    " WHERE c.relname = 'comment' AND NOT l.granted AND l.pid <> pg_backend_pid()"
                )
                return bool(waiting)

            await _eventually(blocked_on_the_comment_table)
            node.server.process.kill()
            node.server.process.wait(timeout=30)
            with pytest.raises(httpx.HTTPError):
                await sending
        await locker_tx.rollback()
        # Nothing of the activity survived the crash: not the comment, and not its id as "received".
        assert await locker.fetchval("SELECT count(*) FROM comment WHERE ap_id = $1", note) == 0
        assert await locker.fetchval("SELECT count(*) FROM received_activity WHERE ap_id = $1", create["id"]) == 0
        node.server = start_server(node.db, node.port, DEBUG_ENV, host=node.host)
        async with httpx.AsyncClient(timeout=60) as http:
            body, headers = _signed(f"{node.base}/inbox", create, replier, replier_keys)
            r = await http.post(f"{node.base}/inbox", content=body, headers=headers)
            assert r.status_code == 200, r.text

        def announces() -> list[dict[str, Any]]:
            return [
                a
                for a in peer.posted
                if a.get("type") == "Announce"
                and isinstance(a.get("object"), dict)
                and a["object"].get("id") == create["id"]
            ]

        async def announced() -> bool:
            return bool(announces())

        await _eventually(announced)
        assert await locker.fetchval("SELECT count(*) FROM comment WHERE ap_id = $1", note) == 1
        logged = await locker.fetchval(
            "SELECT count(*) FROM sent_activity WHERE data::text LIKE '%' || $1 || '%'", create["id"]
        )
        assert logged == 1
        assert len(announces()) == 1
    finally:
        await locker.close()


async def test_an_update_older_than_the_stored_edit_is_ignored(node: Node, peers: tuple[Peer, Peer]) -> None:
    """Edits delivered out of order end with the newest (as Lemmy: an Update older than what is held is ignored)."""
    peer, _ = peers
    admin = await _admin(node)
    created = await admin.post("/community", json={"name": unique("edits"), "title": "Edits"})
    community = created.json()["community_view"]["community"]
    author, keys = peer.actor(unique("editor"))
    page_url = peer.page(author, community["actor_id"], "first words")
    page = dict(peer.docs[page_url.removeprefix(peer.base)])

    async def send(kind: str, name: str, updated: str | None) -> None:
        obj = {**page, "name": name, **({"updated": updated} if updated else {})}
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{peer.base}/activities/{kind.lower()}/{uuid.uuid4()}",
            "type": kind,
            "actor": author,
            "to": [PUBLIC],
            "cc": [community["actor_id"]],
            "audience": community["actor_id"],
            "object": obj,
        }
        async with httpx.AsyncClient(timeout=30) as http:
            body, headers = _signed(f"{node.base}/inbox", activity, author, keys)
            r = await http.post(f"{node.base}/inbox", content=body, headers=headers)
            assert r.status_code == 200, r.text

    async def stored() -> dict[str, Any]:
        found = await admin.get("/resolve_object", params={"q": page_url})
        assert found.status_code == 200, found.text
        post: dict[str, Any] = found.json()["post"]["post"]
        return post

    await send("Create", "first words", None)
    await send("Update", "the newest words", "2026-11-01T12:00:00.000002Z")
    await send("Update", "words from before", "2026-11-01T11:00:00Z")  # written earlier, delivered later
    post = await stored()
    assert post["name"] == "the newest words"
    assert post["updated"] == "2026-11-01T12:00:00.000002Z"
    await send("Update", "a later edit", "2026-11-01T13:00:00Z")
    assert (await stored())["name"] == "a later edit"


# ------------------------------------------------------------------ redirects are held to the lists


async def test_a_redirect_to_an_unlisted_host_is_not_followed(node: Node, peers: tuple[Peer, Peer]) -> None:
    """An allowed server answering 308 to a server outside the allowlist does not get us to ask that server."""
    _, far = peers
    author, _ = far.actor(unique("far"))
    community, _ = far.actor(unique("farc"), kind="Group")
    post_url = far.page(author, community, "Behind a redirect")

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(308)
            self.send_header("Location", post_url)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.13", 0), Redirect)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    admin = await _admin(node)
    redirecting = f"http://127.0.0.13:{httpd.server_address[1]}/post/x"
    try:
        await _set_lists(admin, allowed=["127.0.0.13"], blocked=[])
        before = len(far.requests)
        r = await admin.get("/resolve_object", params={"q": redirecting})
        assert r.status_code == 404 and r.json()["error"] == "couldnt_find_object", r.text
        assert far.requests[before:] == []
        # Control: with the far host allowed too, the same redirect is followed and the post found.
        await _set_lists(admin, allowed=["127.0.0.13", far.host], blocked=[])
        r = await admin.get("/resolve_object", params={"q": redirecting})
        assert r.status_code == 200, r.text
        assert ("GET", post_url.removeprefix(far.base)) in far.requests[before:]
    finally:
        await _set_lists(admin, allowed=[], blocked=[])
        httpd.shutdown()
        httpd.server_close()


# ------------------------------------------------------------------ the same object arriving twice at once


def _create_page(peer: Peer, author: str, page_url: str, community: str) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.base}/activities/create/{uuid.uuid4()}",
        "type": "Create",
        "actor": author,
        "to": [community, PUBLIC],
        "cc": [],
        "audience": community,
        "object": peer.docs[page_url.removeprefix(peer.base)],
    }


async def _copies(admin: httpx.AsyncClient, community_id: int, ap_id: str) -> int:
    listed = (await admin.get("/post/list", params={"community_id": community_id, "limit": 50})).json()
    return [p["post"]["ap_id"] for p in listed["posts"]].count(ap_id)


async def test_a_post_arriving_by_the_inbox_while_resolve_object_runs_is_stored_once(
    node: Node, peers: tuple[Peer, Peer]
) -> None:
    """Both paths wait for the author's document at a barrier, so both reach the insert together."""
    peer, _ = peers
    admin = await _admin(node)
    created = await admin.post("/community", json={"name": unique("race"), "title": "Race"})
    community = created.json()["community_view"]["community"]
    for _ in range(4):
        author, keys = peer.actor(unique("racer"))
        page_url = peer.page(author, community["actor_id"], "Raced in")
        peer.gates[author.removeprefix(peer.base)] = threading.Barrier(2)
        activity = _create_page(peer, author, page_url, community["actor_id"])
        body, headers = _signed(f"{node.base}/inbox", activity, author, keys)
        async with httpx.AsyncClient(timeout=60) as http:
            inbox, resolved = await asyncio.gather(
                http.post(f"{node.base}/inbox", content=body, headers=headers),
                admin.get("/resolve_object", params={"q": page_url}),
            )
        assert inbox.status_code == 200, inbox.text
        assert resolved.status_code == 200, resolved.text
        assert await _copies(admin, community["id"], page_url) == 1


async def test_two_inbox_deliveries_of_one_post_at_once_store_it_once(node: Node, peers: tuple[Peer, Peer]) -> None:
    peer, _ = peers
    admin = await _admin(node)
    created = await admin.post("/community", json={"name": unique("race2"), "title": "Race2"})
    community = created.json()["community_view"]["community"]
    for _ in range(4):
        author, keys = peer.actor(unique("racer2"))
        page_url = peer.page(author, community["actor_id"], "Raced twice")
        peer.gates[author.removeprefix(peer.base)] = threading.Barrier(2)
        deliveries = [
            _signed(f"{node.base}/inbox", _create_page(peer, author, page_url, community["actor_id"]), author, keys)
            for _ in range(2)
        ]
        async with httpx.AsyncClient(timeout=60) as http:
            answers = await asyncio.gather(
                *(http.post(f"{node.base}/inbox", content=b, headers=h) for b, h in deliveries)
            )
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        assert await _copies(admin, community["id"], page_url) == 1
