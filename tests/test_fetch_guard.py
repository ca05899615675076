"""The SSRF-guarded fetcher (R4): refusals under the production policy, real fetches from a local server."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ipaddress
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from moot import __version__
from moot.federation.fetch import (
    FetchError,
    FetchPolicy,
    fetch_json,
    parse_json_object,
    send,
    user_agent,
)
from moot.federation.netguard import ParsedTarget, UnsafeTarget, check_url, is_public_address, normalise_host

AP = "application/activity+json"
DEBUG = FetchPolicy(allow_insecure_and_private=True)
PROD = FetchPolicy()


# --- a real local HTTP server serving crafted responses ----------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": AP})
    body: bytes = b""
    length: bool = True  # send Content-Length; without it the body ends when the connection closes
    trickle: float = 0.0  # seconds between single bytes of the body
    head_delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class LocalServer:
    """An HTTP/1.1 server on 127.0.0.1 built on asyncio streams; routes map a path to a crafted Reply."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply] = {}
        self.seen: list[Seen] = []
        self.sni: list[str | None] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self, tls: ssl.SSLContext | None = None) -> None:
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.sni.append(name)
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()

    def url(self, host: str, path: str, scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def json(self, path: str, doc: dict[str, Any], **kwargs: Any) -> None:
        self.routes[path] = Reply(body=json.dumps(doc).encode(), **kwargs)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.routes[path] = Reply(status=status, headers={"Location": location})

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            line, *header_lines = head.decode("latin-1").split("\r\n")
            method, path, _ = line.split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.seen.append(Seen(method, path, headers, body))
            await self._reply(writer, self.routes.get(path, Reply(status=404, body=b"{}")))
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            pass  # the test is over (a deliberately slow reply): end quietly
        finally:
            writer.close()

    async def _reply(self, writer: asyncio.StreamWriter, reply: Reply) -> None:
        await asyncio.sleep(reply.head_delay)
        lines = [f"HTTP/1.1 {reply.status} X", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in reply.headers.items()]
        if reply.length:
            lines.append(f"Content-Length: {len(reply.body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if reply.trickle:
            for i in range(len(reply.body)):
                writer.write(reply.body[i : i + 1])
                await writer.drain()
                await asyncio.sleep(reply.trickle)
        else:
            writer.write(reply.body)
        await writer.drain()


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    srv = LocalServer()
    await srv.start()
    yield srv
    await srv.close()


class FakeDns:
    """An injected resolver: a fixed table, recording every lookup (no network)."""

    def __init__(self, table: Mapping[str, list[str]]) -> None:
        self.table = dict(table)
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return self.table.get(host, [])


def local_dns(*hosts: str) -> FakeDns:
    return FakeDns({h: ["127.0.0.1"] for h in hosts})


def recording_transport(
    handler: Callable[[httpx.Request], httpx.Response] | None = None,
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """For production-policy paths (public IPs, https), where no real server can answer: records requests."""
    requests: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if handler is None:
            raise AssertionError("the guard should have refused before connecting")
        return handler(request)

    return httpx.MockTransport(handle), requests


async def refused(awaitable: Awaitable[Any]) -> FetchError:
    with pytest.raises(FetchError) as info:
        await awaitable
    return info.value


# --- netguard: pure checks ---------------------------------------------------------------------------------


def test_normalise_host_lowercases_strips_one_dot_and_idna_encodes() -> None:
    assert normalise_host("Bücher.Example.") == "xn--bcher-kva.example"
    assert normalise_host("LEMMY.World.") == "lemmy.world"
    assert normalise_host("xn--bcher-kva.example") == "xn--bcher-kva.example"
    assert normalise_host("[::1]") == "::1"
    assert normalise_host("[0:0::1]") == "::1"


@pytest.mark.parametrize(
    "host", ["", ".", "a.com..", "a..b", "-a.com", "a_b.com", "exa mple.com", "127.1", "0x7f.1", "a" * 64 + ".com"]
)
def test_normalise_host_refuses_invalid(host: str) -> None:
    with pytest.raises(UnsafeTarget):
        normalise_host(host)


NON_PUBLIC = [
    "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
    "0.1.2.3",
    "10.0.0.1",
    "100.64.0.1",
    "127.0.0.1",
    "169.254.169.254",
    "172.16.0.1",
    "192.0.0.9",
    "192.0.2.1",
    "192.168.1.1",
    "198.18.0.1",
    "198.51.100.1",
    "203.0.113.1",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "3fff::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:0.0.0.0",
    "::127.0.0.1",
    "::ffff:0:a00:1",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::1",
    "2002:7f00:1::1",
    "2002:c0a8:101::1",
    "2001::1",
]


@pytest.mark.parametrize("address", NON_PUBLIC)
def test_is_public_address_refuses_special_ranges(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_is_public_address_accepts_global_unicast(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


def test_check_url_production_rules() -> None:
    assert check_url("HTTPS://Lemmy.World.:443/c/x?a=1#frag", False) == ParsedTarget(
        "https", "lemmy.world", 443, "/c/x?a=1"
    )
    assert check_url("https://Bücher.example", False).host == "xn--bcher-kva.example"
    for url, reason in [
        ("http://lemmy.world/c/x", "insecure scheme"),
        ("ftp://lemmy.world/x", "insecure scheme"),
        ("https://u:p@lemmy.world/", "userinfo"),
        ("https://@lemmy.world/", "userinfo"),
        ("https://lemmy.world:8443/", "port"),
        ("https://lemmy.world\\@evil.example/", "invalid url"),
        ("https://lemmy.world/a b", "invalid url"),
        ("https://2130706433/", "invalid host"),
        ("https:///x", "invalid host"),
    ]:
        with pytest.raises(UnsafeTarget) as info:
            check_url(url, False)
        assert info.value.reason == reason, url


def test_check_url_debug_mode_allows_http_and_ports_but_not_userinfo() -> None:
    assert check_url("http://localhost:8536/u/a", True) == ParsedTarget("http", "localhost", 8536, "/u/a")
    assert check_url("http://localhost:8536/", True).host_header == "localhost:8536"
    with pytest.raises(UnsafeTarget):
        check_url("http://u@localhost:8536/", True)
    with pytest.raises(UnsafeTarget):
        check_url("gopher://localhost/", True)


def test_user_agent_names_version_and_instance() -> None:
    assert user_agent("moot.example") == f"Moot/{__version__} (+https://moot.example)"


# --- refusals under the production policy (no connection is ever made) ------------------------------------


async def test_http_url_refused_in_production() -> None:
    transport, requests = recording_transport()
    err = await refused(fetch_json("http://remote.example/u/a", PROD, resolver=FakeDns({}), transport=transport))
    assert err.reason == "insecure scheme"
    assert requests == []


@pytest.mark.parametrize(
    "addresses",
    [
        ["127.0.0.1"],
        ["10.0.0.5"],
        ["169.254.169.254"],
        ["fe80::1"],
        ["::ffff:127.0.0.1"],
        ["64:ff9b::a00:1"],
        ["0.0.0.0"],  # noqa: S104 - an address to refuse, not one to bind
        ["fd00::1"],
        ["100.64.0.1"],
        ["93.184.216.34", "10.0.0.1"],  # one bad address is enough: a rebinding resolver could pick it later
    ],
)
async def test_private_resolved_addresses_refused(addresses: list[str]) -> None:
    transport, requests = recording_transport()
    dns = FakeDns({"remote.example": addresses})
    err = await refused(fetch_json("https://remote.example/u/a", PROD, resolver=dns, transport=transport))
    assert err.reason == "private address"
    assert requests == []
    assert dns.calls == [("remote.example", 443)]


@pytest.mark.parametrize("url", ["https://127.0.0.1/u/a", "https://[::1]/u/a", "https://[::ffff:a00:1]/x"])
async def test_private_ip_literals_refused_without_dns(url: str) -> None:
    transport, requests = recording_transport()
    dns = FakeDns({})
    err = await refused(fetch_json(url, PROD, resolver=dns, transport=transport))
    assert err.reason == "private address"
    assert requests == [] and dns.calls == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://user:pw@remote.example/u/a", "userinfo"),
        ("https://remote.example:8443/u/a", "port"),
        ("https://remote.example./u/a\x00", "invalid url"),
    ],
)
async def test_url_shape_refused(url: str, reason: str) -> None:
    transport, requests = recording_transport()
    err = await refused(fetch_json(url, PROD, resolver=local_dns("remote.example"), transport=transport))
    assert err.reason == reason
    assert requests == []


async def test_unresolvable_host_refused() -> None:
    err = await refused(fetch_json("https://nowhere.example/u/a", PROD, resolver=FakeDns({})))
    assert err.reason == "dns"


async def test_production_fetch_connects_to_pinned_ip_with_host_header_and_sni() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        doc = {"id": "https://xn--bcher-kva.example/u/alice", "type": "Person"}
        return httpx.Response(200, headers={"Content-Type": AP}, json=doc)

    transport, requests = recording_transport(answer)
    dns = FakeDns({"xn--bcher-kva.example": ["93.184.216.34"]})
    policy = FetchPolicy(user_agent=user_agent("moot.example"))
    doc = await fetch_json("https://Bücher.example./u/alice", policy, resolver=dns, transport=transport)
    assert doc.data["type"] == "Person"
    assert doc.url == "https://xn--bcher-kva.example/u/alice"
    [request] = requests
    assert request.url.host == "93.184.216.34"
    assert request.url.scheme == "https" and request.url.raw_path == b"/u/alice"
    assert request.headers["host"] == "xn--bcher-kva.example"
    assert request.extensions["sni_hostname"] == "xn--bcher-kva.example"
    assert request.headers["accept"] == AP
    assert request.headers["user-agent"] == f"Moot/{__version__} (+https://moot.example)"
    assert dns.calls == [("xn--bcher-kva.example", 443)]


async def test_redirect_to_private_address_refused() -> None:
    transport, requests = recording_transport(
        lambda r: httpx.Response(302, headers={"Location": "https://internal.example/admin"})
    )
    dns = FakeDns({"public.example": ["93.184.216.34"], "internal.example": ["10.1.2.3"]})
    err = await refused(fetch_json("https://public.example/u/a", PROD, resolver=dns, transport=transport))
    assert err.reason == "private address"
    assert len(requests) == 1
    assert [host for host, _ in dns.calls] == ["public.example", "internal.example"]


@pytest.mark.parametrize(
    ("location", "reason"),
    [("http://public.example/u/b", "insecure scheme"), ("https://public.example:8080/u/b", "port")],
)
async def test_redirect_rechecks_scheme_and_port(location: str, reason: str) -> None:
    transport, requests = recording_transport(lambda r: httpx.Response(301, headers={"Location": location}))
    dns = FakeDns({"public.example": ["93.184.216.34"]})
    err = await refused(fetch_json("https://public.example/u/a", PROD, resolver=dns, transport=transport))
    assert err.reason == reason
    assert len(requests) == 1


# --- real fetches from the local server (debug policy: http, ports and loopback allowed) -------------------


async def test_fetch_from_real_server_pins_loopback_and_sends_headers(server: LocalServer) -> None:
    url = server.url("remote.example", "/u/alice")
    server.json("/u/alice", {"id": url, "type": "Person", "name": "alice"})
    dns = local_dns("remote.example")
    policy = FetchPolicy(allow_insecure_and_private=True, user_agent=user_agent("moot.example"))
    doc = await fetch_json(url, policy, resolver=dns, headers={"X-Extra": "1"})
    assert doc.url == url
    assert doc.data == {"id": url, "type": "Person", "name": "alice"}
    assert doc.content_type == AP
    [seen] = server.seen
    assert seen.method == "GET" and seen.path == "/u/alice"
    assert seen.headers["host"] == f"remote.example:{server.port}"
    assert seen.headers["accept"] == AP
    assert seen.headers["user-agent"].startswith(f"Moot/{__version__} (+https://moot.example)")
    assert seen.headers["x-extra"] == "1"
    assert seen.headers["connection"] == "close"
    assert dns.calls == [("remote.example", server.port)]


async def test_connects_to_next_resolved_address_when_first_refuses(server: LocalServer) -> None:
    url = server.url("remote.example", "/u/a")
    server.json("/u/a", {"id": url})
    dns = FakeDns({"remote.example": ["127.0.0.2", "127.0.0.1"]})  # nothing listens on 127.0.0.2
    doc = await fetch_json(url, DEBUG, resolver=dns)
    assert doc.data["id"] == url


@pytest.mark.parametrize(
    "content_type",
    [
        "application/activity+json",
        "Application/Activity+JSON; charset=utf-8",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        'APPLICATION/LD+JSON;PROFILE="HTTPS://WWW.W3.ORG/NS/ACTIVITYSTREAMS"',
    ],
)
async def test_activitypub_content_types_accepted(server: LocalServer, content_type: str) -> None:
    url = server.url("remote.example", "/post/1")
    server.json("/post/1", {"id": url}, headers={"Content-Type": content_type})
    doc = await fetch_json(url, DEBUG, resolver=local_dns("remote.example"))
    assert doc.content_type == content_type


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "text/html", "application/ld+json", 'application/ld+json; profile="https://evil"', ""],
)
async def test_wrong_content_type_refused(server: LocalServer, content_type: str) -> None:
    url = server.url("remote.example", "/post/1")
    headers = {"Content-Type": content_type} if content_type else {}
    server.json("/post/1", {"id": url}, headers=headers)
    err = await refused(fetch_json(url, DEBUG, resolver=local_dns("remote.example")))
    assert err.reason == "content type"


async def test_plain_json_mode_for_webfinger(server: LocalServer) -> None:
    server.json(
        "/.well-known/webfinger", {"subject": "acct:a@remote.example"}, headers={"Content-Type": "application/jrd+json"}
    )
    url = server.url("remote.example", "/.well-known/webfinger")
    doc = await fetch_json(url, DEBUG, accept_activitypub=False, resolver=local_dns("remote.example"))
    assert doc.data["subject"] == "acct:a@remote.example"
    assert server.seen[0].headers["accept"] == "application/json"
    server.routes["/.well-known/webfinger"].headers = {"Content-Type": "text/html"}
    err = await refused(fetch_json(url, DEBUG, accept_activitypub=False, resolver=local_dns("remote.example")))
    assert err.reason == "content type"


async def test_one_redirect_followed_and_id_matches_final_url(server: LocalServer) -> None:
    final = server.url("remote.example", "/new")
    server.redirect("/old", "/new", status=301)
    server.json("/new", {"id": final})
    doc = await fetch_json(server.url("remote.example", "/old"), DEBUG, resolver=local_dns("remote.example"))
    assert doc.url == final
    assert [s.path for s in server.seen] == ["/old", "/new"]


async def test_redirect_to_other_host_is_resolved_again(server: LocalServer) -> None:
    final = server.url("other.example", "/u/b")
    server.redirect("/u/a", final)
    server.json("/u/b", {"id": final})
    dns = local_dns("remote.example", "other.example")
    doc = await fetch_json(server.url("remote.example", "/u/a"), DEBUG, resolver=dns)
    assert doc.url == final
    assert [h for h, _ in dns.calls] == ["remote.example", "other.example"]
    assert server.seen[1].headers["host"] == f"other.example:{server.port}"


async def test_id_of_pre_redirect_url_refused(server: LocalServer) -> None:
    # GoToSocial's fix: the id must match where the document really came from, after redirects.
    start = server.url("remote.example", "/u/a")
    server.redirect("/u/a", server.url("remote.example", "/upload/x.json"))
    server.json("/upload/x.json", {"id": start, "type": "Person"})
    err = await refused(fetch_json(start, DEBUG, resolver=local_dns("remote.example")))
    assert err.reason == "id mismatch"


async def test_two_redirects_refused(server: LocalServer) -> None:
    server.redirect("/r1", "/r2")
    server.redirect("/r2", "/doc")
    server.json("/doc", {"id": server.url("remote.example", "/doc")})
    err = await refused(fetch_json(server.url("remote.example", "/r1"), DEBUG, resolver=local_dns("remote.example")))
    assert err.reason == "too many redirects"
    assert [s.path for s in server.seen] == ["/r1", "/r2"]


async def test_redirect_without_location_refused(server: LocalServer) -> None:
    server.routes["/r"] = Reply(status=302, headers={})
    err = await refused(fetch_json(server.url("remote.example", "/r"), DEBUG, resolver=local_dns("remote.example")))
    assert err.reason == "http status" and err.status == 302


async def test_id_on_other_host_refused_without_refetch(server: LocalServer) -> None:
    server.json("/u/a", {"id": server.url("victim.example", "/u/a")})
    dns = local_dns("remote.example", "victim.example")
    err = await refused(fetch_json(server.url("remote.example", "/u/a"), DEBUG, resolver=dns))
    assert err.reason == "id mismatch"
    assert len(server.seen) == 1
    assert [h for h, _ in dns.calls] == ["remote.example"]


async def test_id_on_other_path_refetched_once(server: LocalServer) -> None:
    canonical = server.url("remote.example", "/u/alice")
    server.json("/@alice", {"id": canonical})
    server.json("/u/alice", {"id": canonical, "name": "alice"})
    doc = await fetch_json(server.url("remote.example", "/@alice"), DEBUG, resolver=local_dns("remote.example"))
    assert doc.url == canonical and doc.data["name"] == "alice"
    assert [s.path for s in server.seen] == ["/@alice", "/u/alice"]


async def test_id_chain_refused_after_one_refetch(server: LocalServer) -> None:
    server.json("/a", {"id": server.url("remote.example", "/b")})
    server.json("/b", {"id": server.url("remote.example", "/c")})
    server.json("/c", {"id": server.url("remote.example", "/c")})
    err = await refused(fetch_json(server.url("remote.example", "/a"), DEBUG, resolver=local_dns("remote.example")))
    assert err.reason == "id mismatch"
    assert [s.path for s in server.seen] == ["/a", "/b"]


@pytest.mark.parametrize("doc_id", [None, 42, "not a url", "{url}#main-key", "{url}?x=1"])
async def test_missing_or_different_id_refused(server: LocalServer, doc_id: Any) -> None:
    url = server.url("remote.example", "/u/a")
    doc = {} if doc_id is None else {"id": doc_id.format(url=url) if isinstance(doc_id, str) else doc_id}
    server.json("/u/a", doc)
    server.json("/u/a?x=1", {"id": "elsewhere"})
    err = await refused(fetch_json(url, DEBUG, resolver=local_dns("remote.example")))
    assert err.reason == "id mismatch"


async def test_id_comparison_is_on_parsed_urls(server: LocalServer) -> None:
    url = server.url("remote.example", "/u/a")
    server.json("/u/a", {"id": f"HTTP://REMOTE.EXAMPLE.:{server.port}/u/a"})
    doc = await fetch_json(url, DEBUG, resolver=local_dns("remote.example"))
    assert doc.url == url


@pytest.mark.parametrize("status", [404, 410, 500])
async def test_error_status_refused_with_status(server: LocalServer, status: int) -> None:
    server.routes["/gone"] = Reply(status=status, body=b"{}")
    err = await refused(fetch_json(server.url("remote.example", "/gone"), DEBUG, resolver=local_dns("remote.example")))
    assert err.reason == "http status" and err.status == status


def _padded_doc(url: str, size: int) -> bytes:
    head = json.dumps({"id": url, "pad": ""}).encode()
    return head[:-2] + b"x" * (size - len(head)) + head[-2:]


@pytest.mark.parametrize("declare_length", [True, False])
async def test_body_over_one_mib_refused(server: LocalServer, declare_length: bool) -> None:
    url = server.url("remote.example", "/big")
    server.routes["/big"] = Reply(body=_padded_doc(url, (1 << 20) + 1), length=declare_length)
    err = await refused(fetch_json(url, DEBUG, resolver=local_dns("remote.example")))
    assert err.reason == "too large"


async def test_body_of_exactly_one_mib_accepted(server: LocalServer) -> None:
    url = server.url("remote.example", "/big")
    server.routes["/big"] = Reply(body=_padded_doc(url, 1 << 20), length=False)
    doc = await fetch_json(url, DEBUG, resolver=local_dns("remote.example"))
    assert len(doc.data["pad"]) > 1_000_000


async def test_gzip_body_decoded_and_bomb_refused(server: LocalServer) -> None:
    url = server.url("remote.example", "/z")
    gz = {"Content-Type": AP, "Content-Encoding": "gzip"}
    server.routes["/z"] = Reply(headers=gz, body=gzip.compress(json.dumps({"id": url, "n": 1}).encode()))
    doc = await fetch_json(url, DEBUG, resolver=local_dns("remote.example"))
    assert doc.data["n"] == 1
    bomb = gzip.compress(_padded_doc(url, 8 << 20))
    assert len(bomb) < 100_000
    server.routes["/z"] = Reply(headers=gz, body=bomb)
    err = await refused(fetch_json(url, DEBUG, resolver=local_dns("remote.example")))
    assert err.reason == "too large"
    server.routes["/z"] = Reply(headers={"Content-Type": AP, "Content-Encoding": "br"}, body=b"??")
    err = await refused(fetch_json(url, DEBUG, resolver=local_dns("remote.example")))
    assert err.reason == "content encoding"


async def test_slow_body_hits_total_deadline(server: LocalServer) -> None:
    url = server.url("remote.example", "/slow")
    server.routes["/slow"] = Reply(body=json.dumps({"id": url, "pad": "x" * 100}).encode(), trickle=0.05)
    policy = FetchPolicy(allow_insecure_and_private=True, timeout=0.4)
    started = time.monotonic()
    err = await refused(fetch_json(url, policy, resolver=local_dns("remote.example")))
    assert err.reason == "timeout"
    assert time.monotonic() - started < 1.5  # the body alone would take over 6 s


async def test_slow_headers_hit_total_deadline(server: LocalServer) -> None:
    url = server.url("remote.example", "/slow")
    server.routes["/slow"] = Reply(body=b"{}", head_delay=5)
    err = await refused(fetch_json(url, FetchPolicy(True, timeout=0.3), resolver=local_dns("remote.example")))
    assert err.reason == "timeout"


async def test_slow_resolver_hits_total_deadline() -> None:
    async def stuck(host: str, port: int) -> list[str]:
        await asyncio.sleep(5)
        return ["93.184.216.34"]

    err = await refused(fetch_json("https://remote.example/u/a", FetchPolicy(timeout=0.2), resolver=stuck))
    assert err.reason == "timeout"


def _nested(depth: int) -> bytes:
    """A JSON object nested `depth` objects deep (the top level counts as 1)."""
    return ('{"id": "x", "a": ' + '{"a": ' * (depth - 1) + "1" + "}" * depth).encode()


def test_json_depth_limit() -> None:
    assert parse_json_object(_nested(32))["id"] == "x"
    for body in (_nested(33), _nested(200_000), b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"):
        with pytest.raises(FetchError) as info:
            parse_json_object(body)
        assert info.value.reason == "too deep"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"id": "x"} trailing', "invalid json"),
        (b'{"id": "x"}{"id": "y"}', "invalid json"),
        (b'[{"id": "x"}]', "not an object"),
        (b'"x"', "not an object"),
        (b'{"id": "x", "id": "y"}', "invalid json"),
        (b'{"n": NaN}', "invalid json"),
        (b'{"id": "\xff"}', "invalid json"),
        (b"", "invalid json"),
    ],
)
def test_strict_json(body: bytes, reason: str) -> None:
    with pytest.raises(FetchError) as info:
        parse_json_object(body)
    assert info.value.reason == reason


