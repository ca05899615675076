"""Remote actors and objects keep their own times, to the microsecond, and a remote community's subscribers are
its home server's count, read from its followers collection (issue 9, items 2 and 3).

Everything travels over real HTTP: two Moot processes on their own loopback addresses (alpha, the home of a
community, and beta, where people follow it), and a small ActivityPub server of the test's own on a third
address, serving actor documents and a followers collection whose values the test chooses."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
ENV = {"MOOT_FEDERATION_DEBUG": "true", "MOOT_RUN_JOBS": "false"}
PASSWORD = "times-counts-pass-1"


# ------------------------------------------------------------------ a remote server under the test's control


@dataclass
class FakeServer:
    """Serves the documents in `docs` by path and keeps every activity POSTed to it."""

    host: str
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    httpd: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.httpd is not None
        return f"http://{self.host}:{self.httpd.server_address[1]}"

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                doc = fake.docs.get(self.path.split("?")[0])
                body = json.dumps(doc).encode() if doc is not None else b'{"error": "not_found"}'
                self.send_response(200 if doc is not None else 404)
                self.send_header("Content-Type", AP)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                fake.received.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0")))))
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

    def actor(self, name: str, kind: str, keys: KeyPair, **fields: Any) -> str:
        """Serves (or serves anew) the actor document of `name`; returns its id."""
        path = f"/{'c' if kind == 'Group' else 'u'}/{name}"
        ap_id = f"{self.base}{path}"
        self.docs[path] = {
            "@context": ["https://join-lemmy.org/context.json", "https://www.w3.org/ns/activitystreams"],
            "id": ap_id,
            "type": kind,
            "preferredUsername": name,
            "inbox": f"{ap_id}/inbox",
            "outbox": f"{ap_id}/outbox",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {"id": f"{ap_id}#main-key", "owner": ap_id, "publicKeyPem": keys.public_pem},
            **fields,
        }
        return ap_id

    def followers(self, group_id: str, total: Any) -> str:
        url = f"{group_id}/followers"
        self.docs[url.removeprefix(self.base)] = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": url,
            "type": "Collection",
            "totalItems": total,
            "items": [],
        }
        return url


# ------------------------------------------------------------------ Moot servers


@dataclass
class Node:
    name: str
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
    """A logged-in person on one node, speaking the v3 API."""

    def __init__(self, node: Node, jwt: str, name: str) -> None:
        self.node = node
        self.name = name
        self.http = httpx.AsyncClient(
            base_url=f"{node.base}/api/v3", headers={"Authorization": f"Bearer {jwt}"}, timeout=30
        )  # a call may wait on the other node (a follow, a resolve): 5 s was short on a loaded machine

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        r = await self.http.request(method, path, **kwargs)
        assert r.status_code == 200, (self.node.name, method, path, r.status_code, r.text)
        return r.json()

    async def get(self, path: str, **params: Any) -> Any:
        return await self.call("GET", path, params=params)

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        return await self.call("POST", path, json=body)

    async def put(self, path: str, body: dict[str, Any]) -> Any:
        return await self.call("PUT", path, json=body)


async def login(node: Node, name: str, password: str) -> Client:
    async with httpx.AsyncClient(base_url=f"{node.base}/api/v3") as http:
        r = await http.post("/user/login", json={"username_or_email": name, "password": password})
        assert r.status_code == 200, r.text
        return Client(node, r.json()["jwt"], name)


async def admin_of(node: Node) -> Client:
    admin = await login(node, ADMIN_NAME, ADMIN_PASSWORD)
    await admin.put(
        "/site",
        {f"rate_limit_{bucket}": 10_000 for bucket in ("register", "post", "search", "message")},
    )
    return admin


async def register(node: Node) -> Client:
    name = unique(node.name[:3])
    async with httpx.AsyncClient(base_url=f"{node.base}/api/v3") as http:
        r = await http.post(
            "/user/register", json={"username": name, "password": PASSWORD, "password_verify": PASSWORD}
        )
        assert r.status_code == 200, r.text
        return Client(node, r.json()["jwt"], name)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:  # noqa: ASYNC109
    """Poll until `check` returns something truthy (federation is asynchronous by design)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"condition not met in {timeout}s; last result: {last!r}")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    started: dict[str, Node] = {}
    try:
        for name, host in (("alpha", "127.0.0.21"), ("beta", "127.0.0.22")):
            db = make_database(tmp_path_factory.mktemp(f"times_{name}"))
            port = free_port()
            started[name] = Node(name, host, port, db, start_server(db, port, ENV, host=host))
        yield started
    finally:
        for node in started.values():
            stop_server(node.server)
            drop_database(node.db)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    server = FakeServer("127.0.0.23")
    server.start()
    yield server
    server.stop()


