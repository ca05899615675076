"""Images in comments (issue 13, "the comment box (inserting markdown)"). Without JavaScript the comment box (new
comment, reply, edit) has a plain file field: the server stores the image as the post composer does and adds
`![description](url)` to the text in the same request; a refused file gives the form back with the text kept. With
JavaScript, the toolbar's Image button uploads to /pictrs/image (the login cookie plus the page's CSRF token; the
cookie alone is refused) and puts the markdown at the cursor; the in-place reply keeps working. Axe on the box."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import image_samples as samples
from conftest import Api, free_port, make_database, unique
from moot.db.comment import Comment
from moot.db.image import LocalImage
from moot.queries.site import load_local_site
from web.conftest import BASE_URL, PASSWORD, Browser
from web.dom import parse
from web.live import ADMIN_NAME, ADMIN_PASSWORD, CHROMIUM, CHROMIUM_ARGS, WebServer, start_web_server, stop_web_server
from web.test_forms import make_community_via

IMAGE_URL = re.compile(r"!\[([^\]]*)\]\((https?://[^)\s]+/pictrs/image/[A-Za-z0-9]+\.png)\)")


@pytest.fixture(scope="module", autouse=True)
async def image_limits(admin: Api, web_app: Any) -> AsyncIterator[None]:
    """The image bucket raised (Lemmy's default is 6 an hour), in the pages' app too (it read the limits at start)."""
    await admin.ok_put("/site", {"rate_limit_image": 100_000, "rate_limit_image_per_second": 1})
    async with web_app.state.moot.db.read() as session:
        loaded = await load_local_site(session)
    assert loaded is not None
    await web_app.state.moot.limiter.configure(loaded.rate_limit, reset=False)
    yield


async def make_post_via(browser: Browser) -> int:
    community = await make_community_via(browser)
    made = await browser.submit(
        f"/create_post?community_id={community}",
        "/create_post",
        {"name": "Pictures wanted", "url": "", "body": "", "community_id": str(community)},
    )
    return int(made.headers["location"].split("/post/")[1].split("#")[0].split("?")[0])


async def send_form(
    browser: Browser,
    page: str,
    action: str,
    data: dict[str, str],
    files: dict[str, tuple[str, bytes, str]] | None = None,
    **headers: str,
) -> httpx.Response:
    """Open `page`, then send its form as multipart/form-data (the comment box's enctype), as a browser does."""
    await browser.get(page)
    files = files or {"image": ("", b"", "application/octet-stream")}
    response = await browser.client.post(
        action, data={"csrf_token": browser.token(), **data}, files=files, headers=headers or None
    )
    if response.headers.get("content-type", "").startswith("text/html"):
        browser.last_html = response.text
    return response


async def image_rows(web_app: Any) -> int:
    async with web_app.state.moot.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(LocalImage)) or 0)


def comment_images(html: str) -> list[dict[str, str]]:
    return [img.attrs for img in parse(html).find_all("img") if "/pictrs/image/" in img.attrs.get("src", "")]


