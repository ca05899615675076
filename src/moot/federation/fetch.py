"""The one SSRF-guarded outbound HTTP client: pinned DNS, one checked redirect, deadline, size cap (R4).

Every outbound request of Moot goes through `fetch_json` (GET of an ActivityPub or JSON document) or `send`
(one request, redirects not followed, e.g. an inbox POST). Each hop resolves the host once, refuses any
non-public address, then connects to that pinned address while sending the original Host header and SNI,
so DNS rebinding cannot move the connection elsewhere."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import re
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import certifi
import httpx

from moot import __version__
from moot.db.engine import give_back_shared_read
from moot.federation.netguard import (
    HostMap,
    IPAddress,
    IPNetwork,
    ParsedTarget,
    UnsafeTarget,
    check_url,
    is_allowed_address,
    parse_ip,
)

T = TypeVar("T")
Resolver = Callable[[str, int], Awaitable[list[str]]]
# Called once per hop with (method, target, headers about to be sent); returns headers to add (HTTP signatures).
Signer = Callable[[str, ParsedTarget, Mapping[str, str]], Mapping[str, str]]

ACTIVITY_JSON = "application/activity+json"
LD_JSON = "application/ld+json"
AS_PROFILE = "https://www.w3.org/ns/activitystreams"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers the guard owns: a caller must not be able to redirect the request or keep the connection.
_RESERVED_HEADERS = frozenset({"host", "connection", "content-length", "transfer-encoding"})


def user_agent(hostname: str) -> str:
    """The User-Agent Moot sends, naming the instance so remote admins can reach it."""
    return f"Moot/{__version__} (+https://{hostname})"


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for outbound requests; `allow_insecure_and_private` is the MOOT_FEDERATION_DEBUG test mode
    (http, explicit ports and loopback/private addresses allowed).

    `ca_file` (MOOT_FEDERATION_CA_FILE) adds certificate authorities to certifi's. `static_hosts` and
    `allowed_networks` (MOOT_FEDERATION_HOSTS, MOOT_FEDERATION_ALLOW_ADDRESSES) are for test and lab setups: a
    fixed name table used instead of DNS, and addresses let through although not public. Every other rule
    (https, no explicit port, every other private address refused) stays on."""

    allow_insecure_and_private: bool = False
    timeout: float = 10.0
    max_bytes: int = 1 << 20
    max_redirects: int = 1
    max_depth: int = 32
    user_agent: str = field(default=f"Moot/{__version__}")
    ca_file: str = ""
    static_hosts: HostMap = ()
    allowed_networks: tuple[IPNetwork, ...] = ()
    # The site's allow and block lists (domain/instances.py), when the caller has them: a redirect to an instance
    # they refuse is not followed, so a permitted server cannot make us send a request to a refused one.
    permits_url: Callable[[str], bool] | None = None