async def test_deep_json_refused_over_http(server: LocalServer) -> None:
    url = server.url("remote.example", "/deep")
    server.routes["/deep"] = Reply(body=_nested(40).replace(b'"x"', json.dumps(url).encode()))
    err = await refused(fetch_json(url, DEBUG, resolver=local_dns("remote.example")))
    assert err.reason == "too deep"


async def test_signer_sees_every_hop(server: LocalServer) -> None:
    server.redirect("/a", "/b")
    server.json("/b", {"id": server.url("remote.example", "/b")})
    signed: list[tuple[str, str, str]] = []

    def signer(method: str, target: ParsedTarget, headers: Mapping[str, str]) -> dict[str, str]:
        signed.append((method, target.path, headers["Host"]))
        return {"Signature": f"sig-{target.path}"}

    await fetch_json(server.url("remote.example", "/a"), DEBUG, resolver=local_dns("remote.example"), signer=signer)
    host = f"remote.example:{server.port}"
    assert signed == [("GET", "/a", host), ("GET", "/b", host)]
    assert [s.headers["signature"] for s in server.seen] == ["sig-/a", "sig-/b"]


async def test_caller_cannot_override_host_header(server: LocalServer) -> None:
    with pytest.raises(ValueError, match="Host"):
        await fetch_json(
            server.url("remote.example", "/a"), DEBUG, resolver=local_dns("remote.example"), headers={"Host": "x"}
        )
    assert server.seen == []


