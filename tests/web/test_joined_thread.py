"""The joined thread of a link (issue 15) in headless Chromium, with and without JavaScript: the demo's two
discussions in one tree, badges, a reply from the joined thread landing on its own post, and the composer saying
where a link is already being discussed; axe-core on the joined page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from conftest import Api, make_comment, make_community, make_post, register, unique
from web.live import CHROMIUM, WebServer
from web.test_axe import AXE
from web.test_browser import chromium, live_web  # noqa: F401 - the shared session fixtures

playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium")


class Tabs:
    """Browser contexts for one test: logged in (an account's cookie) or not, with or without JavaScript."""

    def __init__(self, browser: Any, live: WebServer) -> None:
        self.chromium, self.live = browser, live
        self.contexts: list[Any] = []
        self.clients: list[httpx.AsyncClient] = []
        self.errors: list[str] = []

    async def account(self) -> Api:
        client = httpx.AsyncClient(base_url=self.live.base_url, timeout=20)
        self.clients.append(client)
        return await register(client)

    async def open(self, account: Api | None = None, *, js: bool = True) -> Any:
        context = await self.chromium.new_context(
            base_url=self.live.base_url,
            viewport={"width": 1280, "height": 900},
            java_script_enabled=js,
            bypass_csp=True,  # for axe-core, which is injected inline
        )
        self.contexts.append(context)
        if account is not None:
            await context.add_cookies([{"name": "jwt", "value": account.jwt, "url": self.live.base_url}])
        page = await context.new_page()
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()
        for client in self.clients:
            await client.aclose()


@pytest.fixture
async def tabs(chromium: Any, live_web: WebServer) -> AsyncIterator[Tabs]:  # noqa: F811
    opened = Tabs(chromium, live_web)
    yield opened
    await opened.close()
    assert opened.errors == []


@pytest.mark.parametrize("js", [True, False])
async def test_the_demo_reads_as_one_discussion(tabs: Tabs, live_web: WebServer, js: bool) -> None:  # noqa: F811
    page = await tabs.open(js=js)
    await page.goto(f"/post/{live_web.demo_post_id}")
    assert await page.locator(".crossposts a", has_text="news@beehaw.org").count() == 1
    assert await page.locator("ol.tree li.comment").count() == 28
    await page.get_by_role("link", name="All discussions (33 comments in 2 communities)").click()
    await page.wait_for_url("**discussion=all**")
    assert await page.locator("ol.tree li.comment").count() == 33
    # Each top-level comment names its community; the cross-post's own comments are among them.
    badges = await page.locator("ol.tree > li.comment > .comment-head .community-badge").all_inner_texts()
    assert set(badges) == {"worldnews", "news@beehaw.org"} and len(badges) == 4
    assert await page.get_by_text("Does anyone have the original interview?").count() == 1
    current = page.locator('.discussion-tabs a[aria-current="true"]')
    assert (await current.inner_text()).startswith("All discussions")
    # A sort keeps the joined view.
    await page.locator('nav[aria-label="Sort comments"] a', has_text="New").click()
    await page.wait_for_url("**sort=New**")
    assert "discussion=all" in page.url and await page.locator("ol.tree li.comment").count() == 33
    if js and AXE.exists():
        await page.add_script_tag(path=str(AXE))
        result = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        serious = [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == []


@pytest.mark.parametrize("js", [True, False])
async def test_a_reply_in_the_joined_thread_goes_to_its_own_post(tabs: Tabs, js: bool) -> None:
    author, reader = await tabs.account(), await tabs.account()
    link = f"https://news.example/{unique('story')}"
    here, there = await make_community(author), await make_community(author)
    home = await make_post(author, here["id"], url=link)
    away = await make_post(author, there["id"], url=link + "/")
    target = await make_comment(author, away["id"], "a comment in the other community")
    page = await tabs.open(reader, js=js)
    await page.goto(f"/post/{home['id']}?discussion=all")
    comment = page.locator(f"#c{target['id']}")
    await comment.locator(".reply-box > summary").first.click()
    text = f"reply {unique('r')}"
    await comment.locator(f"#reply-{target['id']}").fill(text)
    await comment.get_by_role("button", name="Reply").first.click()
    await page.get_by_text(text).first.wait_for()
    replies = await reader.ok_get("/comment/list", post_id=away["id"], max_depth=8)
    mine = [c for c in replies["comments"] if c["comment"]["content"] == text]
    assert len(mine) == 1 and mine[0]["comment"]["path"].split(".")[1] == str(target["id"])
    assert text not in {
        c["comment"]["content"] for c in (await reader.ok_get("/comment/list", post_id=home["id"]))["comments"]
    }


@pytest.mark.parametrize("js", [True, False])
async def test_the_composer_says_where_a_link_is_discussed(tabs: Tabs, js: bool) -> None:
    author, writer = await tabs.account(), await tabs.account()
    community = await make_community(author)
    link = f"https://news.example/{unique('story')}"
    existing = await make_post(author, community["id"], url=link)
    await make_comment(author, existing["id"], "already talking")
    page = await tabs.open(writer, js=js)
    await page.goto("/create_post")
    await page.fill("#post-url", link.replace("https://", "http://www.") + "?utm_source=x")
    if js:
        await page.locator("#post-name").focus()  # leaving the field asks the server
    else:
        await page.get_by_role("button", name="Check link").click()
    box = page.locator("#link-discussions")
    await box.get_by_text("This link is already being discussed").wait_for()
    assert await box.get_by_role("link", name=community["name"]).count() == 1
    assert "1 comment" in await box.inner_text()
    assert await box.get_by_role("link", name="join that discussion").get_attribute("href") == (
        f"/post/{existing['id']}?discussion=all#comments"
    )
    await box.get_by_role("link", name="cross-post with a link back").click()
    await page.wait_for_url(f"**crosspost={existing['id']}**")
    assert "cross-posted from:" in await page.locator("#post-body").input_value()