async def test_a_comment_reply_and_edit_with_an_image_without_javascript(member: Browser, web_app: Any) -> None:
    post_id = await make_post_via(member)
    thread = f"/post/{post_id}"
    form = parse((await member.get(thread)).text).find("form", cls="top-reply")
    assert form.attrs["enctype"] == "multipart/form-data"
    assert form.find("input", name="image").attrs["type"] == "file"

    made = await send_form(
        member,
        thread,
        thread + "/comment",
        {"content": "Look at this", "next": thread},
        {"image": ("my_red_square.png", samples.png(size=(60, 40)), "image/png")},
    )
    assert made.status_code == 303, made.text[:2000]
    page = (await member.follow(made)).text
    shown = comment_images(page)
    assert len(shown) == 1 and shown[0]["alt"] == "my red square"
    served = await member.client.get(shown[0]["src"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.content.startswith(b"\x89PNG")
    comment_id = int(made.headers["location"].rsplit("#c", 1)[1])

    # A reply, with the description typed in its field.
    replied = await send_form(
        member,
        thread,
        thread + "/comment",
        {"content": "And this one", "parent_id": str(comment_id), "image_alt": "A [blue] square", "next": thread},
        {"image": ("b.png", samples.png(color=(0, 0, 255, 255)), "image/png")},
    )
    assert replied.status_code == 303, replied.text[:2000]
    alts = sorted(img["alt"] for img in comment_images((await member.follow(replied)).text))
    assert alts == ["A blue square", "my red square"]

    # An edit adds an image after the text it keeps.
    edited = await send_form(
        member,
        thread,
        f"/comment/{comment_id}/edit",
        {"content": "Look at this, edited", "next": thread},
        {"image": ("second.png", samples.png(size=(30, 30)), "image/png")},
    )
    assert edited.status_code == 303, edited.text[:2000]
    async with web_app.state.moot.db.read() as session:
        row = await session.get(Comment, comment_id)
    assert row is not None
    content = row.content
    assert content.startswith("Look at this, edited\n\n![second](") and len(IMAGE_URL.findall(content)) == 1

    # Preview with an image: stored once and shown, its markdown in the text to send (nothing posted yet).
    before = await image_rows(web_app)
    previewed = await send_form(
        member,
        thread,
        thread + "/comment?preview=1",
        {"content": "Preview me", "preview": "1", "next": thread},
        {"image": ("p.png", samples.png(), "image/png")},
    )
    assert previewed.status_code == 200
    doc = parse(previewed.text)
    assert len(comment_images(previewed.text)) == 1
    assert IMAGE_URL.search(doc.find("textarea", id="compose-content").text())
    assert await image_rows(web_app) == before + 1


async def test_a_refused_file_keeps_the_text_and_stores_nothing(member: Browser, web_app: Any) -> None:
    post_id = await make_post_via(member)
    thread = f"/post/{post_id}"
    before = await image_rows(web_app)
    refused = await send_form(
        member,
        thread,
        thread + "/comment",
        {"content": "my long careful text", "next": thread},
        {"image": ("evil.jpg", samples.HTML, "image/jpeg")},
    )
    assert refused.status_code == 400
    doc = parse(refused.text)
    assert "not an image Moot takes" in doc.find(cls="error").text()
    assert doc.find("textarea", id="compose-content").text() == "my long careful text"
    # Too large: over image_max_bytes, inside what the body limit lets through to the page.
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * web_app.state.moot.settings.image_max_bytes
    too_large = await send_form(
        member, thread, thread + "/comment", {"content": "still here"}, {"image": ("big.png", big, "image/png")}
    )
    assert too_large.status_code == 400
    doc = parse(too_large.text)
    assert "too large" in doc.find(cls="error").text()
    assert doc.find("textarea", id="compose-content").text() == "still here"
    assert await image_rows(web_app) == before
    assert parse((await member.get(thread)).text).find_all("li", cls="comment") == []
    # Our script gets the reason as JSON (the box keeps its text in place).
    answer = await send_form(
        member,
        thread,
        thread + "/comment",
        {"content": "kept"},
        {"image": ("x.png", b"not an image at all", "image/png")},
        accept="application/json",
    )
    assert answer.status_code == 400 and "not an image" in answer.json()["message"]


async def test_the_in_place_reply_takes_multipart_and_url_encoded(member: Browser) -> None:
    post_id = await make_post_via(member)
    thread = f"/post/{post_id}"
    with_image = await send_form(
        member,
        thread,
        thread + "/comment",
        {"content": "from the script"},
        {"image": ("s.png", samples.png(), "image/png")},
        accept="application/json",
    )
    assert with_image.status_code == 200, with_image.text
    assert len(comment_images(with_image.json()["html"])) == 1
    await member.get(thread)
    plain = await member.post(thread + "/comment", {"content": "no file"}, accept="application/json")
    assert plain.status_code == 200 and "no file" in plain.json()["html"]


async def test_pictrs_upload_by_cookie_needs_the_pages_token(member: Browser, user: Api) -> None:
    """/pictrs/image takes a browser's login cookie only with the page's CSRF token: another site's form (which a
    browser sends with our cookie, and which needs no preflight) cannot upload in a reader's name. Apps' Bearer
    works, and so does a cookie sent by a client that is not a browser (pythorhead)."""
    await member.get("/settings")
    token = member.token()
    one = {"images[]": ("a.png", samples.png(), "image/png")}
    for browser in ({"Origin": "https://evil.example"}, {"Origin": BASE_URL}, {"Sec-Fetch-Site": "cross-site"}):
        refused = await member.client.post("/pictrs/image", files=one, headers=browser)
        assert refused.status_code == 403 and refused.json()["msg"] == "csrf_refused", browser
    page = {"Origin": BASE_URL, "Sec-Fetch-Site": "same-origin"}
    other = token[:-1] + ("A" if token[-1] != "A" else "B")  # one character off, never the token itself
    wrong = await member.client.post("/pictrs/image", files=one, headers={**page, "X-CSRF-Token": other})
    assert wrong.status_code == 403
    ok = await member.client.post("/pictrs/image", files=one, headers={**page, "X-CSRF-Token": token})
    assert ok.status_code == 200 and ok.json()["msg"] == "ok", ok.text
    as_field = await member.client.post("/pictrs/image", files=one, data={"csrf_token": token}, headers=page)
    assert as_field.status_code == 200, as_field.text
    bearer = await user.client.post(
        "/pictrs/image", files=one, headers={"Authorization": f"Bearer {user.jwt}", "Origin": "https://app.example"}
    )
    assert bearer.status_code == 200, bearer.text
    assert (await member.client.post("/pictrs/image", files=one)).status_code == 200


# ------------------------------------------------------------------------------------------ in Chromium

playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def live_comments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    from conftest import drop_database

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    db = make_database(tmp_path_factory.mktemp("web-comment-images"))
    server = start_web_server(db.url, db.data_dir, free_port())
    login = httpx.post(
        f"{server.base_url}/api/v3/user/login",
        json={"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD},
        timeout=10,
    )
    httpx.put(
        f"{server.base_url}/api/v3/site",
        json={"rate_limit_image": 100_000, "rate_limit_image_per_second": 1},
        headers={"Authorization": f"Bearer {login.json()['jwt']}"},
        timeout=10,
    ).raise_for_status()
    yield server
    stop_web_server(server)
    drop_database(db)


@pytest.fixture
async def tab(live_comments: WebServer) -> AsyncIterator[Any]:
    """A signed-up reader's tab on a new post of a new community; no script errors allowed."""
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        # bypass_csp: axe is injected inline, which script-src 'self' rightly refuses.
        context = await browser.new_context(
            base_url=live_comments.base_url, bypass_csp=True, viewport={"width": 1280, "height": 900}
        )
        page = await context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on(
            "console",
            lambda m: (
                problems.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None
            ),
        )
        name = unique("ci")
        await page.goto("/signup")
        await page.get_by_label("Username").fill(name)
        await page.locator("#signup-password").fill(PASSWORD)
        await page.locator("#signup-password-verify").fill(PASSWORD)
        await page.get_by_role("button", name="Sign up").click()
        await page.wait_for_url("**/")
        community = unique("cc")
        await page.goto("/create_community")
        await page.get_by_label("Name").fill(community)
        await page.get_by_label("Title").fill("Pictures")
        await page.get_by_role("button", name="Create").click()
        await page.wait_for_url(f"**/c/{community}")
        await page.goto("/create_post")
        await page.get_by_label("Title").fill("Show me")
        await page.locator("#post-community").select_option(label=f"{community} (Pictures)")
        await page.get_by_role("button", name="Post", exact=True).click()
        await page.wait_for_url("**/post/*")
        try:
            yield page
        finally:
            await context.close()
            await browser.close()
        assert problems == []


async def choose_image(page: Any, form: Any, path: Path) -> None:
    async with page.expect_file_chooser() as chosen:
        await form.get_by_role("toolbar", name="Formatting").get_by_role("button", name="Image").click()
    await (await chosen.value).set_files(str(path))


async def test_image_button_uploads_and_the_reply_goes_in_place(tab: Any, tmp_path: Path) -> None:
    picture = tmp_path / "green_box.png"
    picture.write_bytes(samples.png(size=(72, 50), color=(0, 160, 0, 255)))
    top = tab.locator("form.top-reply")
    # With the script the no-script file field gives way to the toolbar's button.
    assert await top.locator("[data-image-field]").is_hidden()
    box = top.locator("textarea")
    await box.fill("Here it is")
    await box.evaluate("el => el.setSelectionRange(el.value.length, el.value.length)")
    await choose_image(tab, top, picture)
    await tab.wait_for_function(
        "() => document.querySelector('form.top-reply textarea').value.includes('/pictrs/image/')"
    )
    value = await box.input_value()
    assert value.startswith("Here it is\n\n![green box](") and IMAGE_URL.search(value)
    assert await top.get_by_role("status").inner_text() == "Image added."
    await tab.evaluate("window.__stayed = true")
    await top.get_by_role("button", name="Comment").click()
    image = tab.locator("li.comment .comment-body img")
    await image.first.wait_for()
    await tab.wait_for_function("() => { const i = document.querySelector('li.comment img'); return i && i.complete }")
    assert await image.first.evaluate("img => img.naturalWidth") == 72
    assert await image.first.get_attribute("alt") == "green box"

    # The in-place reply with an image from its own box's toolbar.
    comment = tab.locator("li.comment").first
    await comment.locator("details.reply-box > summary").first.click()
    reply_form = comment.locator("details.reply-box form").first
    await reply_form.locator("textarea").fill("A reply with a picture")
    await choose_image(tab, reply_form, picture)
    await tab.wait_for_function(
        "f => f.querySelector('textarea').value.includes('/pictrs/image/')",
        arg=await reply_form.element_handle(),
    )
    await reply_form.get_by_role("button", name="Reply").click()
    await tab.locator("li.comment li.comment .comment-body img").wait_for()
    assert await tab.evaluate("window.__stayed") is True  # no reload: both went in place
    assert await tab.locator("li.comment").count() == 2


async def test_a_refused_file_keeps_the_text_in_the_box(tab: Any, tmp_path: Path) -> None:
    fake = tmp_path / "not_a_picture.png"
    fake.write_bytes(samples.HTML)
    top = tab.locator("form.top-reply")
    box = top.locator("textarea")
    await box.fill("Words I typed")
    await choose_image(tab, top, fake)
    alert = top.get_by_role("alert")
    await alert.wait_for()
    assert "not an image Moot takes" in await alert.inner_text()
    assert await box.input_value() == "Words I typed"


async def test_the_comment_form_has_no_serious_accessibility_problems(tab: Any) -> None:
    if not AXE.exists():
        pytest.skip("axe-core is missing: cd tests/web && npm ci")
    found: list[str] = []
    # With the script (toolbar, Image button), then the no-script field shown and opened, in the same page.
    for reveal in ("", "f => { f.hidden = false; f.open = true; }"):
        if reveal:
            await tab.locator("form.top-reply [data-image-field]").evaluate(reveal)
        await tab.add_script_tag(path=str(AXE))
        result = await tab.evaluate(
            "async () => await axe.run(document.querySelector('form.top-reply'), {resultTypes: ['violations']})"
        )
        found += [
            f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
    assert found == []
