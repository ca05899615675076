"""Finding remote communities and people from the search box, in Chromium (issue 14, item 1): a reader logs in,
types `!name@host` in the search box, sees the community, subscribes from the result and sees it subscribed (the
other server accepts the follow), and its page says where it lives; `@person@host` finds the person, whose profile
says where they live. With JavaScript and without it, at desktop and phone width; axe-core on the pages touched.

Two real `moot serve` processes: "another server" on 127.0.5.1 and the Moot under test on 127.0.0.1, both with
MOOT_FEDERATION_DEBUG (plain http with a port, loopback allowed) and delivery on, so the Follow and its Accept
travel between them for real."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from conftest import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    Api,
    ServerProcess,
    drop_database,
    free_port,
    make_community,
    make_database,
    make_post,
    register,
    start_server,
    stop_server,
    unique,
)
from web.conftest import PASSWORD
from web.live import CHROMIUM

playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")
from web.test_browser import chromium  # noqa: E402, F401 - the shared session fixture

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium")

LIMITS = {f"rate_limit_{b}": 100_000 for b in ("register", "post", "comment", "search", "message")}
DEBUG = {"MOOT_FEDERATION_DEBUG": "true", "MOOT_RUN_JOBS": "false", "MOOT_SETUP_SITE_NAME": "Moot"}
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _host(server: ServerProcess) -> str:
    return urlsplit(server.base_url).netloc


async def _raise_limits(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        admin = Api(client=http)
        login = await admin.ok_post("/user/login", {"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD})
        admin.jwt = login["jwt"]
        await admin.ok_put("/site", LIMITS)


@pytest.fixture(scope="module")
def remote_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = make_database(tmp_path_factory.mktemp("remote"))
    server = start_server(db, free_port(), DEBUG, "127.0.5.1")
    yield server
    stop_server(server)
    drop_database(db)


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The Moot under test, as Chromium reaches it; it may fetch from (and deliver to) the other server."""
    db = make_database(tmp_path_factory.mktemp("local"))
    server = start_server(db, free_port(), DEBUG, "127.0.0.1")
    yield server
    stop_server(server)
    drop_database(db)


@pytest.fixture(scope="module")
async def servers(remote_server: ServerProcess, local_server: ServerProcess) -> tuple[ServerProcess, ServerProcess]:
    await _raise_limits(remote_server)
    await _raise_limits(local_server)
    return remote_server, local_server


@dataclass
class Elsewhere:
    """A community, a post in it and its author, made on the other server for one test (never fetched before)."""

    host: str
    community: dict[str, Any]
    author: str
    author_actor_id: str
    post_ap_id: str

    @property
    def community_handle(self) -> str:
        return f"{self.community['name']}@{self.host}"

    @property
    def person_handle(self) -> str:
        return f"{self.author}@{self.host}"


@pytest.fixture
async def elsewhere(servers: tuple[ServerProcess, ServerProcess]) -> Elsewhere:
    remote = servers[0]
    async with httpx.AsyncClient(base_url=remote.base_url, timeout=30) as http:
        author = await register(http)
        community = await make_community(author, unique("far"), title="Far away news")
        post = await make_post(author, community["id"], name="Written over there")
        person = await author.ok_get("/user", username=author.name)
    assert author.name is not None
    actor_id = person["person_view"]["person"]["actor_id"]
    return Elsewhere(_host(remote), community, author.name, actor_id, post["ap_id"])


@pytest.fixture
async def reader_name(servers: tuple[ServerProcess, ServerProcess]) -> str:
    """An account on the Moot under test, made through the API; the browser logs in with it through the form."""
    async with httpx.AsyncClient(base_url=servers[1].base_url, timeout=30) as http:
        api = await register(http, unique("rd"), PASSWORD)
    assert api.name is not None
    return api.name


async def _context(browser: Any, base_url: str, **options: Any) -> Any:
    return await browser.new_context(base_url=base_url, **options)


async def _log_in(page: Any, name: str) -> None:
    await page.goto("/")
    await page.get_by_role("navigation", name="Site").get_by_role("link", name="Log in").click()
    await page.get_by_label("Username or email").fill(name)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r"^[^?]*/(\?.*)?$"))
    assert await page.locator(".nav-account").get_by_role("link", name=name, exact=True).count() == 1


async def _search(page: Any, text: str) -> None:
    """Type in the search box and submit it, as a reader would, from the Search link of the site's navigation."""
    await page.get_by_role("navigation", name="Site").get_by_role("link", name="Search", exact=True).click()
    await page.wait_for_url(re.compile(r"/search$"))
    await page.get_by_label("Search for").fill(text)
    await page.get_by_role("button", name="Search", exact=True).click()
    await page.wait_for_url(re.compile(r"/search\?q="))