def _now() -> datetime:
    return datetime.now(UTC)


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


# ------------------------------------------------------------------ item 2: the documents' own times


async def test_remote_person_and_community_keep_the_times_of_their_documents(
    nodes: dict[str, Node], fake: FakeServer
) -> None:
    admin = await admin_of(nodes["alpha"])
    person_id = fake.actor(
        unique("pat"),
        "Person",
        generate_keypair(),
        published="2021-03-04T05:06:07.123456Z",
        updated="2022-11-12T13:14:15.000001Z",
    )
    person = (await admin.get("/resolve_object", q=person_id))["person"]["person"]
    assert (person["published"], person["updated"]) == ("2021-03-04T05:06:07.123456Z", "2022-11-12T13:14:15.000001Z")

    group_id = fake.actor(
        unique("grp"),
        "Group",
        generate_keypair(),
        published="2019-12-31T23:59:59.999999Z",
        updated="2020-01-01T03:00:00.5+02:00",
    )
    community = (await admin.get("/resolve_object", q=group_id))["community"]["community"]
    assert community["published"] == "2019-12-31T23:59:59.999999Z"
    assert community["updated"] == "2020-01-01T01:00:00.500000Z"  # the same moment, in UTC

    # A person that claims to come from the future is dated now; one without times is dated when first seen.
    before = _now()
    future = fake.actor(unique("fut"), "Person", generate_keypair(), published="2999-01-01T00:00:00Z")
    timeless = fake.actor(unique("old"), "Person", generate_keypair())
    for ap_id in (future, timeless):
        seen = (await admin.get("/resolve_object", q=ap_id))["person"]["person"]
        assert before <= _parse(seen["published"]) <= _now(), seen
        assert "updated" not in seen


