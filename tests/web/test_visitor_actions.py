"""Logged-out readers see what they can do (issue 14, item 3): vote arrows, Subscribe and Reply are shown to
visitors and lead to the login form with a return address (`next`, only ever a path of this site), and back to
where they were after logging in or signing up; the first account, which becomes the admin, is told so."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import Api, DatabaseUnderTest, drop_database, make_comment, make_community, make_post, settings_for
from moot.app import create_app
from web.conftest import PASSWORD, Browser, new_browser
from web.dom import Element, parse


def _next_of(href: str) -> str:
    parts = urlsplit(href)
    assert parts.path == "/login", href
    return parse_qs(parts.query)["next"][0]


async def _doc(browser: Browser, path: str) -> Element:
    response = await browser.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return parse(response.text)


@pytest.fixture
async def thread(admin: Api) -> dict[str, Any]:
    community = await make_community(admin)
    post = await make_post(admin, community["id"])
    comment = await make_comment(admin, post["id"], "A comment to answer")
    return {"community": community, "post": post, "comment": comment}


async def test_visitors_see_vote_arrows_that_lead_to_login(browser: Browser, thread: dict[str, Any]) -> None:
    post_id, comment_id = thread["post"]["id"], thread["comment"]["id"]
    doc = await _doc(browser, f"/post/{post_id}")
    arrows = [a for a in doc.find_all("a") if a.attrs.get("title") == "Log in to vote"]
    targets = {_next_of(a.attrs["href"]) for a in arrows}
    assert {f"/post/{post_id}#p{post_id}", f"/post/{post_id}#c{comment_id}"} <= targets
    labels = {a.attrs["aria-label"] for a in arrows}
    assert "Upvote this post" in labels
    # No vote form for a visitor: nothing would accept it.
    assert not [f for f in doc.find_all("form") if f.attrs.get("action", "").endswith("/vote")]

    # Listings show them too.
    listing = await _doc(browser, f"/c/{thread['community']['name']}")
    row = listing.by_id(f"p{post_id}")
    assert any(a.attrs.get("title") == "Log in to vote" for a in row.find_all("a"))


async def test_visitors_see_reply_and_come_back_to_the_comment(browser: Browser, thread: dict[str, Any]) -> None:
    post_id, comment_id = thread["post"]["id"], thread["comment"]["id"]
    doc = await _doc(browser, f"/post/{post_id}")
    reply = doc.by_id(f"c{comment_id}").find("a", cls="reply-login")
    assert reply.text() == "reply"
    target = _next_of(reply.attrs["href"])
    assert target == f"/post/{post_id}#c{comment_id}"

    # The login form carries it, and sends the reader back there, where the reply box now is.
    login = await _doc(browser, reply.attrs["href"])
    assert login.find("input", name="next").attrs["value"] == target
    member = new_browser(browser.client._transport.app)  # type: ignore[attr-defined]
    try:
        await member.signup()
        await member.post("/logout", {})
        await member.get(reply.attrs["href"])
        response = await member.post("/login", {"username_or_email": member.name, "password": PASSWORD, "next": target})
        assert (response.status_code, response.headers["location"]) == (303, target)
        page = parse((await member.follow(response)).text)
        assert page.by_id(f"c{comment_id}").find("details", cls="reply-box") is not None
    finally:
        await member.close()


async def test_visitors_see_subscribe_and_sign_up_comes_back_too(browser: Browser, thread: dict[str, Any]) -> None:
    name = thread["community"]["name"]
    doc = await _doc(browser, f"/c/{name}")
    subscribe = [a for a in doc.find("aside", cls="sidebar").find_all("a") if a.text().startswith("Subscribe")]
    assert len(subscribe) == 1
    target = _next_of(subscribe[0].attrs["href"])
    assert target == f"/c/{name}"

    # No account yet: the login form's sign-up link keeps the return address, and signing up goes back there.
    login = await _doc(browser, subscribe[0].attrs["href"])
    signup_href = next(
        a.attrs["href"] for a in login.find_all("a") if a.text() == "Sign up" and "next" in a.attrs.get("href", "")
    )
    signup = await _doc(browser, signup_href)
    assert signup.find("input", name="next").attrs["value"] == target
    response = await browser.post(
        "/signup",
        {"username": f"v{thread['post']['id']}x", "password": PASSWORD, "password_verify": PASSWORD, "next": target},
    )
    assert (response.status_code, response.headers["location"]) == (303, target)
    page = parse((await browser.follow(response)).text)
    assert [b.text() for b in page.find("aside", cls="sidebar").find_all("button") if b.text() == "Subscribe"]


@pytest.mark.parametrize(
    "bad",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "evil.example"],
)
async def test_next_is_only_ever_a_local_path(browser: Browser, bad: str) -> None:
    login = parse((await browser.get("/login", next=bad)).text)
    assert login.find("input", name="next").attrs["value"] == "/"
    member = new_browser(browser.client._transport.app)  # type: ignore[attr-defined]
    try:
        await member.signup()
        await member.post("/logout", {})
        await member.get("/login")
        response = await member.post("/login", {"username_or_email": member.name, "password": PASSWORD, "next": bad})
        assert (response.status_code, response.headers["location"]) == (303, "/")
    finally:
        await member.close()


# --- the first account of a new site ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    from conftest import make_database

    db = make_database(tmp_path_factory.mktemp("first-admin"))
    yield db
    drop_database(db)


@pytest.fixture(scope="module")
async def fresh_site(fresh_db: DatabaseUnderTest) -> AsyncIterator[Any]:
    """A site with no configured admin: its first account becomes the admin, as on Lemmy."""
    settings = dataclasses.replace(settings_for(fresh_db), setup_admin_username="", setup_admin_password="")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def test_the_first_account_is_told_it_is_the_admin(fresh_site: Any) -> None:
    first, second = new_browser(fresh_site), new_browser(fresh_site)
    try:
        await first.get("/signup")
        response = await first.post(
            "/signup", {"username": "founder", "password": PASSWORD, "password_verify": PASSWORD}
        )
        assert (response.status_code, response.headers["location"]) == (303, "/admin?welcome=admin")
        page = await first.follow(response)
        assert page.status_code == 200
        notice = parse(page.text).find("p", cls="notice")
        assert "you are this site's admin" in notice.text()

        await second.get("/signup")
        response = await second.post(
            "/signup", {"username": "second", "password": PASSWORD, "password_verify": PASSWORD}
        )
        assert (response.status_code, response.headers["location"]) == (303, "/")
        # Not an admin: the welcome is not theirs, whatever the address says.
        later = await second.get("/?welcome=admin")
        assert "this site's admin" not in later.text
    finally:
        await first.close()
        await second.close()


# --- in a browser without JavaScript ---------------------------------------------------------------------------

playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")
from web.live import CHROMIUM  # noqa: E402
from web.test_browser import chromium, live_web  # noqa: E402, F401


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium")
async def test_a_visitor_votes_after_logging_in_without_javascript(chromium: Any, live_web: Any) -> None:  # noqa: F811
    context = await chromium.new_context(base_url=live_web.base_url, java_script_enabled=False)
    page = await context.new_page()
    try:
        # An account to log in with, made and logged out first.
        name = f"nojs{live_web.demo_post_id}{id(page) % 100000}"
        await page.goto("/signup")
        await page.locator("#signup-name").fill(name)
        await page.locator("#signup-password").fill(PASSWORD)
        await page.locator("#signup-password-verify").fill(PASSWORD)
        await page.get_by_role("button", name="Sign up").click()
        await page.get_by_role("button", name="Log out").click()
        await page.wait_for_url("**/")

        path = f"/post/{live_web.demo_post_id}"
        await page.goto(path)
        await page.get_by_role("link", name="Upvote this post").click()
        await page.wait_for_url(re.compile(r"/login\?next=/post/"))
        await page.get_by_label("Username or email").fill(name)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await page.wait_for_url(re.compile(re.escape(f"{path}#p{live_web.demo_post_id}") + "$"))
        # Back on the post, logged in: the arrow is a button now, and it votes.
        upvote = page.get_by_role("button", name="Upvote this post")
        await upvote.click()
        await page.wait_for_load_state()
        assert await page.get_by_role("button", name="Upvote this post").get_attribute("aria-pressed") == "true"
    finally:
        await context.close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium")
@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_pages_touched_have_no_serious_violations(chromium: Any, live_web: Any, scheme: str) -> None:  # noqa: F811
    """axe-core on what visitors now see: arrows and reply links on a thread, a remote community found by its
    handle (the demo's news@beehaw.org) with its Subscribe link, its page saying where it lives, a 404 page."""
    from web.test_axe import AXE, serious_violations

    if not AXE.exists():
        pytest.skip("axe-core is missing: cd tests/web && npm ci")
    context = await chromium.new_context(base_url=live_web.base_url, bypass_csp=True, color_scheme=scheme)
    page = await context.new_page()
    found: list[str] = []
    try:
        for path in (f"/post/{live_web.demo_post_id}", "/search?q=!news@beehaw.org", "/c/news@beehaw.org", "/modlogs"):
            found += await serious_violations(page, path)
        await page.goto("/search?q=!news@beehaw.org")
        assert await page.get_by_role("link", name="Subscribe to news@beehaw.org").count() == 1
        await page.goto("/c/news@beehaw.org")
        assert await page.locator("p.origin").inner_text() == (
            "news@beehaw.org · on beehaw.org: posts and comments come from there."
        )
    finally:
        await context.close()
    assert found == []
