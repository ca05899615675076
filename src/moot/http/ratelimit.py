"""Lemmy's rate limits: token buckets per client address, the route-to-bucket table, and the edge that applies it.

Lemmy 0.19 (crates/utils/src/rate_limit/, src/api_routes_http.rs) keeps seven buckets per address and puts
every API route in one: creating a post `post`, a comment `comment`, registering, logging in and creating a
community `register`, searching `search`, everything else, reads included, `message`. IPv6 addresses are
limited by their /64, /56 (4 times the allowance) and /48 (16 times), since anyone can pick a new address
inside their own network. A refused request gets Lemmy's `400 {"error":"rate_limit_error"}` and, from Moot,
`Retry-After`: the seconds until the bucket holds a token again.

The buckets live in this process's memory, or in Redis when `MOOT_REDIS_URL` is set, so that every process of
an instance draws from the same ones (http/ratelimit_redis.py). When Redis does not answer, each process falls
back to its own memory (logged once per outage) rather than refusing every request, and tries Redis again
every few seconds."""

from __future__ import annotations

import functools
import ipaddress
import logging
import math
import time
from dataclasses import dataclass
from enum import StrEnum

import orjson
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from moot.db.site import LocalSiteRateLimit
from moot.http.ratelimit_redis import SharedBuckets
from moot.settings import Settings

log = logging.getLogger(__name__)

MAX_TRACKED = 100_000
# After Redis fails, requests use memory buckets for this long before Redis is tried again.
SHARED_RETRY_SECONDS = 5.0
API_PREFIX = "/api/v3"


class Bucket(StrEnum):
    MESSAGE = "message"
    POST = "post"
    REGISTER = "register"
    IMAGE = "image"
    COMMENT = "comment"
    SEARCH = "search"
    IMPORT_USER_SETTINGS = "import_user_settings"


# Lemmy 0.19's assignment of routes to buckets (src/api_routes_http.rs), by method (None: any method) and path
# under /api/v3. Anything else under /api/v3 is `message`, reads included.
_API_ROUTES: dict[tuple[str | None, str], Bucket | None] = {
    ("POST", "/post"): Bucket.POST,
    ("POST", "/comment"): Bucket.COMMENT,
    ("POST", "/community"): Bucket.REGISTER,
    ("POST", "/user/register"): Bucket.REGISTER,
    ("POST", "/user/login"): Bucket.REGISTER,
    (None, "/user/password_reset"): Bucket.REGISTER,
    (None, "/user/get_captcha"): Bucket.POST,
    (None, "/user/export_settings"): Bucket.IMPORT_USER_SETTINGS,
    (None, "/user/import_settings"): Bucket.IMPORT_USER_SETTINGS,
    (None, "/search"): Bucket.SEARCH,
    # Lemmy mounts the image proxy outside every limiter.
    (None, "/image_proxy"): None,
}


def api_bucket(method: str, path: str) -> Bucket | None:
    """The bucket an API request draws from; None for a path outside /api/v3 and for the image proxy. An upload
    (`POST /pictrs/image`, outside /api/v3 as on Lemmy) draws from `image`."""
    if path == "/pictrs/image":
        return Bucket.IMAGE if method == "POST" else None
    if not path.startswith(API_PREFIX + "/"):
        return None
    route = path[len(API_PREFIX) :]
    if (method, route) in _API_ROUTES:
        return _API_ROUTES[(method, route)]
    return _API_ROUTES.get((None, route), Bucket.MESSAGE)


@dataclass(frozen=True, slots=True)
class Rule:
    """`capacity` requests, refilled evenly over `per_seconds` (Lemmy's `message` / `message_per_second`)."""

    capacity: int
    per_seconds: int

    @property
    def refill_seconds(self) -> int:
        return max(self.per_seconds, 1)