class FetchError(Exception):
    """An outbound request that was refused or failed; `reason` is a short stable code."""

    def __init__(self, reason: str, detail: str = "", status: int | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class FetchedDocument:
    """A fetched JSON object; `url` is the final URL (after a redirect), equal to the document's id."""

    url: str
    data: dict[str, Any]
    content_type: str


@dataclass(frozen=True)
class RawResponse:
    """The outcome of `send`: status, headers and the (capped, decoded) body."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes


@dataclass(frozen=True)
class _Context:
    policy: FetchPolicy
    resolver: Resolver
    transport: httpx.AsyncBaseTransport | None
    headers: Mapping[str, str]
    signer: Signer | None
    kept: KeptConnections | None = None


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the system resolver (getaddrinfo), keeping every address in order."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError("dns", f"{host}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@functools.cache
def _ssl_context(extra_ca_file: str = "") -> ssl.SSLContext:
    """certifi's authorities, plus those of `extra_ca_file` (a PEM bundle) when one is configured."""
    context = ssl.create_default_context(cafile=certifi.where())
    if extra_ca_file:
        context.load_verify_locations(cafile=extra_ca_file)
    return context


# --- checks -------------------------------------------------------------------------------------------


def _check(url: str, policy: FetchPolicy) -> ParsedTarget:
    return check_url(url, allow_insecure=policy.allow_insecure_and_private)


def _canonical(ip: IPAddress) -> IPAddress:
    # Connect to the IPv4 address itself rather than its v4-mapped IPv6 form.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


async def _names(target: ParsedTarget, ctx: _Context) -> list[str]:
    if parse_ip(target.host) is not None:
        return [target.host]
    for host, fixed in ctx.policy.static_hosts:
        if host == target.host:
            return [str(ip) for ip in fixed]
    return await ctx.resolver(target.host, target.port)


async def _resolve(target: ParsedTarget, ctx: _Context) -> list[IPAddress]:
    names = await _names(target, ctx)
    addresses = [parse_ip(name) for name in names]
    valid = [a for a in addresses if a is not None]
    if not valid or len(valid) != len(addresses):
        raise FetchError("dns", f"{target.host}: no usable address")
    if not ctx.policy.allow_insecure_and_private:
        # ANY bad address refuses the host: a name that points inside, even partly, is not a remote server.
        # Only the addresses an operator listed in MOOT_FEDERATION_ALLOW_ADDRESSES are let through.
        bad = [a for a in valid if not is_allowed_address(_canonical(a), ctx.policy.allowed_networks)]
        if bad:
            raise FetchError("private address", f"{target.host} -> {bad[0]}")
    return list(dict.fromkeys(_canonical(a) for a in valid))


def _media_type(value: str) -> tuple[str, dict[str, str]]:
    media, *raw_params = value.split(";")
    params: dict[str, str] = {}
    for raw in raw_params:
        key, _, val = raw.partition("=")
        params[key.strip().lower()] = val.strip().strip('"').lower()
    return media.strip().lower(), params


def _check_content_type(value: str, accept_activitypub: bool) -> None:
    media, params = _media_type(value)
    if accept_activitypub:
        ok = media == ACTIVITY_JSON or (media == LD_JSON and AS_PROFILE in params.get("profile", "").split())
    else:
        ok = media == "application/json" or (media.startswith("application/") and media.endswith("+json"))
    if not ok:
        raise FetchError("content type", value or "(none)")


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, walked with an explicit stack (no recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Duplicate keys ({"id": a, "id": b}) are read differently by different parsers: refuse them.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


# The escape of half a UTF-16 pair (`\ud800`); only a document with one needs its strings looked at.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value: Any) -> bool:
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str) and _SURROGATE.search(node):
            return True
    return False


def parse_json_object(body: bytes, max_depth: int = 32) -> dict[str, Any]:
    """Strict JSON: UTF-8, a single top-level object, no trailing data, no NaN, no duplicate keys, depth capped,
    no lone surrogate (`"\\ud800"`: serde_json refuses it, so Lemmy does, and no UTF-8 text can store it)."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_no_constants, object_pairs_hook=_no_duplicates)
    except RecursionError as exc:
        raise FetchError("too deep", "JSON nesting") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, huge integers
        raise FetchError("invalid json", str(exc)[:200]) from exc
    if not isinstance(value, dict):
        raise FetchError("not an object", type(value).__name__)
    if _depth(value) > max_depth:
        raise FetchError("too deep", f"over {max_depth}")
    if _SURROGATE_ESCAPE.search(body) and _has_lone_surrogate(value):
        raise FetchError("invalid json", "a lone surrogate in a string")
    return value


def _same_document(id_value: Any, final: ParsedTarget, policy: FetchPolicy) -> ParsedTarget:
    """The parsed `id` of a fetched object; FetchError unless it is a valid URL without a fragment."""
    if not isinstance(id_value, str) or "#" in id_value:
        raise FetchError("id mismatch", f"id {id_value!r} for {final.url}")
    try:
        return _check(id_value, policy)
    except UnsafeTarget as exc:
        raise FetchError("id mismatch", f"id {id_value!r}: {exc}") from exc


# --- transport ------------------------------------------------------------------------------------------


def _request_headers(method: str, target: ParsedTarget, ctx: _Context, defaults: Mapping[str, str]) -> dict[str, str]:
    headers = {"User-Agent": ctx.policy.user_agent, "Accept-Encoding": "gzip", **defaults}
    for name, value in ctx.headers.items():
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"header {name} is set by the fetcher")
        headers[name] = value
    # Reuse a connection only through KeptConnections (one transport per host name): its TLS session was
    # verified for one host name only.
    if ctx.kept is None:
        headers["Connection"] = "close"
    headers["Host"] = target.host_header
    if ctx.signer is not None:
        headers.update(ctx.signer(method, target, dict(headers)))
    return headers


def _pinned_request(
    method: str, target: ParsedTarget, ip: IPAddress, headers: Mapping[str, str], content: bytes
) -> httpx.Request:
    url = httpx.URL(scheme=target.scheme, host=str(ip), port=target.port, raw_path=target.path.encode("ascii"))
    # TLS is verified against sni_hostname (the real host name), not the IP we connect to.
    return httpx.Request(method, url, headers=headers, content=content, extensions={"sni_hostname": target.host})


def _new_transport(policy: FetchPolicy, keep_alive: float = 0.0) -> httpx.AsyncHTTPTransport:
    kept = 1 if keep_alive else 0
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=kept, keepalive_expiry=keep_alive or None)
    context = _ssl_context(policy.ca_file)
    return httpx.AsyncHTTPTransport(verify=context, retries=0, trust_env=False, limits=limits)


KEEP_ALIVE_SECONDS = 4.0  # under the 5 s idle timeout of uvicorn and Node servers


class KeptConnections:
    """Keep-alive for a run of requests to the same hosts (a delivery worker's POSTs to its instance): one
    transport per scheme and host name, so a connection, and the TLS session verified for that name, only ever
    carries requests to that name. Every request is still resolved and its address checked by the guard; one to
    an address without an open connection opens a new one. `close()` when the run pauses: an idle connection
    is otherwise kept until `keep_alive` seconds have passed and the next request notices; `close_if_idle()`
    closes them once `keep_alive` seconds have passed since the last request ended.

    Without it every request opens its own connection (`Connection: close`): for a delivery worker that sends
    one activity after another to one instance, that was a TCP and TLS handshake, and their round trips, per
    activity."""

    def __init__(self, policy: FetchPolicy, keep_alive: float = KEEP_ALIVE_SECONDS) -> None:
        self.policy = policy
        self.keep_alive = keep_alive
        self._transports: dict[str, httpx.AsyncHTTPTransport] = {}
        self._last_used = 0.0  # time.monotonic() when the last request ended

    def transport_for(self, target: ParsedTarget) -> httpx.AsyncHTTPTransport:
        key = f"{target.scheme}://{target.host_header}"
        transport = self._transports.get(key)
        if transport is None:
            transport = self._transports[key] = _new_transport(self.policy, self.keep_alive)
        return transport

    @property
    def open(self) -> int:
        return len(self._transports)

    def used(self) -> None:
        self._last_used = time.monotonic()

    def idle_left(self) -> float:
        """Seconds before the connections are idle for `keep_alive` (0 or less: they are)."""
        return self.keep_alive - (time.monotonic() - self._last_used)

    async def close_if_idle(self) -> None:
        if self._transports and self.idle_left() <= 0:
            await self.close()

    async def close(self) -> None:
        transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            await transport.aclose()


async def _connect_any(transport: httpx.AsyncBaseTransport, requests: list[httpx.Request]) -> httpx.Response:
    """Try each resolved (already checked) address in order until one connects."""
    failure: Exception | None = None
    for request in requests:
        try:
            return await transport.handle_async_request(request)
        except httpx.ConnectError as exc:
            failure = exc
    raise FetchError("connect", str(failure))


@asynccontextmanager
async def _open(
    method: str, target: ParsedTarget, ctx: _Context, defaults: Mapping[str, str], content: bytes = b""
) -> AsyncIterator[httpx.Response]:
    """One checked hop: resolve, vet the addresses, connect to a pinned one; yields the streaming response."""
    addresses = await _resolve(target, ctx)
    headers = _request_headers(method, target, ctx, defaults)
    requests = [_pinned_request(method, target, ip, headers, content) for ip in addresses]
    async with AsyncExitStack() as stack:
        transport = ctx.transport or (ctx.kept.transport_for(target) if ctx.kept is not None else None)
        if transport is None:
            transport = await stack.enter_async_context(_new_transport(ctx.policy))
        if ctx.kept is not None:
            stack.callback(ctx.kept.used)  # after the response is closed (callbacks run last in, first out)
        response = await _connect_any(transport, requests)
        stack.push_async_callback(response.aclose)
        yield response


class _BoundedDecoder:
    """Content-Encoding decoding that never produces more than the caller's remaining budget (gzip bombs)."""

    def __init__(self, encoding: str) -> None:
        encoding = encoding.strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise FetchError("content encoding", encoding)
        # wbits 47 accepts gzip and zlib framing, which is what "deflate" means in practice.
        self._zlib = zlib.decompressobj(wbits=47) if encoding not in ("", "identity") else None

    def feed(self, chunk: bytes, budget: int) -> bytes:
        if self._zlib is None:
            return chunk
        try:
            # Output stops at `budget` (limit + 1), so an over-long body is caught by the caller's length check.
            return self._zlib.decompress(chunk, budget)
        except zlib.error as exc:
            raise FetchError("content encoding", str(exc)) from exc


async def _read_body(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError("too large", f"Content-Length {declared}")
    body, more = await _read_prefix(response, max_bytes)
    if more:
        raise FetchError("too large", f"over {max_bytes} bytes")
    return body


def _redirect_target(response: httpx.Response, current: ParsedTarget, policy: FetchPolicy) -> ParsedTarget | None:
    if response.status_code not in REDIRECT_STATUSES:
        return None
    location = response.headers.get("location")
    if not location:
        raise FetchError("http status", "redirect without Location", status=response.status_code)
    try:
        joined = httpx.URL(current.url).join(location)
    except (httpx.InvalidURL, ValueError) as exc:
        raise FetchError("invalid url", f"Location {location!r}") from exc
    target = _check(str(joined), policy)
    if policy.permits_url is not None and not policy.permits_url(target.url):
        raise FetchError("instance refused", f"redirect to {target.url}, blocked or not in the allowlist")
    return target


# --- public entry points --------------------------------------------------------------------------------


async def _guarded(policy: FetchPolicy, work: Awaitable[T]) -> T:
    """Run `work` under the total deadline, translating every lower-level failure into FetchError. The
    request's shared read connection, if any, is not held while the other server answers."""
    await give_back_shared_read()
    try:
        async with asyncio.timeout(policy.timeout):
            return await work
    except TimeoutError as exc:
        raise FetchError("timeout", f"over {policy.timeout} s") from exc
    except UnsafeTarget as exc:
        raise FetchError(exc.reason, str(exc)) from exc
    except (httpx.HTTPError, OSError) as exc:
        raise FetchError("network", str(exc) or type(exc).__name__) from exc


def _context(
    policy: FetchPolicy,
    headers: Mapping[str, str] | None,
    resolver: Resolver | None,
    transport: httpx.AsyncBaseTransport | None,
    signer: Signer | None,
    kept: KeptConnections | None = None,
) -> _Context:
    return _Context(policy, resolver or system_resolver, transport, dict(headers or {}), signer, kept)


async def _get_document(url: str, ctx: _Context, accept_activitypub: bool) -> tuple[ParsedTarget, str, bytes]:
    """GET with at most `max_redirects` redirects, every hop re-checked; returns (final, content type, body)."""
    policy = ctx.policy
    accept = ACTIVITY_JSON if accept_activitypub else "application/json"
    target = _check(url, policy)
    for _ in range(policy.max_redirects + 1):
        async with _open("GET", target, ctx, {"Accept": accept}) as response:
            next_target = _redirect_target(response, target, policy)
            if next_target is None:
                if response.status_code != 200:
                    raise FetchError("http status", str(response.status_code), status=response.status_code)
                content_type = response.headers.get("content-type", "")
                _check_content_type(content_type, accept_activitypub)
                return target, content_type, await _read_body(response, policy.max_bytes)
        target = next_target
    raise FetchError("too many redirects", f"more than {policy.max_redirects}")


async def _fetch_checked(url: str, ctx: _Context, accept_activitypub: bool, refetch: bool) -> FetchedDocument:
    final, content_type, body = await _get_document(url, ctx, accept_activitypub)
    data = parse_json_object(body, ctx.policy.max_depth)
    if accept_activitypub:
        claimed = _same_document(data.get("id"), final, ctx.policy)
        if claimed != final:
            # Same origin, other path: the object lives at its id, so ask there once (never another host).
            if refetch and claimed.same_origin(final):
                return await _fetch_checked(claimed.url, ctx, accept_activitypub, refetch=False)
            raise FetchError("id mismatch", f"id {data.get('id')!r} fetched from {final.url}")
    return FetchedDocument(url=final.url, data=data, content_type=content_type)


async def fetch_json(
    url: str,
    policy: FetchPolicy,
    *,
    accept_activitypub: bool = True,
    headers: Mapping[str, str] | None = None,
    resolver: Resolver | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    signer: Signer | None = None,
) -> FetchedDocument:
    """GET a JSON object through every R4 check. With `accept_activitypub` the Content-Type must be an
    ActivityPub one and the object's `id` must equal the final URL; without it (WebFinger, NodeInfo) any
    JSON type is accepted and there is no id check. Raises FetchError.

    A `transport` passed in is used as is (tests); it should not pool connections across host names."""
    ctx = _context(policy, headers, resolver, transport, signer)
    return await _guarded(policy, _fetch_checked(url, ctx, accept_activitypub, refetch=True))


async def send(
    method: str,
    url: str,
    policy: FetchPolicy,
    *,
    content: bytes = b"",
    headers: Mapping[str, str] | None = None,
    resolver: Resolver | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    signer: Signer | None = None,
    kept: KeptConnections | None = None,
) -> RawResponse:
    """One guarded request (e.g. an inbox POST); redirects are returned, not followed. Raises FetchError.
    With `kept` the connection is kept open for the next request to the same host (`KeptConnections`)."""
    ctx = _context(policy, headers, resolver, transport, signer, kept)
    return await _guarded(policy, _send_once(method.upper(), url, content, ctx))


async def _send_once(method: str, url: str, content: bytes, ctx: _Context) -> RawResponse:
    target = _check(url, ctx.policy)
    async with _open(method, target, ctx, {}, content) as response:
        body = await _read_body(response, ctx.policy.max_bytes)
        return RawResponse(target.url, response.status_code, response.headers, body)


# --- raw GET (link previews, the image proxy) -----------------------------------------------------------


@dataclass(frozen=True)
class FetchedBytes:
    """A fetched body of any type: the final URL (after checked redirects), its Content-Type and the bytes
    (`truncated` when the caller asked for only the first `max_bytes` of a longer body)."""

    url: str
    content_type: str
    body: bytes
    truncated: bool = False


async def _read_prefix(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    """The first `max_bytes` of the (decoded) body, and whether there was more; the rest is never read."""
    decoder = _BoundedDecoder(response.headers.get("content-encoding", ""))
    stream = response.stream
    if not isinstance(stream, httpx.AsyncByteStream):
        raise FetchError("network", "not an async stream")
    body = bytearray()
    async for chunk in stream:
        body += decoder.feed(chunk, max_bytes + 1 - len(body))
        if len(body) > max_bytes:
            return bytes(body[:max_bytes]), True
    return bytes(body), False


async def _get_bytes(url: str, ctx: _Context, accept: str, truncate: bool) -> FetchedBytes:
    policy = ctx.policy
    target = _check(url, policy)
    for _ in range(policy.max_redirects + 1):
        async with _open("GET", target, ctx, {"Accept": accept}) as response:
            next_target = _redirect_target(response, target, policy)
            if next_target is None:
                if response.status_code != 200:
                    raise FetchError("http status", str(response.status_code), status=response.status_code)
                content_type = response.headers.get("content-type", "")
                if truncate:
                    body, cut = await _read_prefix(response, policy.max_bytes)
                    return FetchedBytes(target.url, content_type, body, cut)
                return FetchedBytes(target.url, content_type, await _read_body(response, policy.max_bytes))
        target = next_target
    raise FetchError("too many redirects", f"more than {policy.max_redirects}")


async def fetch_bytes(
    url: str,
    policy: FetchPolicy,
    *,
    accept: str = "*/*",
    truncate: bool = False,
    resolver: Resolver | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FetchedBytes:
    """GET a body of any content type through every R4 check (public addresses only unless in debug mode, https,
    pinned DNS, each redirect re-checked, the policy's deadline and size cap). Over `policy.max_bytes` is a
    FetchError("too large"), or with `truncate` the first `max_bytes` (a web page's head is what a preview
    reads). The caller judges the content type. Raises FetchError."""
    ctx = _context(policy, None, resolver, transport, None)
    return await _guarded(policy, _get_bytes(url, ctx, accept, truncate))
