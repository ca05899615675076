"""Lemmy's default rate limits hold on a fresh site, answer `rate_limit_error`, and the admin can change them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from conftest import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    Api,
    DatabaseUnderTest,
    drop_database,
    make_database,
    settings_for,
    unique,
)
from moot.app import create_app
from moot.http.ratelimit import Bucket, MemoryBuckets, Rule, address_keys


@pytest.fixture
def fresh_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    # Sync on purpose: creating a PostgreSQL database runs its own event loop.
    db = make_database(tmp_path_factory.mktemp("ratelimit"))
    yield db
    drop_database(db)


@pytest.fixture
async def fresh(fresh_db: DatabaseUnderTest) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings_for(fresh_db))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("10.0.0.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://moot.test:8536") as client:
            yield client


async def _register(api: Api) -> tuple[int, dict[str, str]]:
    password = "password-1234"
    return await api.post("/user/register", {"username": unique(), "password": password, "password_verify": password})


async def test_register_bucket_defaults_to_three_per_hour(fresh: httpx.AsyncClient) -> None:
    api = Api(client=fresh)
    for _ in range(3):
        status, _body = await _register(api)
        assert status == 200
    status, body = await _register(api)
    assert (status, body) == (400, {"error": "rate_limit_error"})
    # Login shares the register bucket, as on Lemmy.
    status, body = await api.post("/user/login", {"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD})
    assert body == {"error": "rate_limit_error"}


async def test_admin_raises_the_limit(fresh: httpx.AsyncClient) -> None:
    api = Api(client=fresh)
    login = await api.ok_post("/user/login", {"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD})
    api.jwt = login["jwt"]
    site = await api.ok_put("/site", {"rate_limit_register": 6, "rate_limit_register_per_second": 3600})
    assert site["site_view"]["local_site_rate_limit"]["register"] == 6
    results = [(await _register(Api(client=fresh)))[0] for _ in range(7)]
    assert results == [200] * 6 + [400]


def test_bucket_refills_over_time() -> None:
    buckets, rule = MemoryBuckets(), Rule(capacity=2, per_seconds=10)

    def allow(address: str, now: float) -> bool:
        return buckets.take(Bucket.POST, rule, address_keys(address), now).allowed

    assert allow("10.0.0.1", now=0.0)
    assert allow("10.0.0.1", now=0.0)
    assert not allow("10.0.0.1", now=0.0)
    # Another address has its own bucket.
    assert allow("10.0.0.2", now=0.0)
    # Two tokens per ten seconds: one comes back after five.
    assert allow("10.0.0.1", now=5.0)
    assert not allow("10.0.0.1", now=5.0)
