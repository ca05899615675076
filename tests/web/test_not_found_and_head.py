"""Every unknown page is a page (issue 14, item 7): an HTML 404 in the site's layout for typos and unknown paths,
JSON kept for the API, pict-rs, ActivityPub, NodeInfo and WebFinger; HEAD answered wherever GET is."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import Api, make_community, make_post
from moot.demo.load import DemoSummary
from web.conftest import Browser
from web.dom import parse

AP = "application/activity+json"


@pytest.mark.parametrize(
    "path",
    ["/modlogs", "/settingz", "/nope/deeper/still", "/c/", "/post/1/nonsense", "/feeds/nothing.xml", "/index.php"],
)
async def test_unknown_paths_are_pages(browser: Browser, path: str) -> None:
    response = await browser.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    doc = parse(response.text)
    assert doc.find("h1").text() == "Page not found"
    assert any(a.attrs.get("href") == "/" for a in doc.find("main").find_all("a"))
    # The site's layout: its header with the navigation, and its stylesheet.
    assert doc.find("header") is not None and "/static/" in response.text
    # A typed address with a POST is no page either, and is answered the same way.
    assert (await browser.client.post(path)).status_code in (403, 404)


async def test_a_curl_without_accept_gets_the_page_too(browser: Browser) -> None:
    response = await browser.client.get("/modlogs", headers={"Accept": "*/*"})
    assert (response.status_code, response.headers["content-type"].split(";")[0]) == (404, "text/html")


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/api/v3/nope", "text/html"),
        ("/api/v3/post/nothing/here", "*/*"),
        ("/api", "text/html"),
        ("/pictrs/nothing/here", "text/html"),
        ("/.well-known/nothing", "text/html"),
        ("/nodeinfo/9.9", "text/html"),
        ("/activities/nothing", "text/html"),
        ("/some/unknown/thing", AP),
        ("/some/unknown/thing", "application/json"),
    ],
)
async def test_machine_routes_keep_their_json(browser: Browser, path: str, accept: str) -> None:
    response = await browser.client.get(path, headers={"Accept": accept})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "not_found"


async def test_activitypub_requests_for_pages_still_get_activitypub(
    browser: Browser, admin: Api, demo: DemoSummary
) -> None:
    response = await browser.client.get(f"/post/{demo.post_id}", headers={"Accept": AP})
    assert response.status_code == 200 and response.headers["content-type"].startswith(AP)
    missing = await browser.client.get("/post/999999999", headers={"Accept": AP})
    assert missing.status_code == 404 and not missing.headers["content-type"].startswith("text/html")


async def _pages(admin: Api, demo: DemoSummary) -> list[str]:
    community = await make_community(admin)
    post = await make_post(admin, community["id"])
    name = community["name"]
    return [
        "/",
        "/?listing=Local",
        f"/c/{name}",
        f"/post/{post['id']}",
        f"/post/{demo.post_id}",
        f"/u/{admin.name}",
        "/communities",
        "/search?q=news",
        "/login",
        "/signup",
        "/modlog",
        "/feeds/all.xml",
        "/feeds/local.xml",
        f"/feeds/c/{name}.xml",
        f"/feeds/u/{admin.name}.xml",
        "/static/moot.css",
        "/api/v3/site",
        "/nodeinfo/2.1",
    ]


async def test_head_is_answered_wherever_get_is(browser: Browser, admin: Api, demo: DemoSummary) -> None:
    for path in await _pages(admin, demo):
        got = await browser.client.get(path)
        head = await browser.client.head(path)
        assert got.status_code == 200, (path, got.status_code)
        assert head.status_code == 200, (path, head.status_code, head.headers)
        assert head.content == b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path
        length = head.headers.get("content-length")
        assert length is None or int(length) > 0, path


async def test_head_of_an_unknown_page_is_a_404_without_body(browser: Browser) -> None:
    head = await browser.client.head("/modlogs")
    assert head.status_code == 404 and head.content == b""
    assert head.headers["content-type"].startswith("text/html")
    assert (await browser.client.head("/api/v3/nope")).status_code == 404


async def test_head_over_a_real_server(live_server: Any) -> None:
    """uvicorn in front: the same answers over a socket, and the connection stays usable after a HEAD."""
    async with httpx.AsyncClient(base_url=live_server.base_url) as client:
        for path in ("/", "/feeds/all.xml", "/communities"):
            head = await client.head(path)
            assert head.status_code == 200, (path, head.status_code)
            assert head.content == b""
        assert (await client.get("/")).status_code == 200
        missing = await client.get("/modlogs")
        assert missing.status_code == 404 and "Page not found" in missing.text
