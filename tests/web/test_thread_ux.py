"""Reading and acting on a thread (issue 14, items 4, 6, 8, 9, 10) in headless Chromium at 1280 and 390 px: words
that do not break, touch targets, in-place updates that agree, deep threads, keyboard navigation, delete
confirmation, bylines, times, sidebars, and the comments that are new since the last visit; axe-core on the way."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from conftest import Api, make_comment, make_community, make_post, register
from web.live import CHROMIUM, WebServer
from web.test_axe import AXE
from web.test_browser import chromium, live_web  # noqa: F401 - the shared session fixtures

playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium")

DESKTOP, PHONE = 1280, 390

# Every word inside the matched elements, with the number of lines it is drawn on (more than one: broken inside).
BROKEN_WORDS = """(selector) => {
  const found = {checked: 0, broken: []};
  for (const el of document.querySelectorAll(selector)) {
    if (!el.getClientRects().length) continue;
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        found.checked += 1;
        if (lines.size > 1) found.broken.push(m[0]);
      }
    }
  }
  return found;
}"""


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

    async def open(self, width: int, account: Api | None = None, *, js: bool = True, height: int = 900) -> Any:
        context = await self.chromium.new_context(
            base_url=self.live.base_url,
            viewport={"width": width, "height": height},
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


async def serious(page: Any, label: str) -> list[str]:
    if not AXE.exists():
        return []
    await page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{label}: {v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


# --- 4. Words do not break inside -----------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
async def test_points_and_headers_do_not_break_inside_words(tabs: Tabs, live_web: WebServer, width: int) -> None:  # noqa: F811
    author = await tabs.account()
    community = await make_community(author, description="x")
    long_url = "https://example.org/" + "a-very-long-unbroken-path-segment" * 6
    post = await make_post(author, community["id"], name="A link that is long", url=long_url, body=f"See {long_url}")
    visitor = await tabs.open(width)
    checks = {
        "/?type=All&sort=New": ".post-row .vote, .post-row .meta",
        f"/post/{live_web.demo_post_id}": ".comment-head, .actions",
        "/communities": ".community-table th",
    }
    for path, selector in checks.items():
        await visitor.goto(path)
        found = await visitor.evaluate(BROKEN_WORDS, selector)
        assert found["checked"] >= 3, (path, found)
        assert found["broken"] == [], (path, width, found["broken"])
    # "1 point" as a visitor sees it on a listing row, and "Subscribers" in the table head, each on one line.
    await visitor.goto("/communities")
    header = visitor.locator(".community-table th", has_text="Subscribers")
    assert await header.evaluate("th => th.getClientRects().length") == 1
    # A long unbroken URL still breaks: the post page does not scroll sideways.
    await visitor.goto(f"/post/{post['id']}")
    assert await visitor.evaluate("document.documentElement.scrollWidth") <= width


# --- 6. Touch targets -----------------------------------------------------------------------------------------------

TARGETS = """(selector) => [...document.querySelectorAll(selector)]
  .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
  .slice(0, 12)
  .map(el => { const r = el.getBoundingClientRect(); return [el.className || el.tagName, r.width, r.height]; })"""


async def test_touch_targets_on_a_phone_and_a_compact_desktop(tabs: Tabs, live_web: WebServer) -> None:  # noqa: F811
    reader = await tabs.account()
    phone = await tabs.open(PHONE, reader)
    await phone.goto(f"/post/{live_web.demo_post_id}")
    for selector in (
        "li.comment .vote button",
        ".post-actions .vote button",
        "summary.fold",
        ".reply-box > summary",
        ".actions > a",
        ".actions .linklike",
        ".site-nav a",
    ):
        boxes = await phone.evaluate(TARGETS, selector)
        assert boxes, selector
        small = [b for b in boxes if b[1] < 43.5 or b[2] < 43.5]
        assert small == [], (selector, small)
    await phone.goto("/?type=All")
    rows = await phone.evaluate(TARGETS, ".post-row .vote button")
    assert rows and all(w >= 43.5 and h >= 43.5 for _, w, h in rows), rows

    desktop = await tabs.open(DESKTOP, reader)
    await desktop.goto(f"/post/{live_web.demo_post_id}")
    for selector, most in (("li.comment .vote button", 26), ("summary.fold", 20), (".reply-box > summary", 24)):
        boxes = await desktop.evaluate(TARGETS, selector)
        assert boxes and all(h <= most for _, _, h in boxes), (selector, boxes)
    # The desktop thread keeps its compact rows: an action row stays one short line there, and the phone's is a
    # row of 44 px targets.
    row = "el => el.getBoundingClientRect().height"
    desktop_row = await desktop.locator("li.comment .actions").first.evaluate(row)
    await phone.goto(f"/post/{live_web.demo_post_id}")
    phone_row = await phone.locator("li.comment .actions").first.evaluate(row)
    assert desktop_row <= 28 < 44 <= phone_row, (desktop_row, phone_row)


# --- 8. In-place updates agree ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
async def test_in_place_updates_stay_consistent(tabs: Tabs, width: int) -> None:
    author, reader = await tabs.account(), await tabs.account()
    community = await make_community(author)
    post = await make_post(author, community["id"])
    theirs = await make_comment(author, post["id"], "their comment")
    page = await tabs.open(width, reader)
    await page.goto(f"/post/{post['id']}")
    await page.evaluate("window.__stayed = true")
    item = page.locator(f"#c{theirs['id']}")
    await item.get_by_role("button", name="Upvote").click()
    await page.wait_for_function(
        "id => document.querySelector(`#c${id} [data-score]`).textContent === '2'", arg=theirs["id"]
    )
    assert await item.locator(".comment-head [data-points]").inner_text() == "2 points"

    # A reply: both comment counts follow.
    await page.get_by_label("Add a comment").fill("my reply")
    await page.get_by_role("button", name="Comment", exact=True).click()
    mine = page.locator("li.comment", has_text="my reply")
    await mine.wait_for()
    counts = await page.locator("[data-comment-count]").all_inner_texts()
    assert counts == ["2 comments", "2 comments"]

    # An edit: "(edited)" appears in the head, as after a reload.
    assert await mine.locator(".comment-head .edited").count() == 0
    await mine.locator("summary", has_text="edit").click()
    await mine.get_by_label("Edit your comment").fill("my edited reply")
    await mine.get_by_role("button", name="Save", exact=True).click()
    await mine.locator(".comment-head .edited").wait_for()
    assert "my edited reply" in await mine.locator(".comment-body").inner_text()
    assert await page.evaluate("window.__stayed") is True
    await page.reload()
    assert await page.locator("li.comment", has_text="my edited reply").locator(".comment-head .edited").count() == 1


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
async def test_a_vote_without_javascript_returns_to_the_comment(tabs: Tabs, live_web: WebServer, width: int) -> None:  # noqa: F811
    reader = await tabs.account()
    page = await tabs.open(width, reader, js=False, height=700)
    await page.goto(f"/post/{live_web.demo_post_id}")
    last = page.locator("li.comment").last
    comment_id = (await last.get_attribute("id") or "")[1:]
    await last.get_by_role("button", name="Upvote").first.click()
    await page.wait_for_url(f"**#c{comment_id}")
    await page.wait_for_load_state("load")
    # At the comment at once: no smooth scroll down from the top of the page.
    assert await page.evaluate("window.scrollY") > 500
    top = await page.locator(f"#c{comment_id}").evaluate("el => el.getBoundingClientRect().top")
    assert -2 < top < 700
    pressed = page.locator(f"#c{comment_id}").get_by_role("button", name="Upvote").first
    assert await pressed.get_attribute("aria-pressed") == "true"


# --- 9. Deep threads ----------------------------------------------------------------------------------------------


async def test_deep_threads_lines_continue_links_and_permalinks(tabs: Tabs) -> None:
    author = await tabs.account()
    community = await make_community(author)
    post = await make_post(author, community["id"])
    chain: list[int] = []
    for depth in range(11):
        made = await make_comment(author, post["id"], f"level {depth + 1}", chain[-1] if chain else None)
        chain.append(made["id"])
    found: list[str] = []
    for width in (DESKTOP, PHONE):
        page = await tabs.open(width)
        await page.goto(f"/post/{post['id']}")
        colours = await page.evaluate(
            "() => [...document.querySelectorAll('ol.children')].map(ol => getComputedStyle(ol).borderLeftColor)"
        )
        assert len(colours) == 7 and len(set(colours[:6])) == 6, colours
        assert colours[0] == colours[6]  # six colours, then again
        go_on = page.get_by_role("link", name=re.compile("Continue this thread"))
        assert await go_on.count() == 1
        await go_on.click()
        await page.wait_for_url(f"**/post/{post['id']}/comment/{chain[7]}#c{chain[7]}")
        assert await page.locator("li.comment").count() == 4
        assert await page.locator("li.comment.target").get_attribute("id") == f"c{chain[7]}"
        found += await serious(page, f"continued thread at {width}")
        # The permalink with its context: the branch from the top, the comment marked, scrolled to.
        await page.get_by_role("link", name="Show context").click()
        await page.wait_for_url("**context=1*")
        assert await page.locator("li.comment.target").get_attribute("id") == f"c{chain[7]}"
        assert await page.locator("li.comment").first.get_attribute("id") == f"c{chain[0]}"
        await page.goto(f"/comment/{chain[10]}")
        assert page.url.endswith(f"/post/{post['id']}/comment/{chain[10]}")
        context_link = page.locator(f"#c{chain[10]} .actions").get_by_role("link", name="context")
        assert (
            await context_link.get_attribute("href") == f"/post/{post['id']}/comment/{chain[10]}?context=1#c{chain[10]}"
        )
    assert found == []


async def test_j_and_k_move_between_top_level_comments(tabs: Tabs, live_web: WebServer) -> None:  # noqa: F811
    reader = await tabs.account()
    page = await tabs.open(DESKTOP, reader)
    await page.goto(f"/post/{live_web.demo_post_id}")
    assert await page.locator(".keys-hint").is_visible()
    tops = await page.evaluate("() => [...document.querySelectorAll('ol.tree > li.comment')].map(li => li.id)")
    assert len(tops) == 2
    focused = "() => document.activeElement.id"
    await page.keyboard.press("j")
    assert await page.evaluate(focused) == tops[0]
    await page.keyboard.press("j")
    assert await page.evaluate(focused) == tops[1]  # past every reply of the first
    await page.wait_for_function(
        "id => { const y=document.getElementById(id).getBoundingClientRect().top; return y > -2 && y < innerHeight; }",
        arg=tops[1],
    )
    await page.keyboard.press("j")
    assert await page.evaluate(focused) == tops[1]  # the last stays
    await page.keyboard.press("k")
    assert await page.evaluate(focused) == tops[0]
    # Typing in a text box is typing: j stays a letter there.
    box = page.get_by_label("Add a comment")
    await box.focus()
    await page.keyboard.type("jk")
    assert await box.input_value() == "jk"
    assert await page.evaluate(focused) == "new-comment"


# --- 10. Small things -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("js", [False, True], ids=["no-js", "js"])
async def test_deleting_asks_first(tabs: Tabs, js: bool) -> None:
    author = await tabs.account()
    community = await make_community(author)
    post = await make_post(author, community["id"])
    mine = await make_comment(author, post["id"], "think twice")
    page = await tabs.open(PHONE, author, js=js)
    await page.goto(f"/post/{post['id']}")
    item = page.locator(f"#c{mine['id']}")
    found: list[str] = []
    if js:
        asked: list[str] = []

        async def answer(dialog: Any) -> None:
            asked.append(dialog.message)
            await (dialog.dismiss() if len(asked) == 1 else dialog.accept())

        page.on("dialog", answer)
        await item.get_by_role("button", name="delete").click()
        assert asked == ["Delete your comment?"]
        assert await item.locator(".gone").count() == 0  # said no: nothing happened
        await item.get_by_role("button", name="delete").click()
        await page.wait_for_url(f"**/post/{post['id']}#c{mine['id']}")
        assert len(asked) == 2
    else:
        await item.get_by_role("button", name="delete").click()
        await page.get_by_role("heading", name="Delete your comment?").wait_for()
        assert "think twice" in await page.locator("blockquote").inner_text()
        await page.get_by_role("button", name="Delete the comment").click()
        await page.wait_for_url(f"**/post/{post['id']}#c{mine['id']}")
    assert await page.locator(f"#c{mine['id']} .gone").inner_text() == "Deleted by its author."
    # The post asks too; cancelling leaves it as it was.
    if not js:
        await page.locator(".post-actions").get_by_role("button", name="delete").click()
        await page.get_by_role("link", name="Cancel").click()
        await page.wait_for_url(f"**/post/{post['id']}")
        assert await page.locator("article .gone").count() == 0
    if js:
        # The confirmation page, reached with scripts on by a form that does not ask first, for axe-core.
        other = await make_comment(author, post["id"], "second thoughts")
        await page.goto(f"/post/{post['id']}")
        await page.locator(f"#c{other['id']} form[data-confirm]").evaluate("f => f.removeAttribute('data-confirm')")
        await page.locator(f"#c{other['id']}").get_by_role("button", name="delete").click()
        await page.get_by_role("heading", name="Delete your comment?").wait_for()
        found += await serious(page, "confirmation page")
    assert found == []


async def test_bylines_times_and_sidebars(tabs: Tabs) -> None:
    author = await tabs.account()
    await author.ok_put("/user/save_user_settings", {"display_name": "Ada Lovelace"})
    community = await make_community(author, description="Rules: **be kind** and [read this](https://example.org/r)")
    post = await make_post(author, community["id"])
    await make_comment(author, post["id"], "a signed comment")
    for width in (DESKTOP, PHONE):
        page = await tabs.open(width)
        await page.goto(f"/post/{post['id']}")
        person = page.locator("li.comment .comment-head a.person")
        assert await person.inner_text() == "Ada Lovelace"
        assert await person.get_attribute("title") == author.name
        time = page.locator("li.comment .comment-head time")
        assert re.fullmatch(r"now|\d+(m|h|d|w|mo|y)", await time.inner_text())
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", await time.get_attribute("title") or "")
        sidebar = page.locator("aside.sidebar .description")
        assert await sidebar.locator("strong").inner_text() == "be kind"
        assert await sidebar.get_by_role("link", name="read this").get_attribute("href") == "https://example.org/r"


async def test_new_comments_since_the_last_visit(tabs: Tabs) -> None:
    author, reader = await tabs.account(), await tabs.account()
    community = await make_community(author)
    post = await make_post(author, community["id"])
    await make_comment(author, post["id"], "seen before")
    page = await tabs.open(PHONE, reader)
    await page.goto(f"/post/{post['id']}")
    assert await page.locator(".new-comments").count() == 0  # a first visit marks nothing
    await page.get_by_label("Add a comment").fill("my own")
    await page.get_by_role("button", name="Comment", exact=True).click()
    await page.locator("li.comment", has_text="my own").wait_for()
    first = await make_comment(author, post["id"], "new one")
    await make_comment(author, post["id"], "new reply", first["id"])
    await page.goto(f"/post/{post['id']}")
    assert "2 new comments since your last visit" in await page.locator(".new-comments").inner_text()
    new = await page.locator("li.comment.is-new > .comment-head").all_inner_texts()
    assert len(new) == 2 and all("new" in head for head in new)
    assert await page.locator("li.comment.is-new", has_text="my own").count() == 0
    assert await page.locator("li.comment.is-new", has_text="seen before").count() == 0
    found = await serious(page, "thread with new comments")
    await page.reload()
    assert await page.locator(".new-comments").count() == 0
    assert await page.locator("li.comment.is-new").count() == 0
    assert found == []


async def test_thread_pages_have_no_serious_violations(tabs: Tabs, live_web: WebServer) -> None:  # noqa: F811
    reader = await tabs.account()
    found: list[str] = []
    for width in (DESKTOP, PHONE):
        for scheme in ("light", "dark"):
            page = await tabs.open(width, reader)
            await page.emulate_media(color_scheme=scheme)
            await page.goto(f"/post/{live_web.demo_post_id}")
            found += await serious(page, f"thread {width} {scheme}")
            await page.goto("/communities")
            found += await serious(page, f"communities {width} {scheme}")
    assert found == []