async def _sidebar_button(page: Any) -> str:
    text: str = await page.locator("aside.sidebar form[action$='/subscribe'] button").inner_text()
    return text.strip()


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
async def test_a_reader_finds_and_subscribes_to_a_remote_community_and_finds_a_person(
    chromium: Any,  # noqa: F811
    servers: tuple[ServerProcess, ServerProcess],
    elsewhere: Elsewhere,
    reader_name: str,
    javascript: bool,
    width: str,
) -> None:
    local = servers[1]
    context = await _context(
        chromium, local.base_url, java_script_enabled=javascript, viewport=WIDTHS[width], is_mobile=width == "phone"
    )
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        await _log_in(page, reader_name)

        # The community handle: fetched from its server, shown first with a Subscribe button.
        await _search(page, f"!{elsewhere.community_handle}")
        found = page.locator("section[aria-labelledby=found-communities] li").first
        await found.get_by_role("link", name="Far away news").wait_for()
        assert elsewhere.community_handle in await found.inner_text()
        subscribe = found.get_by_role("button", name="Subscribe", exact=True)
        assert await subscribe.is_visible()
        box = await subscribe.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTHS[width]["width"]

        # Subscribing comes back to the results, where the button now offers the way back out.
        async with page.expect_navigation(url=re.compile(r"/search\?q=")):
            await subscribe.click()
        after = page.locator("section[aria-labelledby=found-communities] li").first
        assert await after.get_by_role("button", name="Subscribe", exact=True).count() == 0
        assert (await after.locator("form[action$='/subscribe'] button").inner_text()).strip() in (
            "Pending",
            "Unsubscribe",
        )

        # The community's page says where it lives, lists the post read from there, and, once the other server
        # has accepted the follow (delivery is real and eager here), shows the reader as subscribed.
        await after.get_by_role("link", name="Far away news").click()
        await page.wait_for_url(re.compile(re.escape(f"/c/{elsewhere.community_handle}") + "$"))
        origin = page.locator("p.origin")
        assert await origin.inner_text() == (
            f"{elsewhere.community_handle} · on {elsewhere.host}: posts and comments come from there."
        )
        assert await origin.get_by_role("link").get_attribute("href") == elsewhere.community["actor_id"]
        assert await page.get_by_role("link", name="Written over there").count() >= 1
        deadline = time.monotonic() + 30
        while await _sidebar_button(page) != "Unsubscribe" and time.monotonic() < deadline:
            await page.wait_for_timeout(250)
            await page.reload()
        assert await _sidebar_button(page) == "Unsubscribe"

        # The person's handle finds the person; their profile says where they live.
        await _search(page, f"@{elsewhere.person_handle}")
        person = page.locator("section[aria-labelledby=found-people]").get_by_role(
            "link", name=elsewhere.person_handle, exact=True
        )
        assert await person.get_attribute("href") == f"/u/{elsewhere.person_handle}"
        await person.click()
        await page.wait_for_url(re.compile(re.escape(f"/u/{elsewhere.person_handle}") + "$"))
        origin = page.locator("p.origin")
        assert await origin.inner_text() == (
            f"{elsewhere.person_handle} · on {elsewhere.host}: their account lives there."
        )
        assert await origin.get_by_role("link").get_attribute("href") == elsewhere.author_actor_id
        # Nothing on these pages is wider than the screen.
        overflow = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
    finally:
        await context.close()
    assert problems == []


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
async def test_the_urls_of_a_remote_post_and_community_are_found_from_the_search_box(
    chromium: Any,  # noqa: F811
    servers: tuple[ServerProcess, ServerProcess],
    elsewhere: Elsewhere,
    reader_name: str,
    javascript: bool,
) -> None:
    context = await _context(chromium, servers[1].base_url, java_script_enabled=javascript, viewport=WIDTHS["phone"])
    page = await context.new_page()
    try:
        await _log_in(page, reader_name)
        # A post's URL, before anything of its community is here: the post, fetched with its community.
        await _search(page, elsewhere.post_ap_id)
        posts = page.locator("section[aria-labelledby=found-posts]")
        assert await posts.get_by_role("link", name="Written over there").count() >= 1
        # The community's URL finds the community it came with, offered with Subscribe.
        await _search(page, elsewhere.community["actor_id"])
        found = page.locator("section[aria-labelledby=found-communities] li").first
        assert elsewhere.community_handle in await found.inner_text()
        assert await found.get_by_role("button", name="Subscribe", exact=True).count() == 1
    finally:
        await context.close()


async def test_a_local_profile_says_nothing_about_elsewhere(
    servers: tuple[ServerProcess, ServerProcess], reader_name: str
) -> None:
    async with httpx.AsyncClient(base_url=servers[1].base_url, timeout=30) as http:
        response = await http.get(f"/u/{reader_name}")
    assert response.status_code == 200
    assert 'class="origin"' not in response.text


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_results_and_pages_have_no_serious_violations(
    chromium: Any,  # noqa: F811
    servers: tuple[ServerProcess, ServerProcess],
    elsewhere: Elsewhere,
    reader_name: str,
    scheme: str,
) -> None:
    from web.test_axe import AXE, serious_violations

    if not AXE.exists():
        pytest.skip("axe-core is missing: cd tests/web && npm ci")
    # bypass_csp: injecting axe inlines its source, which the site's script-src 'self' rightly refuses.
    context = await _context(chromium, servers[1].base_url, bypass_csp=True, color_scheme=scheme)
    page = await context.new_page()
    found: list[str] = []
    try:
        await _log_in(page, reader_name)
        for path in (
            f"/search?q=!{elsewhere.community_handle}",
            f"/search?q=@{elsewhere.person_handle}",
            f"/c/{elsewhere.community_handle}",
            f"/u/{elsewhere.person_handle}",
        ):
            found += await serious_violations(page, path)
        # The pages axe read are the ones with the results on them, not "Nothing found".
        await page.goto(f"/search?q=!{elsewhere.community_handle}")
        assert await page.locator("section[aria-labelledby=found-communities]").count() == 1
    finally:
        await context.close()
    assert found == []
