"""End to end in headless Chromium against a real `moot` process: with JavaScript, and without it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from conftest import free_port, make_database, unique
from web.conftest import PASSWORD
from web.live import CHROMIUM, CHROMIUM_ARGS, WebServer, start_web_server, stop_web_server

playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium")


@pytest.fixture(scope="session")
def live_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    from conftest import drop_database

    db = make_database(tmp_path_factory.mktemp("web-live"))
    server = start_web_server(db.url, db.data_dir, free_port())
    yield server
    stop_web_server(server)
    drop_database(db)


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(chromium: Any, live_web: WebServer) -> AsyncIterator[Any]:
    context = await chromium.new_context(base_url=live_web.base_url, viewport={"width": 1280, "height": 900})
    tab = await context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    yield tab
    await context.close()
    # No script errors and no CSP refusals on any page a scenario visited.
    assert problems == []


async def sign_up(page: Any) -> str:
    name = unique("pw")
    await page.goto("/signup")
    await page.get_by_label("Username").fill(name)
    await page.locator("#signup-password").fill(PASSWORD)
    await page.locator("#signup-password-verify").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await page.wait_for_url("**/")
    assert await page.locator(".nav-account").get_by_role("link", name=name).count() == 1
    return name


async def test_example_thread(page: Any, live_web: WebServer) -> None:
    await page.goto(f"/post/{live_web.demo_post_id}")
    assert await page.locator("li.comment").count() == 28
    depth = await page.evaluate(
        """() => Math.max(...[...document.querySelectorAll('li.comment')].map(li => {
            let d = 0; for (let n = li; n; n = n.parentElement.closest('li.comment')) d++; return d; }))"""
    )
    assert depth == 7
    line = page.locator("p.crossposts")
    assert "news@beehaw.org" in await line.inner_text()
    assert await page.locator("li.comment blockquote").count() >= 5


async def test_post_reply_vote_and_collapse_with_javascript(page: Any, live_web: WebServer) -> None:
    await sign_up(page)
    community = unique("pwc")
    await page.goto("/create_community")
    await page.get_by_label("Name").fill(community)
    await page.get_by_label("Title").fill("Browser community")
    await page.get_by_role("button", name="Create").click()
    await page.wait_for_url(f"**/c/{community}")
    await page.get_by_role("link", name="New post").last.click()
    await page.get_by_label("Title").fill("Posted from Chromium")
    await page.get_by_label("Link").fill("https://example.org/chromium")
    await page.get_by_label("Text").fill("Some **bold** words")
    await page.get_by_role("button", name="Post").click()
    await page.wait_for_url("**/post/*")
    assert await page.locator("h1").inner_text() == "Posted from Chromium"
    assert await page.locator(".post-body strong").inner_text() == "bold"

    # A comment and a reply to it, both in place: the page never reloads.
    await page.evaluate("window.__stayed = true")
    await page.get_by_label("Add a comment").fill("A top comment")
    await page.get_by_role("button", name="Comment", exact=True).click()
    top = page.locator("li.comment").filter(has_text="A top comment").first
    await top.wait_for()
    await top.locator("summary", has_text="reply").click()
    await top.get_by_role("textbox").first.fill("A reply below it")
    await top.get_by_role("button", name="Reply", exact=True).click()
    reply = top.locator("ol.children li.comment").filter(has_text="A reply below it")
    await reply.wait_for()

    # Vote on the reply: the score and the pressed state change in place, and survive a reload.
    upvote = reply.get_by_role("button", name="Upvote").first
    assert await upvote.get_attribute("aria-pressed") == "true"  # your own comment starts upvoted
    await upvote.click()
    await page.wait_for_function("el => el.getAttribute('aria-pressed') === 'false'", arg=await upvote.element_handle())
    assert await reply.locator("[data-score]").first.inner_text() == "0"
    assert await page.evaluate("window.__stayed") is True

    # Collapse the top comment: its reply is hidden, then shown again.
    await top.locator("summary.fold").first.click()
    assert not await reply.is_visible()
    await top.locator("summary.fold").first.click()
    assert await reply.is_visible()

    await page.reload()
    reloaded = page.locator("li.comment").filter(has_text="A reply below it").last
    assert await reloaded.locator("[data-score]").first.inner_text() == "0"


async def test_reply_to_a_comment_of_the_example_thread(page: Any, live_web: WebServer) -> None:
    await sign_up(page)
    await page.goto(f"/post/{live_web.demo_post_id}")
    target = page.locator("li.comment").filter(has_text="Rest in peace comrade Petrov.").last
    await target.locator("summary", has_text="reply").click()
    await target.get_by_role("textbox").first.fill("Seconded.")
    await target.get_by_role("button", name="Reply", exact=True).click()
    await target.locator("ol.children li.comment", has_text="Seconded.").wait_for()
    await page.reload()
    assert await page.locator("li.comment").count() == 29


async def test_everything_works_without_javascript(chromium: Any, live_web: WebServer) -> None:
    context = await chromium.new_context(base_url=live_web.base_url, java_script_enabled=False)
    page = await context.new_page()
    await sign_up(page)
    await page.goto(f"/post/{live_web.demo_post_id}")
    comment = page.locator("li.comment").filter(has_text="Rest in peace comrade Petrov.").last
    await comment.get_by_role("button", name="Upvote").first.click()
    await page.wait_for_load_state()
    comment = page.locator("li.comment").filter(has_text="Rest in peace comrade Petrov.").last
    assert await comment.get_by_role("button", name="Upvote").first.get_attribute("aria-pressed") == "true"
    # Folding is <details>: it works with scripts off too.
    first = page.locator("li.comment").first
    await first.locator("summary.fold").first.click()
    assert not await first.locator(".comment-body").first.is_visible()
    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_url("**/")
    assert await page.get_by_role("link", name="Log in").count() == 1
    await context.close()


async def test_keyboard_skip_link_and_folding(page: Any, live_web: WebServer) -> None:
    await page.goto(f"/post/{live_web.demo_post_id}")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "main"
    fold = page.locator("summary.fold").first
    await fold.focus()
    await page.keyboard.press("Enter")
    first = page.locator("details.comment-fold").first
    assert await first.get_attribute("open") is None
    assert "replies hidden" in await page.locator("li.comment .comment-head").first.inner_text()
    await page.keyboard.press("Space")
    assert await first.get_attribute("open") == ""


async def test_phone_width_does_not_scroll_sideways(chromium: Any, live_web: WebServer) -> None:
    context = await chromium.new_context(base_url=live_web.base_url, viewport={"width": 360, "height": 740})
    page = await context.new_page()
    for path in (f"/post/{live_web.demo_post_id}", "/?type=All", "/c/worldnews", "/communities", "/signup"):
        await page.goto(path)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, (path, width)
    await context.close()
