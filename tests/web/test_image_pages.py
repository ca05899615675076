"""Issue 13 on the pages: a plain file field (no JavaScript) in the post composer (the image becomes the post's
link and is shown on its page), the settings (avatar, banner) and the community settings (icon, banner); a bad
file is refused with a message and nothing stored; in Chromium, the avatar and a post image appear."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import image_samples as samples
from conftest import ADMIN_NAME, ADMIN_PASSWORD, Api, free_port, make_database, unique
from moot.db.community import Community
from moot.db.image import LocalImage
from moot.db.person import Person
from moot.queries.site import load_local_site
from web.conftest import PASSWORD, Browser
from web.dom import parse
from web.live import CHROMIUM, CHROMIUM_ARGS, WebServer, start_web_server, stop_web_server
from web.test_forms import make_community_via


@pytest.fixture(scope="module", autouse=True)
async def image_limits(admin: Api, web_app: Any) -> AsyncIterator[None]:
    """The image bucket raised (Lemmy's default is 6 an hour), in the pages' app too (it read the limits at start)."""
    await admin.ok_put("/site", {"rate_limit_image": 100_000, "rate_limit_image_per_second": 1})
    async with web_app.state.moot.db.read() as session:
        loaded = await load_local_site(session)
    assert loaded is not None
    await web_app.state.moot.limiter.configure(loaded.rate_limit, reset=False)
    yield


async def post_multipart(
    browser: Browser, page: str, action: str, data: dict[str, str], files: dict[str, tuple[str, bytes, str]]
) -> httpx.Response:
    """Open `page`, then send its form as multipart/form-data with `files`, as a browser does."""
    await browser.get(page)
    response = await browser.client.post(action, data={"csrf_token": browser.token(), **data}, files=files)
    if response.headers.get("content-type", "").startswith("text/html"):
        browser.last_html = response.text
    return response


async def image_rows(web_app: Any) -> int:
    async with web_app.state.moot.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(LocalImage)) or 0)


async def test_an_image_post_from_the_composer(member: Browser, web_app: Any) -> None:
    community = await make_community_via(member)
    made = await post_multipart(
        member,
        f"/create_post?community_id={community}",
        "/create_post",
        {"name": "A picture", "url": "", "body": "", "community_id": str(community)},
        {"image": ("holiday.png", samples.png(size=(120, 80)), "image/png")},
    )
    assert made.status_code == 303, made.text[:2000]
    page = parse((await member.follow(made)).text)
    link = page.find("p", cls="post-link").find("a").attrs["href"]
    assert "/pictrs/image/" in link and link.endswith(".png")
    image = page.find("img", cls="post-image")
    assert image is not None and image.attrs["src"] == link
    served = await member.client.get(link)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"


async def test_a_refused_file_keeps_the_form_and_stores_nothing(member: Browser, web_app: Any) -> None:
    community = await make_community_via(member)
    before = await image_rows(web_app)
    refused = await post_multipart(
        member,
        f"/create_post?community_id={community}",
        "/create_post",
        {"name": "Not a picture", "url": "", "body": "typed text", "community_id": str(community)},
        {"image": ("evil.jpg", samples.HTML, "image/jpeg")},
    )
    assert refused.status_code == 400
    assert "not an image Moot takes" in refused.text and "typed text" in refused.text
    assert await image_rows(web_app) == before
    # A file field left empty is no upload: a plain text post.
    plain = await post_multipart(
        member,
        f"/create_post?community_id={community}",
        "/create_post",
        {"name": "Just words", "url": "", "body": "hello", "community_id": str(community)},
        {"image": ("", b"", "application/octet-stream")},
    )
    assert plain.status_code == 303 and await image_rows(web_app) == before


async def test_avatar_and_banner_from_the_settings(member: Browser, web_app: Any) -> None:
    saved = await post_multipart(
        member,
        "/settings",
        "/settings",
        {},
        {
            "avatar": ("me.jpg", samples.jpeg_with_gps(), "image/jpeg"),
            "banner": ("wide.webp", samples.webp(size=(300, 60)), "image/webp"),
        },
    )
    assert saved.status_code == 303, saved.text[:2000]
    async with web_app.state.moot.db.read() as session:
        person = await session.scalar(select(Person).where(Person.name == member.name))
    assert person is not None and person.avatar and person.banner
    assert "/pictrs/image/" in person.avatar and person.banner.endswith(".webp")
    page = parse((await member.get("/settings")).text)
    assert page.find("img", cls="avatar-preview").attrs["src"] == person.avatar
    avatar = await member.client.get(person.avatar)
    assert avatar.status_code == 200 and samples.GPS_MARK.encode() not in avatar.content
    # A new avatar replaces the old upload, which is deleted.
    again = await post_multipart(
        member, "/settings", "/settings", {}, {"avatar": ("b.png", samples.png(), "image/png")}
    )
    assert again.status_code == 303
    assert (await member.client.get(person.avatar)).status_code == 404


async def test_community_icon_and_banner(member: Browser, web_app: Any) -> None:
    community_id = await make_community_via(member)
    async with web_app.state.moot.db.read() as session:
        community = await session.get(Community, community_id)
    assert community is not None
    name = community.name
    saved = await post_multipart(
        member,
        f"/c/{name}/settings",
        f"/c/{name}/settings",
        {"title": "With an icon", "description": ""},
        {"icon": ("icon.gif", samples.gif(), "image/gif"), "banner": ("b.png", samples.png((400, 80)), "image/png")},
    )
    assert saved.status_code == 303, saved.text[:2000]
    async with web_app.state.moot.db.read() as session:
        community = await session.get(Community, community_id, populate_existing=True)
    assert community is not None and community.icon and community.banner
    assert community.icon.endswith(".gif") and "/pictrs/image/" in community.banner
    assert (await member.client.get(community.icon)).headers["content-type"] == "image/gif"


# ------------------------------------------------------------------------------------------ in Chromium

playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")


@pytest.fixture(scope="module")
def live_images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    from conftest import drop_database

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    db = make_database(tmp_path_factory.mktemp("web-images"))
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


async def test_avatar_and_post_image_appear_in_chromium(live_images: WebServer, tmp_path: Any) -> None:
    avatar_file = tmp_path / "avatar.png"
    avatar_file.write_bytes(samples.png(size=(96, 96), color=(20, 90, 200, 255)))
    picture_file = tmp_path / "picture.jpg"
    picture_file.write_bytes(samples.jpeg_with_gps(size=(160, 90), orientation=1))
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await browser.new_context(base_url=live_images.base_url)
        page = await context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        try:
            name = unique("pi")
            await page.goto("/signup")
            await page.get_by_label("Username").fill(name)
            await page.locator("#signup-password").fill(PASSWORD)
            await page.locator("#signup-password-verify").fill(PASSWORD)
            await page.get_by_role("button", name="Sign up").click()
            await page.wait_for_url("**/")

            await page.goto("/settings")
            await page.locator("#set-avatar").set_input_files(str(avatar_file))
            await page.locator("form[action='/settings'] button[type=submit]").first.click()
            await page.wait_for_url("**/settings?saved=*")
            avatar = page.locator("img.avatar-preview")
            await avatar.wait_for()
            assert await avatar.evaluate("img => img.complete && img.naturalWidth") == 96

            community = unique("pc")
            await page.goto("/create_community")
            await page.get_by_label("Name").fill(community)
            await page.get_by_label("Title").fill("Pictures")
            await page.get_by_role("button", name="Create").click()
            await page.wait_for_url(f"**/c/{community}")
            await page.goto("/create_post")
            await page.get_by_label("Title").fill("A photo")
            await page.locator("#post-image").set_input_files(str(picture_file))
            await page.locator("#post-community").select_option(label=f"{community} (Pictures)")
            await page.get_by_role("button", name="Post").click()
            await page.wait_for_url("**/post/*")
            image = page.locator("img.post-image")
            await image.wait_for()
            assert await image.evaluate("img => img.complete && img.naturalWidth") == 160
        finally:
            await context.close()
            await browser.close()
    assert problems == []
