"""Resolving remote actors and objects as Lemmy 0.19 does (issue 9, item 5; issue 17, first bug).

"Another server" is `FakeRemote`: a real socket server in this process that serves Lemmy-shaped documents, plain
HTTP, and TLS when a client speaks it and the test gave it a certificate (otherwise a TLS attempt is closed at
once, as on a server without TLS). It records every request with its scheme, so a test sees the order in which
Moot tried https and http. One host name per Lemmy server: `localhost:PORT` and `127.0.0.1:PORT` reach the same
socket as two hosts. The Moot under test runs in process (its own database, MOOT_FEDERATION_DEBUG on) and is
driven through the v3 API. The redirect scenario ("fetch post via redirect" in Lemmy's suite) runs two real
`moot serve` processes on 127.0.3.1-2 that the in-process Moot reaches over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import socket
import socketserver
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from conftest import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    Api,
    DatabaseUnderTest,
    ServerProcess,
    drop_database,
    free_port,
    make_community,
    make_database,
    register,
    settings_for,
    start_server,
    stop_server,
    unique,
)
from moot.app import create_app
from moot.db.community import Community
from moot.domain.keys import generate_keypair
from moot.federation.lookup import backfill_community, webfinger
from moot.federation.parse import Refused
from moot.federation.resolve import Resolver
from moot.federation.service import fetch_policy
from moot.settings import Settings
from tls_cluster import CertificateAuthority, skip_unless_port_443_bindable

AP = "application/activity+json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
CONTEXT = ["https://join-lemmy.org/context.json", "https://www.w3.org/ns/activitystreams"]
AS = "https://www.w3.org/ns/activitystreams"
JRD = "application/jrd+json"
AP_ACCEPT = {"Accept": AP}
KEY = generate_keypair().public_pem  # the fake actors' key: nothing here is signed by them
POST_NUMBERS = itertools.count(1)  # post ids unique across the module's fake hosts


# --- another server on a real socket --------------------------------------------------------------------------


@dataclass
class Seen:
    scheme: str  # "http", "https", or "tls closed" / "tls failed" for a TLS attempt that never got to HTTP
    host: str = ""
    target: str = ""


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


@dataclass
class FakeRemote:
    """Plain HTTP on `address:port`; TLS too when `tls` is set. Routes map (host, path) to a reply."""

    address: str = "127.0.0.1"
    port: int = 0
    tls: ssl.SSLContext | None = None
    routes: dict[tuple[str, str], tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    noted: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> None:
        remote = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                # A client that went away, or did not speak HTTP, gets nothing.
                with contextlib.suppress(OSError, ValueError):
                    remote.answer(self.request)

        self._server = _Server((self.address, self.port), Handler)
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, sock: socket.socket) -> None:
        sock.settimeout(10)
        first = sock.recv(1, socket.MSG_PEEK)
        scheme = "http"
        if first == b"\x16":  # a TLS ClientHello
            if self.tls is None:
                self.note(Seen("tls closed"))
                return
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                self.note(Seen("tls failed"))
                return
            scheme = "https"
        with sock.makefile("rb") as reader:
            request_line = reader.readline().decode("latin-1").strip()
            headers: dict[str, str] = {}
            while (line := reader.readline().decode("latin-1").strip()) != "":
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        _, target, _ = request_line.split(" ", 2)
        host = headers.get("host", "").lower()
        self.note(Seen(scheme, host, target))
        status, reply_headers, body = self.routes.get((host, _route_key(target)), (404, {}, b'{"error":"not_found"}'))
        head = [f"HTTP/1.1 {status} X", "Connection: close", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in reply_headers.items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        sock.close()

    def note(self, seen: Seen) -> None:
        with self.noted:
            self.seen.append(seen)
            self.noted.notify_all()

    async def saw(self, count: int) -> None:
        """Wait (bounded) until `count` connections are recorded: the server runs in threads of its own."""

        def enough() -> bool:
            with self.noted:
                return self.noted.wait_for(lambda: len(self.seen) >= count, timeout=10)

        assert await asyncio.to_thread(enough), self.seen


def _route_key(target: str) -> str:
    path, _, query = target.partition("?")
    if path == "/.well-known/webfinger":
        return f"{path}?resource={parse_qs(query).get('resource', [''])[0]}"
    return path


class FakeLemmy:
    """One host of a FakeRemote, serving documents shaped as Lemmy 0.19 serves them."""

    def __init__(self, remote: FakeRemote, host: str, scheme: str = "http") -> None:
        self.remote = remote
        self.host = host.lower()
        self.base = f"{scheme}://{self.host}"
        self.names: dict[str, dict[str, str]] = {}

    def serve(self, path: str, doc: Any, status: int = 200, content_type: str = AP) -> None:
        body = json.dumps(doc).encode()
        self.remote.routes[(self.host, path)] = (status, {"Content-Type": content_type}, body)

    def redirect(self, path: str, location: str) -> None:
        self.remote.routes[(self.host, path)] = (308, {"Location": location}, b"")

    def _webfinger(self, name: str, kind: str, href: str) -> None:
        self.names.setdefault(name, {})[kind] = href
        # As Lemmy: a person and a community may share a name; the community's link comes last.
        links = [
            {"rel": "self", "type": AP, "href": self.names[name][k], "properties": {f"{AS}#type": k}}
            for k in ("Person", "Group")
            if k in self.names[name]
        ]
        resource = f"acct:{name}@{self.host}"
        self.serve(f"/.well-known/webfinger?resource={resource}", {"subject": resource, "links": links}, 200, JRD)

    def person(self, name: str) -> str:
        ap_id = f"{self.base}/u/{name}"
        self.serve(
            f"/u/{name}",
            {
                "@context": CONTEXT,
                "type": "Person",
                "id": ap_id,
                "preferredUsername": name,
                "inbox": f"{ap_id}/inbox",
                "outbox": f"{ap_id}/outbox",
                "endpoints": {"sharedInbox": f"{self.base}/inbox"},
                "publicKey": {"id": f"{ap_id}#main-key", "owner": ap_id, "publicKeyPem": KEY},
                "published": "2024-01-02T03:04:05.678901Z",
            },
        )
        self._webfinger(name, "Person", ap_id)
        return ap_id

    def group(
        self,
        name: str,
        *,
        moderators: list[str] | None = None,
        posts: list[dict[str, Any]] | None = None,
        featured: list[Any] | None = None,
        moderators_url: str | None = None,
    ) -> str:
        ap_id = f"{self.base}/c/{name}"
        self.serve(
            f"/c/{name}",
            {
                "@context": CONTEXT,
                "type": "Group",
                "id": ap_id,
                "preferredUsername": name,
                "name": name.title(),
                "inbox": f"{ap_id}/inbox",
                "outbox": f"{ap_id}/outbox",
                "followers": f"{ap_id}/followers",
                "featured": f"{ap_id}/featured",
                "attributedTo": moderators_url or f"{ap_id}/moderators",
                "endpoints": {"sharedInbox": f"{self.base}/inbox"},
                "publicKey": {"id": f"{ap_id}#main-key", "owner": ap_id, "publicKeyPem": KEY},
                "published": "2024-01-02T03:04:05.678901Z",
            },
        )
        self._webfinger(name, "Group", ap_id)
        self.serve(f"/c/{name}/followers", {"type": "Collection", "id": f"{ap_id}/followers", "totalItems": 0})
        self.moderators(name, moderators or [])
        announces = [self.announce(ap_id, page) for page in posts or []]
        self.serve(f"/c/{name}/outbox", collection(f"{ap_id}/outbox", announces))
        self.serve(f"/c/{name}/featured", collection(f"{ap_id}/featured", featured or []))
        return ap_id

    def moderators(self, name: str, people: list[str]) -> None:
        ap_id = f"{self.base}/c/{name}"
        self.serve(f"/c/{name}/moderators", collection(f"{ap_id}/moderators", people))

    def page(self, community: str, author: str, title: str) -> dict[str, Any]:
        number = next(POST_NUMBERS)
        page = {
            "@context": CONTEXT,
            "type": "Page",
            "id": f"{self.base}/post/{number}",
            "attributedTo": author,
            "to": [community, PUBLIC],
            "cc": [],
            "audience": community,
            "name": title,
            "mediaType": "text/html",
            "published": f"2024-02-01T10:00:00.{number:06d}Z",
        }
        self.serve(f"/post/{number}", page)
        return page

    def announce(self, community: str, page: dict[str, Any]) -> dict[str, Any]:
        create = {
            "type": "Create",
            "id": f"{self.base}/activities/create/{page['id'].rsplit('/', 1)[1]}",
            "actor": page["attributedTo"],
            "to": [PUBLIC],
            "cc": [community],
            "audience": community,
            "object": page,
        }
        return {
            "type": "Announce",
            "id": f"{self.base}/activities/announce/{page['id'].rsplit('/', 1)[1]}",
            "actor": community,
            "to": [PUBLIC],
            "cc": [f"{community}/followers"],
            "object": create,
        }


def collection(ap_id: str, items: list[Any]) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "OrderedCollection",
        "id": ap_id,
        "totalItems": len(items),
        "orderedItems": items,
    }


@pytest.fixture(scope="module")
def remote() -> Iterator[FakeRemote]:
    server = FakeRemote()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def lemmy(remote: FakeRemote) -> FakeLemmy:
    """A fresh Lemmy host per test: `localhost:PORT`, with names no other test uses."""
    return FakeLemmy(remote, f"localhost:{remote.port}")


# --- the Moot under test ----------------------------------------------------------------------------------------


@dataclass
class Moot:
    settings: Settings
    app: Any
    http: httpx.AsyncClient
    user: Api
    anon: Api

    def resolver(self, settings: Settings | None = None) -> Resolver:
        settings = settings or self.settings
        return Resolver(self.app.state.moot.db, settings, fetch_policy(settings))


@pytest.fixture(scope="module")
def moot_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    db = make_database(tmp_path_factory.mktemp("resolve"))
    yield db
    drop_database(db)


@pytest.fixture(scope="module")
async def moot(moot_db: DatabaseUnderTest) -> AsyncIterator[Moot]:
    settings = dataclasses.replace(settings_for(moot_db), federation_debug=True, run_delivery=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{settings.hostname}") as http:
            admin = Api(client=http)
            admin.jwt = (
                await admin.ok_post("/user/login", {"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD})
            )["jwt"]
            await admin.ok_put(
                "/site", {f"rate_limit_{b}": 100_000 for b in ("register", "post", "search", "comment", "message")}
            )
            yield Moot(settings, app, http, await register(http), Api(client=http))


# --- resolve_object with a bare name@host -------------------------------------------------------------------


async def test_a_bare_name_is_a_person_or_else_a_community(moot: Moot, lemmy: FakeLemmy) -> None:
    shared, group_only = unique("sam"), unique("cooking")
    lemmy.person(shared)
    lemmy.group(shared)
    lemmy.group(group_only)

    # WebFinger lists both kinds under one name: the person comes first, as apf's lookup takes it.
    found = await moot.user.ok_get("/resolve_object", q=f"{shared}@{lemmy.host}")
    assert found["person"]["person"]["actor_id"] == f"{lemmy.base}/u/{shared}"
    found = await moot.user.ok_get("/resolve_object", q=f"!{shared}@{lemmy.host}")
    assert found["community"]["community"]["actor_id"] == f"{lemmy.base}/c/{shared}"
    # No person by that name: the community.
    found = await moot.user.ok_get("/resolve_object", q=f"{group_only}@{lemmy.host}")
    assert found["community"]["community"]["actor_id"] == f"{lemmy.base}/c/{group_only}"
    # Once here, an anonymous visitor finds it by the same bare name.
    found = await moot.anon.ok_get("/resolve_object", q=f"{group_only}@{lemmy.host}")
    assert found["community"]["community"]["actor_id"] == f"{lemmy.base}/c/{group_only}"


# --- GET /community?name=x@HOST and GET /user?username=x@HOST ----------------------------------------------


async def test_an_unknown_remote_community_or_person_is_found_by_name_at_host(moot: Moot, lemmy: FakeLemmy) -> None:
    mod, name = unique("mod"), unique("garden")
    mod_id = lemmy.person(mod)
    lemmy.group(name, moderators=[mod_id])
    shouted = f"{name}@{lemmy.host.upper()}"

    # Anonymous visitors only see what is here (as on Lemmy).
    status, data = await moot.anon.get("/community", name=shouted)
    assert (status, data["error"]) == (404, "couldnt_find_community")

    data = await moot.user.ok_get("/community", name=shouted)
    assert data["community_view"]["community"]["actor_id"] == f"{lemmy.base}/c/{name}"
    assert [m["moderator"]["actor_id"] for m in data["moderators"]] == [mod_id]
    data = await moot.anon.ok_get("/community", name=shouted)
    assert data["community_view"]["community"]["actor_id"] == f"{lemmy.base}/c/{name}"

    person = unique("pat")
    lemmy.person(person)
    status, data = await moot.anon.get("/user", username=f"{person}@{lemmy.host.upper()}")
    assert (status, data["error"]) == (404, "couldnt_find_person")
    data = await moot.user.ok_get("/user", username=f"{person}@{lemmy.host.upper()}")
    assert data["person_view"]["person"]["actor_id"] == f"{lemmy.base}/u/{person}"

    # A community is not a person, nor the reverse.
    status, data = await moot.user.get("/user", username=f"{name}@{lemmy.host}")
    assert (status, data["error"]) == (404, "couldnt_find_person")
    status, data = await moot.user.get("/community", name=f"{person}@{lemmy.host}")
    assert (status, data["error"]) == (404, "couldnt_find_community")


# --- a community brings its collections ---------------------------------------------------------------------


async def test_a_community_resolved_by_url_brings_its_moderators_featured_and_latest_posts(
    moot: Moot, remote: FakeRemote, lemmy: FakeLemmy
) -> None:
    other = FakeLemmy(remote, f"127.0.0.1:{remote.port}")  # a second server
    name = unique("pinned")
    group = f"{lemmy.base}/c/{name}"
    alice, bob = lemmy.person(unique("alice")), other.person(unique("bob"))
    latest = [lemmy.page(group, alice, f"Latest {i}") for i in range(3)]
    pinned_here = lemmy.page(group, alice, "Pinned here")  # featured, not in the outbox
    pinned_there = other.page(group, bob, "Pinned from another server")  # featured by id, fetched from its origin
    elsewhere = other.page(f"{other.base}/c/{unique('else')}", bob, "Of another community")
    lemmy.group(
        name,
        moderators=[alice, bob],
        posts=latest,
        featured=[pinned_here, pinned_there["id"], elsewhere, latest[0]],
    )

    found = await moot.user.ok_get("/resolve_object", q=group)
    community_id = found["community"]["community"]["id"]

    data = await moot.user.ok_get("/community", id=community_id)
    assert [m["moderator"]["actor_id"] for m in data["moderators"]] == [alice, bob]
    listed = await moot.user.ok_get("/post/list", community_id=community_id, sort="New", type_="All", limit=50)
    featured = {p["post"]["name"]: p["post"]["featured_community"] for p in listed["posts"]}
    assert featured == {
        "Latest 0": True,
        "Latest 1": False,
        "Latest 2": False,
        "Pinned here": True,
        "Pinned from another server": True,
    }

    # The collections are read again when the community is: a moderator who left is no longer one, and the
    # featured collection decides alone what is featured.
    lemmy.moderators(name, [bob])
    lemmy.serve(f"/c/{name}/featured", collection(f"{group}/featured", [pinned_here]))
    async with moot.app.state.moot.db.read() as session:
        row = await session.scalar(select(Community).where(Community.ap_id == group))
    assert row is not None
    await backfill_community(moot.resolver(), row)
    data = await moot.user.ok_get("/community", id=community_id)
    assert [m["moderator"]["actor_id"] for m in data["moderators"]] == [bob]
    listed = await moot.user.ok_get("/post/list", community_id=community_id, sort="New", type_="All", limit=50)
    assert sorted(p["post"]["name"] for p in listed["posts"] if p["post"]["featured_community"]) == ["Pinned here"]


async def test_collections_are_taken_only_from_the_communitys_own_host(
    moot: Moot, remote: FakeRemote, lemmy: FakeLemmy
) -> None:
    other = FakeLemmy(remote, f"127.0.0.1:{remote.port}")
    name, alice, mallory = unique("guarded"), lemmy.person(unique("alice")), other.person(unique("mallory"))
    group = f"{lemmy.base}/c/{name}"
    # The moderators collection named by the group is on another host; the outbox redirects to another host.
    other.serve(f"/c/{name}/moderators", collection(f"{other.base}/c/{name}/moderators", [mallory]))
    forged = other.page(group, mallory, "Forged into the outbox")
    lemmy.group(name, moderators_url=f"{other.base}/c/{name}/moderators", posts=[lemmy.page(group, alice, "Real")])
    lemmy.redirect(f"/c/{name}/outbox", f"{other.base}/c/{name}/outbox")
    other.serve(f"/c/{name}/outbox", collection(f"{other.base}/c/{name}/outbox", [lemmy.announce(group, forged)]))
    # The featured collection is the community's own, and lists a post of this community: that one is taken.
    lemmy.serve(f"/c/{name}/featured", collection(f"{group}/featured", [lemmy.page(group, alice, "Pinned")]))

    found = await moot.user.ok_get("/resolve_object", q=group)
    community_id = found["community"]["community"]["id"]
    data = await moot.user.ok_get("/community", id=community_id)
    assert data["moderators"] == []
    listed = await moot.user.ok_get("/post/list", community_id=community_id, sort="New", type_="All", limit=50)
    assert [(p["post"]["name"], p["post"]["featured_community"]) for p in listed["posts"]] == [("Pinned", True)]


# --- a local URL of a remote actor redirects to its origin --------------------------------------------------


async def test_local_urls_of_remote_actors_redirect_to_their_origin(moot: Moot, lemmy: FakeLemmy) -> None:
    person, name = unique("rita"), unique("rivers")
    person_id = lemmy.person(person)
    lemmy.group(name)
    await moot.user.ok_get("/resolve_object", q=f"@{person}@{lemmy.host}")
    await moot.user.ok_get("/resolve_object", q=f"!{name}@{lemmy.host}")

    for path, origin in (
        (f"/u/{person}@{lemmy.host}", person_id),
        (f"/c/{name}@{lemmy.host}", f"{lemmy.base}/c/{name}"),
    ):
        r = await moot.http.get(path, headers=AP_ACCEPT)
        assert (r.status_code, r.headers.get("location")) == (308, origin), path
    r = await moot.http.get(f"/c/{unique('unknown')}@{lemmy.host}", headers=AP_ACCEPT)
    assert r.status_code == 404
    # `name@` our own host is the local actor itself.
    local = await make_community(moot.user)
    r = await moot.http.get(f"/c/{local['name']}@{moot.settings.hostname}", headers=AP_ACCEPT)
    assert r.status_code == 200 and r.json()["id"] == local["actor_id"]


# --- WebFinger's scheme follows the remote server (issue 17) --------------------------------------------------


async def test_webfinger_asks_https_first_and_the_debug_mode_falls_back_to_http(
    moot: Moot, remote: FakeRemote, lemmy: FakeLemmy
) -> None:
    name = unique("plain")
    ap_id = lemmy.person(name)
    before = len(remote.seen)
    assert await webfinger(moot.resolver(), name, lemmy.host, ("Person",)) == [(ap_id, "Person")]
    # This server speaks no TLS: the https attempt really happened, and was closed, before the http request.
    assert [(s.scheme, s.target.split("?")[0]) for s in remote.seen[before:]] == [
        ("tls closed", ""),
        ("http", "/.well-known/webfinger"),
    ]
    # A name it does not know: a 404 over http is an answer, not a reason to try anything else.
    before = len(remote.seen)
    with pytest.raises(Refused):
        await webfinger(moot.resolver(), unique("nobody"), lemmy.host, ("Person",))
    assert [s.scheme for s in remote.seen[before:]] == ["tls closed", "http"]


async def test_webfinger_over_tls_never_falls_back_to_http(moot: Moot, tmp_path: Path) -> None:
    """A server that speaks TLS is asked over https only, in debug mode too: its 404 is final, and a certificate
    we do not trust is a refusal. Without the debug mode (on port 443, through the test-only address allowlist),
    a server without TLS is never asked over http."""
    ca = CertificateAuthority.create(tmp_path, "resolve")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*ca.issue("localhost"))
    server = FakeRemote(tls=context)
    server.start()
    try:
        lemmy = FakeLemmy(server, f"localhost:{server.port}", scheme="https")
        name = unique("secure")
        ap_id = lemmy.person(name)
        trusted = dataclasses.replace(moot.settings, federation_ca_file=str(ca.pem))

        assert await webfinger(moot.resolver(trusted), name, lemmy.host, ("Person",)) == [(ap_id, "Person")]
        with pytest.raises(Refused):
            await webfinger(moot.resolver(trusted), unique("nobody"), lemmy.host, ("Person",))
        with pytest.raises(Refused):
            await webfinger(moot.resolver(), name, lemmy.host, ("Person",))  # the test CA is not trusted here
        await server.saw(3)  # the server thread notes a failed handshake after the client has given up
        assert [s.scheme for s in server.seen] == ["https", "https", "tls failed"]
    finally:
        server.stop()

    skip_unless_port_443_bindable()
    production = dataclasses.replace(
        moot.settings,
        federation_debug=False,
        federation_hosts="remote.test=127.0.3.9",
        federation_allow_addresses="127.0.3.9",
    )
    plain = FakeRemote(address="127.0.3.9", port=443)
    plain.start()
    try:
        FakeLemmy(plain, "remote.test").person(name)
        with pytest.raises(Refused):
            await webfinger(moot.resolver(production), name, "remote.test", ("Person",))
        assert [s.scheme for s in plain.seen] == ["tls closed"]
    finally:
        plain.stop()


# --- a fetch that follows a redirect from another server's local URL ------------------------------------------


@dataclass
class Node:
    db: DatabaseUnderTest
    server: ServerProcess

    @property
    def base(self) -> str:
        return self.server.base_url

    @property
    def domain(self) -> str:
        return urlsplit(self.base).netloc


@pytest.fixture(scope="module")
def alpha_beta(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Node]]:
    env = {"MOOT_FEDERATION_DEBUG": "true", "MOOT_RUN_JOBS": "false"}
    nodes: list[Node] = []
    try:
        for name, host in (("alpha", "127.0.3.1"), ("beta", "127.0.3.2")):
            db = make_database(tmp_path_factory.mktemp(name))
            nodes.append(Node(db, start_server(db, free_port(), env, host=host)))
        yield nodes[0], nodes[1]
    finally:
        for node in nodes:
            stop_server(node.server)
            drop_database(node.db)


async def _someone_on(node: Node, http: httpx.AsyncClient) -> Api:
    admin = Api(client=http)
    admin.jwt = (await admin.ok_post("/user/login", {"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD}))[
        "jwt"
    ]
    await admin.ok_put(
        "/site", {f"rate_limit_{bucket}": 10_000 for bucket in ("register", "post", "comment", "message")}
    )
    return await register(http)


async def test_an_object_fetched_through_another_servers_local_url_is_taken_at_its_origin(
    moot: Moot, alpha_beta: tuple[Node, Node]
) -> None:
    """Lemmy's "Fetch post via redirect": beta has alpha's post; asking beta for its copy redirects to alpha, and
    the object is accepted because its id is the URL it was finally fetched from."""
    alpha, beta = alpha_beta
    async with httpx.AsyncClient(base_url=alpha.base) as on_alpha, httpx.AsyncClient(base_url=beta.base) as on_beta:
        alice, bob = await _someone_on(alpha, on_alpha), await _someone_on(beta, on_beta)
        community = await make_community(alice)
        post = (await alice.ok_post("/post", {"name": "Travels", "community_id": community["id"]}))["post_view"]["post"]
        comment = (await alice.ok_post("/comment", {"post_id": post["id"], "content": "Far away"}))["comment_view"]
        comment = comment["comment"]
        # beta learns all of it from alpha.
        on_beta_post = (await bob.ok_get("/resolve_object", q=post["ap_id"]))["post"]["post"]
        on_beta_comment = (await bob.ok_get("/resolve_object", q=comment["ap_id"]))["comment"]["comment"]
        await bob.ok_get("/resolve_object", q=f"!{community['name']}@{alpha.domain}")

    # beta answers its local URLs of alpha's objects with a redirect to alpha...
    async with httpx.AsyncClient() as client:
        r = await client.get(f"{beta.base}/post/{on_beta_post['id']}", headers=AP_ACCEPT)
        assert (r.status_code, r.headers["location"]) == (308, post["ap_id"])

    # ...and a third server that asks beta takes each object at its origin, under its own id.
    found = await moot.user.ok_get("/resolve_object", q=f"{beta.base}/post/{on_beta_post['id']}")
    assert found["post"]["post"]["ap_id"] == post["ap_id"]
    found = await moot.user.ok_get("/resolve_object", q=f"{beta.base}/comment/{on_beta_comment['id']}")
    assert found["comment"]["comment"]["ap_id"] == comment["ap_id"]
    assert found["comment"]["post"]["ap_id"] == post["ap_id"]
    found = await moot.user.ok_get("/resolve_object", q=f"{beta.base}/u/{alice.name}@{alpha.domain}")
    assert found["person"]["person"]["actor_id"] == f"{alpha.base}/u/{alice.name}"
    found = await moot.user.ok_get("/resolve_object", q=f"{beta.base}/c/{community['name']}@{alpha.domain}")
    assert found["community"]["community"]["actor_id"] == community["actor_id"]
    # Resolved by URL, the community came with its moderators (alpha's own collection) and its posts.
    data = await moot.user.ok_get("/community", id=found["community"]["community"]["id"])
    assert [m["moderator"]["actor_id"] for m in data["moderators"]] == [f"{alpha.base}/u/{alice.name}"]
    listed = await moot.user.ok_get("/post/list", community_id=found["community"]["community"]["id"], type_="All")
    assert [p["post"]["ap_id"] for p in listed["posts"]] == [post["ap_id"]]
