"""The anonymous read cache (MOOT_ANON_CACHE_SECONDS): the same answer for everyone who is not logged in,
for a few seconds, computed once; never for logged-in readers, errors or web pages."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from conftest import Api, make_community, make_post
from moot.app import create_app
from moot.db.engine import count_queries
from moot.settings import Settings

# Long enough that a busy machine (the suite runs on parallel workers) answers twice within it; the expiry is then
# awaited by polling, never by a sleep that merely guesses.
TTL = 4.0


@pytest.fixture
async def cached(settings: Settings, admin: Api) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the suite's database, with the cache on (the suite's own app has it off)."""
    app = create_app(dataclasses.replace(settings, anon_cache_seconds=TTL), migrate=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40001))
        async with httpx.AsyncClient(transport=transport, base_url="http://moot.test:8536") as client:
            yield client


async def _titles(client: httpx.AsyncClient, community_id: int, **headers: str) -> tuple[list[str], httpx.Response]:
    reply = await client.get("/api/v3/post/list", params={"community_id": community_id, "sort": "New"}, headers=headers)
    assert reply.status_code == 200
    return [p["post"]["name"] for p in reply.json()["posts"]], reply


async def test_anonymous_readers_share_one_answer_for_a_few_seconds(cached: httpx.AsyncClient, user: Api) -> None:
    community = await make_community(user)
    await make_post(user, community["id"], name="first")
    titles, first = await _titles(cached, community["id"])
    assert titles == ["first"] and "age" not in first.headers
    assert first.headers["cache-control"].startswith("public")

    await make_post(user, community["id"], name="second")
    titles, again = await _titles(cached, community["id"])
    # Still the cached answer (its age in whole seconds: the second post may take a moment on a busy machine).
    assert titles == ["first"] and int(again.headers["age"]) < TTL
    assert again.content == first.content
    for name in ("x-content-type-options", "content-security-policy", "content-type"):
        assert again.headers.get(name) == first.headers.get(name), name

    # A logged-in reader sees the new post at once, and is never served from the cache.
    titles, mine = await _titles(cached, community["id"], authorization=f"Bearer {user.jwt}")
    assert titles == ["second", "first"] and "age" not in mine.headers
    assert mine.headers["cache-control"] == "private"
    cookie_reply = await cached.get(
        "/api/v3/post/list",
        params={"community_id": community["id"], "sort": "New"},
        headers={"cookie": f"jwt={user.jwt}"},
    )
    assert "age" not in cookie_reply.headers and len(cookie_reply.json()["posts"]) == 2

    deadline = asyncio.get_running_loop().time() + TTL + 10
    while True:
        titles, fresh = await _titles(cached, community["id"])
        if "age" not in fresh.headers or asyncio.get_running_loop().time() > deadline:
            break
        assert int(fresh.headers["age"]) <= TTL  # never older than its time
        await asyncio.sleep(0.2)
    assert titles == ["second", "first"] and "age" not in fresh.headers


async def test_errors_and_web_pages_are_not_cached(cached: httpx.AsyncClient, user: Api) -> None:
    for _ in range(2):
        missing = await cached.get("/api/v3/post", params={"id": 2_000_000_000})
        assert missing.status_code == 404 and "age" not in missing.headers
    community = await make_community(user)
    for _ in range(2):
        page = await cached.get(f"/c/{community['name']}")
        assert page.status_code == 200 and "age" not in page.headers
    # Writes are never answered from it, whatever the path.
    for _ in range(2):
        reply = await cached.post("/api/v3/post/list", json={})
        assert "age" not in reply.headers


async def test_concurrent_misses_run_the_query_once(cached: httpx.AsyncClient, user: Api) -> None:
    community = await make_community(user)
    await make_post(user, community["id"])
    path = f"/api/v3/post/list?community_id={community['id']}&sort=Hot&limit=7"
    async with count_queries() as alone:
        await cached.get(f"{path}&page=1")
    assert alone, "a miss runs the listing's SQL"

    async with count_queries() as together:
        replies: list[Any] = await asyncio.gather(*(cached.get(f"{path}&page=2") for _ in range(8)))
    assert all(r.status_code == 200 for r in replies)
    assert len({r.content for r in replies}) == 1
    # Eight readers, one computation. Only the listing's own statements are compared: the site's settings are
    # kept in memory for a few seconds, so whether a request reads them depends on when the last one did.
    assert len(_listing(together)) == len(_listing(alone)) == 1


def _listing(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM post" in s and "LIMIT" in s]
