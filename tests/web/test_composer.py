"""The composer (issue 14, item 5): limits shown, server-rendered preview without JavaScript, errors that name the
limit, text over a limit refused and given back (never cut), an expired form that keeps its text; in Chromium the
markdown toolbar, the in-place preview and the counter, with axe-core on the pages touched."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from conftest import Api, make_comment, make_community, make_post, register
from web.conftest import Browser
from web.dom import parse
from web.live import CHROMIUM, WebServer

# --- Without JavaScript, through the app (both backends) ---------------------------------------------------------


async def _post_count(api: Api, community_id: int) -> int:
    listed = await api.ok_get("/post/list", community_id=community_id, limit=50)
    return len(listed["posts"])


async def _comment_texts(api: Api, post_id: int) -> list[str]:
    listed = await api.ok_get("/comment/list", post_id=post_id, limit=50)
    return [c["comment"]["content"] for c in listed["comments"]]


async def test_forms_show_their_limits_and_cut_nothing(member: Browser, user: Api) -> None:
    doc = parse((await member.get("/create_post")).text)
    title, body = doc.by_id("post-name"), doc.by_id("post-body")
    # No maxlength: a browser cuts pasted text at it without a word.
    assert "maxlength" not in title.attrs and "maxlength" not in body.attrs
    assert "up to 200 characters" in doc.by_id("post-name-limit").text()
    assert "up to 50,000 characters" in doc.by_id("post-body-limit").text()
    assert title.attrs["aria-describedby"] == "post-name-limit"

    community = await make_community(user)
    post = await make_post(user, community["id"])
    comment = await make_comment(user, post["id"], "a comment to reply to")
    thread = parse((await member.get(f"/post/{post['id']}")).text)
    for box_id in ("new-comment", f"reply-{comment['id']}"):
        box = thread.by_id(box_id)
        assert "maxlength" not in box.attrs
        assert "up to 10,000 characters" in thread.by_id(f"{box_id}-limit").text()
    assert thread.find("button", cls="preview-button").text() == "Preview"


async def test_post_preview_without_javascript_keeps_the_text(member: Browser, user: Api) -> None:
    community = await make_community(user)
    await member.get(f"/create_post?community_id={community['id']}")
    body = "Some **bold** words and a [link](https://example.org/x)\n\n> quoted"
    answer = await member.post(
        "/create_post", {"name": "Previewed title", "body": body, "community_id": community["id"], "preview": "1"}
    )
    assert answer.status_code == 200
    doc = parse(answer.text)
    shown = doc.find("section", cls="preview")
    assert shown.find("strong").text() == "bold"
    assert shown.find("blockquote").text() == "quoted"
    # The preview sits above the kept text, and everything typed is still in the form.
    assert answer.text.index('class="preview"') < answer.text.index('id="post-body"')
    assert html.escape(body) in answer.text
    assert doc.by_id("post-name").attrs["value"] == "Previewed title"
    assert await _post_count(user, community["id"]) == 0
    # Posting from the preview page works with the token it carries.
    posted = await member.post(
        "/create_post", {"name": "Previewed title", "body": body, "community_id": community["id"]}
    )
    assert posted.status_code == 303
    assert await _post_count(user, community["id"]) == 1


async def test_title_over_the_limit_is_refused_and_kept(member: Browser, user: Api) -> None:
    community = await make_community(user)
    await member.get("/create_post")
    long_title = "A title that goes on " + "and on " * 40
    answer = await member.post("/create_post", {"name": long_title, "body": "text", "community_id": community["id"]})
    assert answer.status_code == 400
    doc = parse(answer.text)
    error = doc.find(cls="error").text()
    assert "200" in error and f"{len(long_title.strip()):,}" in error
    assert doc.by_id("post-name").attrs["value"] == long_title  # all of it, not the first 200
    assert await _post_count(user, community["id"]) == 0

    too_long_body = "x" * 50_001
    answer = await member.post("/create_post", {"name": "Fine", "body": too_long_body, "community_id": community["id"]})
    assert answer.status_code == 400
    assert "50,000" in parse(answer.text).find(cls="error").text()
    assert too_long_body in answer.text


async def test_comment_preview_and_limit_without_javascript(member: Browser, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    parent = await make_comment(user, post["id"], "the parent")
    await member.get(f"/post/{post['id']}")
    answer = await member.post(
        f"/post/{post['id']}/comment",
        {"content": "*leaning* text", "parent_id": parent["id"], "preview": "1", "next": f"/post/{post['id']}"},
    )
    assert answer.status_code == 200
    doc = parse(answer.text)
    assert doc.find("section", cls="preview").find("em").text() == "leaning"
    assert doc.by_id("compose-content").text() == "*leaning* text"
    assert doc.find("input", name="parent_id").attrs["value"] == str(parent["id"])
    assert await _comment_texts(user, post["id"]) == ["the parent"]
    sent = await member.post(f"/post/{post['id']}/comment", {"content": "*leaning* text", "parent_id": parent["id"]})
    assert sent.status_code == 303
    assert sorted(await _comment_texts(user, post["id"])) == ["*leaning* text", "the parent"]

    too_long = "y" * 10_001
    refused = await member.post(f"/post/{post['id']}/comment", {"content": too_long})
    assert refused.status_code == 400
    assert "10,000" in parse(refused.text).find(cls="error").text()
    assert too_long in refused.text
    as_json = await member.post(f"/post/{post['id']}/comment", {"content": too_long}, accept="application/json")
    assert as_json.status_code == 400 and "10,000" in as_json.json()["message"]
    preview = await member.post(
        f"/post/{post['id']}/comment", {"content": "**x**", "preview": "1"}, accept="application/json"
    )
    assert preview.json()["preview"].strip() == "<p><strong>x</strong></p>"


async def test_an_expired_comment_form_keeps_its_text(member: Browser, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await member.get(f"/post/{post['id']}")
    text = "A long thought I do not want to lose </textarea><script>alert(1)</script>"
    expired = await member.post(
        f"/post/{post['id']}/comment", {"content": text, "next": f"/post/{post['id']}"}, token="an-old-token"
    )
    assert expired.status_code == 403
    doc = parse(expired.text)
    assert "expired" in doc.find(cls="error").text()
    assert doc.by_id("compose-content").text() == text  # escaped, kept whole
    assert "<script>alert" not in expired.text
    assert await _comment_texts(user, post["id"]) == []
    # The page's fresh token sends it.
    sent = await member.post(f"/post/{post['id']}/comment", {"content": text, "next": f"/post/{post['id']}"})
    assert sent.status_code == 303 and sent.headers["location"].startswith(f"/post/{post['id']}#c")
    assert await _comment_texts(user, post["id"]) == [text]

    # Our script gets the fresh token in the answer and keeps the text in its box.
    as_json = await member.post(
        f"/post/{post['id']}/comment", {"content": "again"}, token="stale", accept="application/json"
    )
    assert as_json.status_code == 403
    fresh = as_json.json()["csrf_token"]
    retried = await member.post(
        f"/post/{post['id']}/comment", {"content": "again"}, token=fresh, accept="application/json"
    )
    assert retried.status_code == 200 and retried.json()["comments"] == 2


async def test_expired_edit_and_post_forms_keep_their_text(member: Browser, user: Api) -> None:
    community = await make_community(user)
    await member.get("/create_post")
    expired = await member.post(
        "/create_post", {"name": "Kept title", "body": "kept body", "community_id": community["id"]}, token="old"
    )
    assert expired.status_code == 403
    doc = parse(expired.text)
    assert doc.by_id("post-name").attrs["value"] == "Kept title"
    assert doc.by_id("post-body").text() == "kept body"
    assert await _post_count(user, community["id"]) == 0

    post = await make_post(user, community["id"])
    await member.get(f"/post/{post['id']}")
    mine = await member.post(f"/post/{post['id']}/comment", {"content": "first words"})
    comment_id = int(mine.headers["location"].split("#c")[1])
    edit = await member.post(f"/comment/{comment_id}/edit", {"content": "second words"}, token="old")
    assert edit.status_code == 403
    doc = parse(edit.text)
    assert doc.by_id("compose-content").text() == "second words"
    assert doc.find("form", cls="compose").attrs["action"] == f"/comment/{comment_id}/edit"
    assert await _comment_texts(user, post["id"]) == ["first words"]


async def test_edit_preview_and_refusal_keep_the_text(member: Browser, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await member.get(f"/post/{post['id']}")
    mine = await member.post(f"/post/{post['id']}/comment", {"content": "before"})
    comment_id = int(mine.headers["location"].split("#c")[1])
    await member.get(f"/post/{post['id']}")
    preview = await member.post(f"/comment/{comment_id}/edit", {"content": "`after`", "preview": "1"})
    assert parse(preview.text).find("section", cls="preview").find("code").text() == "after"
    refused = await member.post(f"/comment/{comment_id}/edit", {"content": "z" * 10_001})
    assert refused.status_code == 400 and "10,000" in refused.text
    assert await _comment_texts(user, post["id"]) == ["before"]


# --- In Chromium: toolbar, in-place preview, counter, accessibility -----------------------------------------------

playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")
from web.test_axe import AXE  # noqa: E402
from web.test_browser import chromium, live_web  # noqa: E402, F401 - the shared session fixtures

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium")


async def live_account(live: WebServer) -> Api:
    client = httpx.AsyncClient(base_url=live.base_url, timeout=20)
    return await register(client)


@pytest.fixture(params=[1280, 390], ids=["desktop", "phone"])
async def tab(request: pytest.FixtureRequest, chromium: Any, live_web: WebServer) -> AsyncIterator[Any]:  # noqa: F811
    """A logged-in tab (the login cookie of an account made through the API), at desktop or phone width."""
    account = await live_account(live_web)
    context = await chromium.new_context(
        base_url=live_web.base_url, bypass_csp=True, viewport={"width": request.param, "height": 900}
    )
    await context.add_cookies([{"name": "jwt", "value": account.jwt, "url": live_web.base_url}])
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.account = account
    yield page
    await context.close()
    await account.client.aclose()
    assert problems == []


@needs_chromium
async def test_toolbar_wraps_the_selection_and_previews_in_place(tab: Any, live_web: WebServer) -> None:  # noqa: F811
    community = await make_community(tab.account)
    post = await make_post(tab.account, community["id"])
    await tab.goto(f"/post/{post['id']}")
    box = tab.locator("#new-comment")
    toolbar = tab.get_by_role("toolbar", name="Formatting").first
    assert await toolbar.get_by_role("button").count() == 8  # and Image (test_comment_images.py)
    await box.fill("make this loud")
    await box.evaluate("el => el.setSelectionRange(10, 14)")
    await toolbar.get_by_role("button", name="Bold").click()
    assert await box.input_value() == "make this **loud**"
    await box.evaluate("el => el.setSelectionRange(0, 4)")
    await toolbar.get_by_role("button", name="Italic").click()
    await box.evaluate("el => el.setSelectionRange(el.value.length, el.value.length)")
    await toolbar.get_by_role("button", name="Spoiler").click()
    value = await box.input_value()
    assert value.startswith("*make* this **loud**") and "::: spoiler" in value
    await box.fill("one\ntwo")
    await box.evaluate("el => el.setSelectionRange(0, el.value.length)")
    await toolbar.get_by_role("button", name="List").click()
    assert await box.input_value() == "- one\n- two"
    await box.evaluate("el => el.setSelectionRange(0, el.value.length)")
    await toolbar.get_by_role("button", name="Quote").click()
    assert await box.input_value() == "> - one\n> - two"
    await box.fill("see here")
    await box.evaluate("el => el.setSelectionRange(4, 8)")
    await toolbar.get_by_role("button", name="Link").click()
    assert await box.input_value() == "see [here](https://)"
    await box.evaluate("el => el.setSelectionRange(0, 3)")
    await toolbar.get_by_role("button", name="Code").click()
    assert (await box.input_value()).startswith("`see`")

    # Preview in place: the rendered text above the box, the page not reloaded, the text still there.
    await box.fill("Preview **this**")
    await tab.evaluate("window.__stayed = true")
    await tab.locator("form.top-reply").get_by_role("button", name="Preview").click()
    shown = tab.locator("form.top-reply .preview strong")
    await shown.wait_for()
    assert await shown.inner_text() == "this"
    assert await box.input_value() == "Preview **this**"
    assert await tab.evaluate("window.__stayed") is True
    assert await tab.locator("li.comment").count() == 0


@needs_chromium
async def test_counter_shows_the_limit_and_nothing_is_cut(tab: Any, live_web: WebServer) -> None:  # noqa: F811
    community = await make_community(tab.account)
    await tab.goto(f"/create_post?community_id={community['id']}")
    title = tab.get_by_label("Title")
    long_title = "T" * 230
    await title.fill(long_title)
    assert await title.input_value() == long_title  # no maxlength cut it
    hint = tab.locator("#post-name-limit")
    assert await hint.inner_text() == "230 / 200 characters"
    assert "over" in (await hint.get_attribute("class") or "")
    await tab.get_by_label("Text").fill("body")
    await tab.get_by_role("button", name="Post", exact=True).click()
    await tab.locator(".error").wait_for()
    assert "200" in await tab.locator(".error").inner_text()
    assert await tab.get_by_label("Title").input_value() == long_title


@needs_chromium
async def test_preview_works_without_javascript(chromium: Any, live_web: WebServer) -> None:  # noqa: F811
    account = await live_account(live_web)
    context = await chromium.new_context(base_url=live_web.base_url, java_script_enabled=False)
    await context.add_cookies([{"name": "jwt", "value": account.jwt, "url": live_web.base_url}])
    page = await context.new_page()
    try:
        community = await make_community(account)
        post = await make_post(account, community["id"])
        await page.goto(f"/post/{post['id']}")
        assert await page.get_by_role("toolbar").count() == 0  # the toolbar is the script's
        await page.get_by_label("Add a comment").fill("No script, **still** rendered")
        await page.locator("form.top-reply").get_by_role("button", name="Preview").click()
        await page.wait_for_url("**/comment?preview=1")
        assert await page.locator(".preview strong").inner_text() == "still"
        assert await page.get_by_label("Your comment").input_value() == "No script, **still** rendered"
        await page.get_by_role("button", name="Comment", exact=True).click()
        await page.wait_for_url(f"**/post/{post['id']}#c*")
        assert await page.locator("li.comment .comment-body strong").inner_text() == "still"
    finally:
        await context.close()
        await account.client.aclose()


@needs_chromium
@pytest.mark.skipif(not AXE.exists(), reason="axe-core is missing: cd tests/web && npm ci")
async def test_composer_pages_have_no_serious_violations(tab: Any, live_web: WebServer) -> None:  # noqa: F811
    community = await make_community(tab.account)
    post = await make_post(tab.account, community["id"])
    found: list[str] = []

    async def check(label: str) -> None:
        await tab.add_script_tag(path=str(AXE))
        result = await tab.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        found.extend(
            f"{label}: {v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        )

    await tab.goto(f"/create_post?community_id={community['id']}")
    await tab.get_by_label("Title").fill("An accessible title")
    await tab.get_by_label("Text").fill("**Previewed** body")
    await tab.get_by_role("button", name="Preview").click()
    await tab.locator(".preview strong").wait_for()
    await check("post form with preview")
    await tab.goto(f"/post/{post['id']}")
    await tab.get_by_label("Add a comment").fill("*shown*")
    await tab.locator("form.top-reply").get_by_role("button", name="Preview").click()
    await tab.locator("form.top-reply .preview em").wait_for()
    await check("thread with an in-place preview")
    assert found == []


async def test_the_preview_address_only_previews(member: Browser, user: Api) -> None:
    """The Preview button posts to ?preview=1, which the rate limit counts as a read (not the comment or post
    bucket): such a request never posts, whatever its form says."""
    from moot.web.routing import page_bucket

    community = await make_community(user)
    post = await make_post(user, community["id"])
    thread = parse((await member.get(f"/post/{post['id']}")).text)
    button = thread.find("form", cls="top-reply").find("button", cls="preview-button")
    assert button.attrs["formaction"] == f"/post/{post['id']}/comment?preview=1"
    sneaky = await member.post(f"/post/{post['id']}/comment?preview=1", {"content": "not posted"})
    assert sneaky.status_code == 200 and "not posted" in sneaky.text
    made = await member.post("/create_post?preview=1", {"name": "Not posted", "community_id": community["id"]})
    assert made.status_code == 200
    assert await _comment_texts(user, post["id"]) == []
    assert await _post_count(user, community["id"]) == 1

    class _Request:
        def __init__(self, query: dict[str, str]) -> None:
            self.query_params = query

    route = "/post/{post_id}/comment"
    assert page_bucket("POST", route, _Request({"preview": "1"})).name == "MESSAGE"  # type: ignore[arg-type, union-attr]
    assert page_bucket("POST", route, _Request({})).name == "COMMENT"  # type: ignore[arg-type, union-attr]