def rules_of(limits: LocalSiteRateLimit) -> dict[Bucket, Rule]:
    return {
        bucket: Rule(capacity=getattr(limits, bucket.value), per_seconds=getattr(limits, f"{bucket.value}_per_second"))
        for bucket in Bucket
    }


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    # Whole seconds until the request would pass (at least 1 when refused, 0 when allowed).
    retry_after: int = 0


ALLOWED = Decision(allowed=True)


def refused(wait_seconds: float) -> Decision:
    return Decision(allowed=False, retry_after=max(1, math.ceil(wait_seconds)))


# The keys an address is limited by, each with the factor its bucket's capacity is multiplied by.
AddressKeys = tuple[tuple[str, int], ...]


def _parse_ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:5678`."""
    text = address.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@functools.lru_cache(maxsize=8192)
def address_keys(address: str) -> AddressKeys:
    """IPv4: the address. IPv6: its /48, /56 and /64 networks with 16, 4 and 1 times the allowance, as Lemmy
    (rate_limiter.rs `split_ipv6`). Anything that is not an address is limited as the text it is."""
    ip = _parse_ip(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip is None:
        return ((address.strip()[:100] or "unknown", 1),)
    if isinstance(ip, ipaddress.IPv4Address):
        return ((str(ip), 1),)
    return tuple(
        (str(ipaddress.IPv6Network((int(ip) >> (128 - bits) << (128 - bits), bits))), factor)
        for bits, factor in ((48, 16), (56, 4), (64, 1))
    )


def request_address(request: Request, settings: Settings) -> str:
    """The client's address of a request as rate limits see it, per the proxy settings (never the leftmost hop)."""
    return client_address(request.scope, settings.trusted_proxy_headers, settings.trusted_proxy_count)


def client_address(scope: Scope, trust_proxy: bool, proxy_count: int = 1) -> str:
    """The address a request is limited by. Behind reverse proxies (`trust_proxy`) it is the one the outermost
    trusted proxy appended to X-Forwarded-For: with `proxy_count` proxies, the entry that many places from the
    right. Everything left of it was written by the client, so the leftmost entry is never trusted."""
    if trust_proxy:
        hops: list[str] = [
            hop.strip()
            for name, value in scope.get("headers", ())
            if name == b"x-forwarded-for"
            for hop in value.decode("latin-1").split(",")
        ]
        hops = [hop for hop in hops if hop]
        if hops:
            count = max(proxy_count, 1)
            return hops[-count] if len(hops) >= count else hops[0]
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


@dataclass(slots=True)
class _Tokens:
    tokens: float
    updated: float
    # The bucket's size and the seconds it takes to fill, as of the last request (to tell when it is full again).
    size: float
    refill_seconds: int

    def full_by(self, now: float) -> bool:
        return self.tokens + (now - self.updated) * self.size / self.refill_seconds >= self.size


def _draw(state: _Tokens, size: float, rule: Rule, now: float) -> float:
    """Refill `state` up to `now` and take a token if there is one: 0.0, or the seconds until there is one."""
    if now > state.updated:
        state.tokens = min(size, state.tokens + (now - state.updated) * size / rule.refill_seconds)
    state.updated = max(state.updated, now)
    state.size, state.refill_seconds = size, rule.refill_seconds
    if state.tokens >= 1.0:
        state.tokens -= 1.0
        return 0.0
    return (1.0 - state.tokens) * rule.refill_seconds / size if size > 0 else float(rule.refill_seconds)


class MemoryBuckets:
    """One process's buckets. A missing bucket is a full one; full buckets are forgotten when the map is large."""

    def __init__(self) -> None:
        self._state: dict[tuple[Bucket, str], _Tokens] = {}

    def reset(self) -> None:
        self._state.clear()

    def take(self, bucket: Bucket, rule: Rule, keys: AddressKeys, now: float) -> Decision:
        """Takes a token from each of the address's buckets that has one (as Lemmy does): refused if any had none."""
        wait = 0.0
        for key, factor in keys:
            size = float(rule.capacity * factor)
            state = self._state.get((bucket, key))
            if state is None:
                if len(self._state) >= MAX_TRACKED:
                    self._forget(now)
                state = self._state[(bucket, key)] = _Tokens(
                    tokens=size, updated=now, size=size, refill_seconds=rule.refill_seconds
                )
            wait = max(wait, _draw(state, size, rule, now))
        return refused(wait) if wait > 0 else ALLOWED

    def _forget(self, now: float) -> None:
        """Drops the buckets that are full again (as Lemmy's `remove_full_buckets`); all of them if none is."""
        for key in [k for k, state in self._state.items() if state.full_by(now)]:
            del self._state[key]
        if len(self._state) >= MAX_TRACKED:
            self._state.clear()


class RateLimiter:
    """The limits of the site (`local_site_rate_limit`) applied to buckets in Redis when configured, else (and
    while Redis does not answer) in memory."""

    def __init__(self, redis_url: str = "", key_prefix: str = "moot") -> None:
        self._rules: dict[Bucket, Rule] = {}
        self._memory = MemoryBuckets()
        self._shared = SharedBuckets(redis_url, key_prefix) if redis_url else None
        self._shared_down_until: float | None = None

    async def configure(self, limits: LocalSiteRateLimit, *, reset: bool = True) -> None:
        """Take the site's limits. `reset` (an admin changed them) starts every address with a full bucket of
        the new size, in every process when the buckets are shared; at start-up the buckets stay as they are."""
        self._rules = rules_of(limits)
        if reset:
            self._memory.reset()
        if self._shared is not None:
            try:
                shared = {bucket.value: (rule.capacity, rule.per_seconds) for bucket, rule in self._rules.items()}
                await self._shared.publish(shared, reset=reset)
            except (RedisError, OSError) as exc:
                self._shared_failed(exc)

    async def check(self, bucket: Bucket, address: str) -> Decision:
        rule = self._rules.get(bucket)
        if rule is None:
            return ALLOWED
        keys = address_keys(address)
        if self._shared is not None and self._shared_usable():
            try:
                allowed, wait = await self._shared.take(bucket.value, rule.capacity, rule.per_seconds, keys)
            except (RedisError, OSError) as exc:
                self._shared_failed(exc)
            else:
                if self._shared_down_until is not None:
                    log.warning("rate limits: Redis answers again; buckets are shared by every process again")
                    self._shared_down_until = None
                return ALLOWED if allowed else refused(wait)
        return self._memory.take(bucket, rule, keys, time.monotonic())

    def _shared_usable(self) -> bool:
        return self._shared_down_until is None or time.monotonic() >= self._shared_down_until

    def _shared_failed(self, exc: Exception) -> None:
        if self._shared_down_until is None:
            log.warning(
                "rate limits: Redis (MOOT_REDIS_URL) does not answer (%s); this process limits from its own memory "
                "until it does, retrying every %.0f s",
                exc,
                SHARED_RETRY_SECONDS,
            )
        self._shared_down_until = time.monotonic() + SHARED_RETRY_SECONDS

    async def close(self) -> None:
        if self._shared is not None:
            await self._shared.close()


def rate_limited_body() -> bytes:
    return orjson.dumps({"error": "rate_limit_error"})


class ApiRateLimits:
    """Applies Lemmy's buckets to every /api/v3 request before anything else runs (the anonymous cache
    included: a cached answer still costs its token, as every read does on Lemmy)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, trust_proxy: bool, proxy_count: int) -> None:
        self.app = app
        self.limiter = limiter
        self.trust_proxy = trust_proxy
        self.proxy_count = proxy_count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        bucket = api_bucket(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if bucket is not None:
            address = client_address(scope, self.trust_proxy, self.proxy_count)
            decision = await self.limiter.check(bucket, address)
            if not decision.allowed:
                body = rate_limited_body()
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(decision.retry_after).encode()),
                    (b"cache-control", b"no-store"),
                ]
                # Lemmy answers rate_limit_error with 400, and its clients expect that.
                await send({"type": "http.response.start", "status": 400, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