async def test_remote_community_counts_its_home_servers_followers(nodes: dict[str, Node], fake: FakeServer) -> None:
    alpha = nodes["alpha"]
    admin = await admin_of(alpha)
    user = await register(alpha)
    keys = generate_keypair()
    name = unique("big")
    group_id = f"{fake.base}/c/{name}"
    followers_url = fake.followers(group_id, 4321)
    fake.actor(name, "Group", keys, followers=followers_url, attributedTo=f"{group_id}/moderators")

    community = (await user.get("/resolve_object", q=group_id))["community"]
    assert (community["counts"]["subscribers"], community["counts"]["subscribers_local"]) == (4321, 0)
    community_id = community["community"]["id"]

    # A local follow is counted in subscribers_local; the total stays the home server's (which counts the
    # follower itself once it accepts, and we read that at the next refresh), as on Lemmy.
    followed = await user.post("/community/follow", {"community_id": community_id, "follow": True})
    assert followed["community_view"]["subscribed"] == "Pending"
    assert followed["community_view"]["counts"]["subscribers"] == 4321
    assert followed["community_view"]["counts"]["subscribers_local"] == 1

    async def follow_sent() -> list[dict[str, Any]]:
        return [a for a in fake.received if a.get("type") == "Follow" and a.get("object") == group_id]

    follow = await eventually(follow_sent)

    # The community rotates its key and refuses the follow: the signature fails with the old key, so alpha
    # refetches the community, and its followers collection with it.
    new_keys = generate_keypair()
    fake.followers(group_id, 4400)
    fake.actor(name, "Group", new_keys, followers=followers_url, attributedTo=f"{group_id}/moderators")
    reject = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{fake.base}/activities/reject/{uuid.uuid4()}",
        "type": "Reject",
        "actor": group_id,
        "to": [follow[0]["actor"]],
        "object": follow[0],
    }
    url = f"{alpha.base}/inbox"
    body = json.dumps(reject).encode()
    headers = {"Content-Type": AP}
    headers.update(sign_request("POST", url, headers, body, f"{group_id}#main-key", new_keys.private_pem))
    async with httpx.AsyncClient() as http:
        answer = await http.post(url, content=body, headers=headers)
    assert answer.status_code == 200, answer.text

    view = (await user.get("/community", id=community_id))["community_view"]
    assert view["subscribed"] == "NotSubscribed"
    assert (view["counts"]["subscribers"], view["counts"]["subscribers_local"]) == (4400, 0)

    # Follow and unfollow again: only subscribers_local moves.
    await user.post("/community/follow", {"community_id": community_id, "follow": True})
    again = await admin.get("/community", id=community_id)
    assert (
        again["community_view"]["counts"]["subscribers"],
        again["community_view"]["counts"]["subscribers_local"],
    ) == (
        4400,
        1,
    )
    unfollowed = await user.post("/community/follow", {"community_id": community_id, "follow": False})
    counts = unfollowed["community_view"]["counts"]
    assert (counts["subscribers"], counts["subscribers_local"]) == (4400, 0)


async def test_a_followers_collection_without_a_usable_total_changes_nothing(
    nodes: dict[str, Node], fake: FakeServer
) -> None:
    admin = await admin_of(nodes["alpha"])
    for total in ("many", -3, 2.5, None):
        name = unique("odd")
        group_id = f"{fake.base}/c/{name}"
        followers_url = fake.followers(group_id, total)
        fake.actor(name, "Group", generate_keypair(), followers=followers_url)
        community = (await admin.get("/resolve_object", q=group_id))["community"]
        assert community["counts"]["subscribers"] == 0, total
    # A followers collection on another host is never fetched: it cannot speak for the community.
    name = unique("far")
    fake.actor(name, "Group", generate_keypair(), followers=f"{nodes['beta'].base}/c/{name}/followers")
    community = (await admin.get("/resolve_object", q=f"{fake.base}/c/{name}"))["community"]
    assert community["counts"]["subscribers"] == 0


# ------------------------------------------------------------------ two Moot servers


@dataclass
class Shared:
    alpha_admin: Client
    bob: Client  # on beta
    name: str
    alpha_community_id: int
    beta_community_id: int
    beta_first_seen: dict[str, Any]  # beta's CommunityView right after it first resolved the community


@pytest.fixture(scope="module")
async def shared(nodes: dict[str, Node]) -> Shared:
    alpha, beta = nodes["alpha"], nodes["beta"]
    alpha_admin = await admin_of(alpha)
    bob = await register(beta)
    name = unique("times")
    created = await alpha_admin.post("/community", {"name": name, "title": "Times and counts"})
    first_seen = (await bob.get("/resolve_object", q=f"!{name}@{alpha.domain}"))["community"]
    beta_id = first_seen["community"]["id"]
    await bob.post("/community/follow", {"community_id": beta_id, "follow": True})

    async def subscribed() -> bool:
        view = await bob.get("/community", id=beta_id)
        return bool(view["community_view"]["subscribed"] == "Subscribed")

    await eventually(subscribed)
    return Shared(alpha_admin, bob, name, created["community_view"]["community"]["id"], beta_id, first_seen)


