"""Issue 10, finding 4: every API route draws from Lemmy's bucket for it (votes and reads from `message`, community
creation from `register`), a refusal says when to come back, the client address behind proxies is the one the
trusted proxy wrote, IPv6 is limited by network, and processes share their buckets through Redis when it is set."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import redis.asyncio as redis

from conftest import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    Api,
    DatabaseUnderTest,
    drop_database,
    free_port,
    make_database,
    settings_for,
    start_server,
    stop_server,
    unique,
)
from moot.app import create_app
from moot.db.site import LocalSiteRateLimit
from moot.http.ratelimit import Bucket, MemoryBuckets, RateLimiter, Rule, address_keys, api_bucket

REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "password-1234"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


# ------------------------------------------------------------------------------------------ the route table


@pytest.mark.parametrize(
    ("method", "path", "bucket"),
    [
        ("POST", "/api/v3/post", Bucket.POST),
        ("POST", "/api/v3/comment", Bucket.COMMENT),
        ("POST", "/api/v3/community", Bucket.REGISTER),
        ("POST", "/api/v3/user/register", Bucket.REGISTER),
        ("POST", "/api/v3/user/login", Bucket.REGISTER),
        ("POST", "/api/v3/user/password_reset", Bucket.REGISTER),
        ("GET", "/api/v3/user/get_captcha", Bucket.POST),
        ("GET", "/api/v3/user/export_settings", Bucket.IMPORT_USER_SETTINGS),
        ("POST", "/api/v3/user/import_settings", Bucket.IMPORT_USER_SETTINGS),
        ("GET", "/api/v3/search", Bucket.SEARCH),
        # Everything else is `message`: votes, edits, reads, resolve_object, the site itself.
        ("POST", "/api/v3/post/like", Bucket.MESSAGE),
        ("POST", "/api/v3/comment/like", Bucket.MESSAGE),
        ("PUT", "/api/v3/post", Bucket.MESSAGE),
        ("GET", "/api/v3/post", Bucket.MESSAGE),
        ("GET", "/api/v3/post/list", Bucket.MESSAGE),
        ("GET", "/api/v3/comment/list", Bucket.MESSAGE),
        ("PUT", "/api/v3/community", Bucket.MESSAGE),
        ("GET", "/api/v3/community", Bucket.MESSAGE),
        ("POST", "/api/v3/community/follow", Bucket.MESSAGE),
        ("GET", "/api/v3/resolve_object", Bucket.MESSAGE),
        ("GET", "/api/v3/site", Bucket.MESSAGE),
        ("PUT", "/api/v3/site", Bucket.MESSAGE),
        ("GET", "/api/v3/user", Bucket.MESSAGE),
        ("PUT", "/api/v3/user/save_user_settings", Bucket.MESSAGE),
        ("GET", "/api/v3/federated_instances", Bucket.MESSAGE),
        # Lemmy limits neither its image proxy nor anything outside the API (ActivityPub, nodeinfo, feeds).
        ("GET", "/api/v3/image_proxy", None),
        ("POST", "/inbox", None),
        ("GET", "/nodeinfo/2.1", None),
    ],
)
def test_api_routes_draw_from_lemmys_buckets(method: str, path: str, bucket: Bucket | None) -> None:
    assert api_bucket(method, path) == bucket


# ------------------------------------------------------------------------------------------ a fresh site


@dataclasses.dataclass
class Site:
    """A fresh site with Lemmy's default limits, and clients that each come from their own address."""

    app: Any
    stack: contextlib.AsyncExitStack

    async def client(self, address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 5000))
        client = httpx.AsyncClient(transport=transport, base_url="http://moot.test:8536")
        return await self.stack.enter_async_context(client)

    async def api(self, address: str) -> Api:
        return Api(client=await self.client(address))

    async def admin(self, address: str) -> Api:
        api = await self.api(address)
        data = await api.ok_post("/user/login", {"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD})
        api.jwt = data["jwt"]
        return api


@pytest.fixture
def fresh_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    db = make_database(tmp_path_factory.mktemp("buckets"))
    yield db
    drop_database(db)


@contextlib.asynccontextmanager
async def serving(db: DatabaseUnderTest, **overrides: Any) -> AsyncIterator[Site]:
    app = create_app(dataclasses.replace(settings_for(db), **overrides))
    async with app.router.lifespan_context(app), contextlib.AsyncExitStack() as stack:
        yield Site(app=app, stack=stack)


@pytest.fixture
async def site(fresh_db: DatabaseUnderTest) -> AsyncIterator[Site]:
    async with serving(fresh_db) as started:
        yield started


async def set_limits(admin: Api, **limits: int) -> None:
    await admin.ok_put("/site", {f"rate_limit_{name}": value for name, value in limits.items()})


def refused_with_retry_after(response: httpx.Response, most: int) -> int:
    assert (response.status_code, response.json()) == (400, {"error": "rate_limit_error"}), response.text
    wait = int(response.headers["retry-after"])
    assert 1 <= wait <= most
    return wait


async def test_votes_and_reads_draw_from_the_message_bucket(site: Site) -> None:
    admin = await site.admin("10.1.0.1")
    community = (await admin.ok_post("/community", {"name": unique("c"), "title": "Votes"}))["community_view"]
    post = await admin.ok_post("/post", {"name": "Vote on me", "community_id": community["community"]["id"]})
    voter = await site.api("10.1.0.2")
    voter.jwt = (
        await voter.ok_post("/user/register", {"username": unique(), "password": PASSWORD, "password_verify": PASSWORD})
    )["jwt"]
    await set_limits(admin, message=5, message_per_second=3600)
    like = {"post_id": post["post_view"]["post"]["id"], "score": 1}
    for _ in range(5):
        await voter.ok_post("/post/like", like)
    response = await voter.client.post("/api/v3/post/like", json=like, headers={"Authorization": f"Bearer {voter.jwt}"})
    # One token in 3600 / 5 seconds.
    refused_with_retry_after(response, most=720)
    # Reads share the bucket; another address has its own.
    refused_with_retry_after(await voter.client.get("/api/v3/post/list"), most=720)
    assert (await (await site.client("10.1.0.3")).get("/api/v3/post/list")).status_code == 200


async def test_an_answer_from_the_anonymous_cache_still_costs_its_token(fresh_db: DatabaseUnderTest) -> None:
    async with serving(fresh_db, anon_cache_seconds=600.0) as started:
        admin = await started.admin("10.2.0.1")
        await set_limits(admin, message=3, message_per_second=3600)
        reader = await started.client("10.2.0.2")
        statuses = [(await reader.get("/api/v3/post/list")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 400]


async def test_community_creation_shares_the_register_bucket_with_login(site: Site) -> None:
    admin = await site.admin("10.3.0.1")
    await set_limits(admin, register=3, register_per_second=3600)
    for _ in range(3):
        await admin.ok_post("/community", {"name": unique("c"), "title": "One more"})
    response = await admin.client.post(
        "/api/v3/community",
        json={"name": unique("c"), "title": "Too many"},
        headers={"Authorization": f"Bearer {admin.jwt}"},
    )
    refused_with_retry_after(response, most=1200)
    login = {"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD}
    refused_with_retry_after(await admin.client.post("/api/v3/user/login", json=login), most=1200)


async def test_a_refused_login_form_says_when_to_come_back(site: Site) -> None:
    admin = await site.admin("10.4.0.1")
    await set_limits(admin, register=1, register_per_second=3600)
    browser = await site.client("10.4.0.2")
    page = await browser.get("/login")
    token = _TOKEN.search(page.text)
    assert token is not None
    form = {"csrf_token": token.group(1), "username_or_email": ADMIN_NAME, "password": "wrong-password-1"}
    assert (await browser.post("/login", data=form)).status_code == 401
    response = await browser.post("/login", data=form)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3600"
    assert "Try again in 60 minutes." in response.text


# ------------------------------------------------------------------------------------------ addresses


async def test_behind_one_proxy_the_address_it_appended_counts(fresh_db: DatabaseUnderTest) -> None:
    async with serving(fresh_db, trusted_proxy_headers=True) as started:
        proxy = await started.client("127.0.0.1")
        admin = Api(client=proxy, extra_headers={"X-Forwarded-For": "192.0.2.10"})
        admin.jwt = (await admin.ok_post("/user/login", {"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD}))[
            "jwt"
        ]
        await set_limits(admin, search=2, search_per_second=3600)

        async def search(forwarded: str) -> int:
            response = await proxy.get("/api/v3/search", params={"q": "x"}, headers={"X-Forwarded-For": forwarded})
            return response.status_code

        # The client writes whatever it likes on the left; the proxy appends the address it saw.
        assert [await search(f"203.0.113.{i}, 198.51.100.7") for i in range(3)] == [200, 200, 400]
        assert await search("198.51.100.7") == 400
        assert await search("198.51.100.7, 198.51.100.8") == 200


async def test_behind_two_proxies_the_second_entry_from_the_right_counts(fresh_db: DatabaseUnderTest) -> None:
    async with serving(fresh_db, trusted_proxy_headers=True, trusted_proxy_count=2) as started:
        proxy = await started.client("127.0.0.1")
        admin = Api(client=proxy, extra_headers={"X-Forwarded-For": "192.0.2.10, 10.0.0.2"})
        admin.jwt = (await admin.ok_post("/user/login", {"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD}))[
            "jwt"
        ]
        await set_limits(admin, search=1, search_per_second=3600)

        async def search(forwarded: str) -> int:
            response = await proxy.get("/api/v3/search", params={"q": "x"}, headers={"X-Forwarded-For": forwarded})
            return response.status_code

        assert await search("203.0.113.1, 198.51.100.9, 10.0.0.2") == 200
        assert await search("203.0.113.2, 198.51.100.9, 10.0.0.2") == 400
        assert await search("198.51.100.10, 10.0.0.2") == 200


def test_ipv6_is_limited_by_network_as_lemmy() -> None:
    """Each /64 has the allowance, each /56 four times it and each /48 sixteen times (rate_limiter.rs)."""
    buckets, rule = MemoryBuckets(), Rule(capacity=1, per_seconds=3600)

    def allow(address: str) -> bool:
        return buckets.take(Bucket.POST, rule, address_keys(address), 0.0).allowed

    # Four /64s of one /56 pass, the fifth does not.
    assert [allow(f"2001:db8:1:1{i:02x}::1") for i in range(5)] == [True, True, True, True, False]
    # Nor does another address in a /64 that has had its request (written as a proxy may write it).
    assert not allow("[2001:db8:1:100::2]:443")
    # Another /56 of the same /48 has its own allowance.
    assert allow("2001:db8:1:200::1")
    # IPv4 inside IPv6, and with a port, is the IPv4 address.
    assert allow("::ffff:192.0.2.1")
    assert not allow("192.0.2.1:8080")


# ------------------------------------------------------------------------------------------ Redis


def _redis_or_skip() -> None:
    async def ping() -> None:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        try:
            await client.ping()
        finally:
            await client.aclose()

    try:
        asyncio.run(ping())
    except (OSError, redis.RedisError) as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({exc}): start it to test shared rate limits")


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A prefix of this test's own; its keys are removed afterwards."""
    _redis_or_skip()
    prefix = f"moot-test-{secrets.token_hex(6)}"
    yield prefix

    async def clean() -> None:
        client = redis.Redis.from_url(REDIS_URL)
        try:
            keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()

    asyncio.run(clean())


def limits(**values: int) -> LocalSiteRateLimit:
    row = LocalSiteRateLimit(local_site_id=1)
    for bucket in Bucket:
        setattr(row, bucket.value, values.get(bucket.value, 1000))
        setattr(row, f"{bucket.value}_per_second", values.get(f"{bucket.value}_per_second", 60))
    return row


async def test_limiters_sharing_redis_share_buckets_and_limits(redis_prefix: str) -> None:
    first, second = RateLimiter(REDIS_URL, redis_prefix), RateLimiter(REDIS_URL, redis_prefix)
    try:
        await first.configure(limits(post=3, post_per_second=3600), reset=False)
        await second.configure(limits(post=3, post_per_second=3600), reset=False)
        taken = [await limiter.check(Bucket.POST, "192.0.2.1") for limiter in (first, second, first, second)]
        assert [d.allowed for d in taken] == [True, True, True, False]
        assert 1 <= taken[-1].retry_after <= 1200
        # A change saved through one applies in the other at once, with full buckets.
        await first.configure(limits(post=1, post_per_second=3600))
        assert [(await second.check(Bucket.POST, "192.0.2.1")).allowed for _ in range(2)] == [True, False]
    finally:
        await first.close()
        await second.close()


async def test_without_redis_each_process_limits_from_memory(caplog: pytest.LogCaptureFixture) -> None:
    # A port nothing listens on: Redis is configured but does not answer.
    limiter = RateLimiter(f"redis://127.0.0.1:{free_port()}/0", "moot-test")
    try:
        with caplog.at_level(logging.WARNING, logger="moot.http.ratelimit"):
            await limiter.configure(limits(post=2, post_per_second=3600))
            allowed = [(await limiter.check(Bucket.POST, "192.0.2.1")).allowed for _ in range(3)]
        assert allowed == [True, True, False]
        warnings = [r for r in caplog.records if "does not answer" in r.getMessage()]
        assert len(warnings) == 1
    finally:
        await limiter.close()


def test_two_server_processes_share_buckets_through_redis(
    redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    db = make_database(tmp_path_factory.mktemp("shared"))
    shared = {"MOOT_REDIS_URL": REDIS_URL, "MOOT_REDIS_KEY_PREFIX": redis_prefix}
    quiet = {"MOOT_RUN_JOBS": "false", "MOOT_RUN_DELIVERY": "false"}
    servers = []
    try:
        servers.append(start_server(db, free_port(), {**shared, **quiet}))
        servers.append(start_server(db, free_port(), {**shared, **quiet}))
        first, second = (httpx.Client(base_url=s.base_url, timeout=30) for s in servers)
        with first, second:
            login = {"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD}
            jwt = first.post("/api/v3/user/login", json=login).json()["jwt"]
            limits_set = first.put(
                "/api/v3/site",
                json={"rate_limit_search": 3, "rate_limit_search_per_second": 3600},
                headers={"Authorization": f"Bearer {jwt}"},
            )
            assert limits_set.status_code == 200, limits_set.text
            statuses = [
                client.get("/api/v3/search", params={"q": "x"}).status_code
                for client in (first, second, first, second, first, second)
            ]
            # Three searches in all, not three per process; the limit saved through the first reached the second.
            assert statuses == [200, 200, 200, 400, 400, 400]
    finally:
        for server in servers:
            stop_server(server)
        drop_database(db)