async def test_send_posts_body_and_does_not_follow_redirects(server: LocalServer) -> None:
    server.routes["/inbox"] = Reply(status=202, headers={}, body=b"")
    server.redirect("/moved", "http://127.0.0.1:1/inbox")
    dns = local_dns("remote.example")
    res = await send(
        "POST",
        server.url("remote.example", "/inbox"),
        DEBUG,
        content=b'{"type": "Follow"}',
        headers={"Content-Type": AP},
        resolver=dns,
    )
    assert res.status == 202
    assert server.seen[0].method == "POST" and server.seen[0].body == b'{"type": "Follow"}'
    assert server.seen[0].headers["host"] == f"remote.example:{server.port}"
    res = await send("POST", server.url("remote.example", "/moved"), DEBUG, content=b"{}", resolver=dns)
    assert res.status == 302
    assert len(server.seen) == 2


async def test_send_refuses_private_target_in_production() -> None:
    transport, requests = recording_transport()
    dns = FakeDns({"remote.example": ["192.168.0.10"]})
    err = await refused(send("POST", "https://remote.example/inbox", PROD, resolver=dns, transport=transport))
    assert err.reason == "private address"
    assert requests == []


# --- TLS: connect to the pinned IP, SNI and certificate checked against the host name ----------------------


def _tls_material(name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throwaway CA and a leaf certificate for `name`: (server context, client context trusting the CA)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Moot test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(*_write_pems(leaf, key))
    client_ctx = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return server_ctx, client_ctx


def _write_pems(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[str, str]:
    import tempfile

    folder = tempfile.mkdtemp()
    cert_path, key_path = f"{folder}/cert.pem", f"{folder}/key.pem"
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return cert_path, key_path


@pytest.fixture
async def tls_server() -> AsyncIterator[tuple[LocalServer, ssl.SSLContext]]:
    server_ctx, client_ctx = _tls_material("tls.example")
    srv = LocalServer()
    await srv.start(tls=server_ctx)
    yield srv, client_ctx
    await srv.close()


async def test_tls_to_pinned_ip_sends_sni_and_verifies_host_name(
    tls_server: tuple[LocalServer, ssl.SSLContext],
) -> None:
    srv, client_ctx = tls_server
    url = srv.url("tls.example", "/u/a", scheme="https")
    srv.json("/u/a", {"id": url})
    async with httpx.AsyncHTTPTransport(verify=client_ctx) as transport:
        doc = await fetch_json(url, DEBUG, resolver=local_dns("tls.example"), transport=transport)
    assert doc.url == url
    assert srv.sni == ["tls.example"]
    assert srv.seen[0].headers["host"] == f"tls.example:{srv.port}"


async def test_tls_certificate_for_another_name_refused(tls_server: tuple[LocalServer, ssl.SSLContext]) -> None:
    srv, client_ctx = tls_server
    url = srv.url("impostor.example", "/u/a", scheme="https")
    srv.json("/u/a", {"id": url})
    async with httpx.AsyncHTTPTransport(verify=client_ctx) as transport:
        err = await refused(fetch_json(url, DEBUG, resolver=local_dns("impostor.example"), transport=transport))
    assert err.reason == "connect"
    assert srv.sni == ["impostor.example"]
    assert srv.seen == []


async def test_tls_default_trust_store_refuses_unknown_ca(tls_server: tuple[LocalServer, ssl.SSLContext]) -> None:
    srv, _ = tls_server
    url = srv.url("tls.example", "/u/a", scheme="https")
    srv.json("/u/a", {"id": url})
    err = await refused(fetch_json(url, DEBUG, resolver=local_dns("tls.example")))
    assert err.reason == "connect"
    assert srv.seen == []