async def test_every_server_shows_a_community_and_its_people_with_the_same_times(
    nodes: dict[str, Node], shared: Shared
) -> None:
    home = (await shared.alpha_admin.get("/community", id=shared.alpha_community_id))["community_view"]
    seen = (await shared.bob.get("/community", id=shared.beta_community_id))["community_view"]
    assert seen["community"]["published"] == home["community"]["published"]
    assert seen["community"]["local"] is False
    admin_home = (await shared.alpha_admin.get("/user", username=ADMIN_NAME))["person_view"]["person"]
    admin_seen = (await shared.bob.get("/resolve_object", q=f"@{ADMIN_NAME}@{nodes['alpha'].domain}"))["person"]
    assert admin_seen["person"]["published"] == admin_home["published"]
    assert admin_seen["person"]["local"] is False


async def test_remote_subscribers_come_from_the_home_servers_followers_collection(
    nodes: dict[str, Node], shared: Shared
) -> None:
    alpha = nodes["alpha"]
    # When beta first saw the community, its only follower was its creator on alpha.
    assert shared.beta_first_seen["counts"]["subscribers"] == 1
    assert shared.beta_first_seen["counts"]["subscribers_local"] == 0
    home = (await shared.alpha_admin.get("/community", id=shared.alpha_community_id))["community_view"]
    assert (home["counts"]["subscribers"], home["counts"]["subscribers_local"]) == (2, 1)
    # Beta's own follower is counted apart; the total is alpha's as last read.
    seen = (await shared.bob.get("/community", id=shared.beta_community_id))["community_view"]
    assert (seen["counts"]["subscribers"], seen["counts"]["subscribers_local"]) == (1, 1)
    # What alpha serves to its peers is the same count.
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{alpha.base}/c/{shared.name}/followers", headers={"Accept": AP})
    assert r.status_code == 200
    collection = r.json()
    assert collection["id"] == f"{alpha.base}/c/{shared.name}/followers"
    assert collection["type"] == "Collection"
    assert collection["totalItems"] == 2


async def test_posts_and_comments_keep_their_times_through_creation_and_edits(shared: Shared) -> None:
    alice, bob = shared.alpha_admin, shared.bob
    created = (await alice.post("/post", {"name": "Timed", "community_id": shared.alpha_community_id}))["post_view"]
    ap_id = created["post"]["ap_id"]

    async def post_on_beta() -> dict[str, Any] | None:
        listed = await bob.get("/post/list", community_id=shared.beta_community_id, sort="New", limit=50)
        found = [p["post"] for p in listed["posts"] if p["post"]["ap_id"] == ap_id]
        return found[0] if found else None

    post = await eventually(post_on_beta)
    assert post["published"] == created["post"]["published"]
    assert "updated" not in post

    edited = (await alice.put("/post", {"post_id": created["post"]["id"], "name": "Timed, edited"}))["post_view"]

    async def post_edited() -> dict[str, Any] | None:
        found = await post_on_beta()
        return found if found is not None and found["name"] == "Timed, edited" else None

    post = await eventually(post_edited)
    assert post["updated"] == edited["post"]["updated"]
    assert post["published"] == created["post"]["published"]

    comment = (await alice.post("/comment", {"post_id": created["post"]["id"], "content": "first"}))["comment_view"]

    async def comment_on_beta(content: str) -> dict[str, Any] | None:
        listed = await bob.get("/comment/list", post_id=post["id"], sort="Old")
        found = [c["comment"] for c in listed["comments"] if c["comment"]["content"] == content]
        return found[0] if found else None

    seen = await eventually(lambda: comment_on_beta("first"))
    assert seen["published"] == comment["comment"]["published"]
    assert "updated" not in seen
    edit = {"comment_id": comment["comment"]["id"], "content": "first, edited"}
    changed = (await alice.put("/comment", edit))["comment_view"]
    seen = await eventually(lambda: comment_on_beta("first, edited"))
    assert seen["updated"] == changed["comment"]["updated"]
    assert seen["published"] == comment["comment"]["published"]
