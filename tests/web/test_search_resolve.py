"""The search page resolves handles and URLs as lemmy-ui does (issue 14, item 1): `!news@host`, a community URL,
`@alice@host`, a post or comment URL of another server are looked up there (for a logged-in reader) and shown,
the community with a Subscribe button; a remote community's page says where it lives.

"Another server" is a real `moot serve` process on 127.0.5.1 (MOOT_FEDERATION_DEBUG: plain http with a port);
the Moot under test runs in process with the debug switch on and is driven through its pages."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from conftest import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    Api,
    DatabaseUnderTest,
    ServerProcess,
    drop_database,
    free_port,
    make_community,
    make_database,
    register,
    settings_for,
    start_server,
    stop_server,
    unique,
)
from moot.app import create_app
from web.conftest import Browser, new_browser
from web.dom import Element, parse

LIMITS = {f"rate_limit_{b}": 100_000 for b in ("register", "post", "comment", "search", "message")}


@dataclass
class Remote:
    server: ServerProcess
    community: dict[str, Any]
    author: str
    post: dict[str, Any]
    comment: dict[str, Any]

    @property
    def host(self) -> str:
        return urlsplit(self.server.base_url).netloc


async def _admin(http: httpx.AsyncClient) -> Api:
    admin = Api(client=http)
    login = await admin.ok_post("/user/login", {"username_or_email": ADMIN_NAME, "password": ADMIN_PASSWORD})
    admin.jwt = login["jwt"]
    await admin.ok_put("/site", LIMITS)
    return admin


@pytest.fixture(scope="module")
def remote_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = make_database(tmp_path_factory.mktemp("remote"))
    server = start_server(db, free_port(), {"MOOT_FEDERATION_DEBUG": "true", "MOOT_RUN_JOBS": "false"}, "127.0.5.1")
    yield server
    stop_server(server)
    drop_database(db)


@pytest.fixture(scope="module")
async def remote(remote_server: ServerProcess) -> Remote:
    async with httpx.AsyncClient(base_url=remote_server.base_url) as http:
        await _admin(http)
        alice = await register(http)
        community = await make_community(alice, unique("news"))
        post = (await alice.ok_post("/post", {"name": "Remote news", "community_id": community["id"]}))["post_view"]
        comment = await alice.ok_post("/comment", {"post_id": post["post"]["id"], "content": "Said over there"})
    assert alice.name is not None
    return Remote(remote_server, community, alice.name, post["post"], comment["comment_view"]["comment"])


@pytest.fixture(scope="module")
def local_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    db = make_database(tmp_path_factory.mktemp("local"))
    yield db
    drop_database(db)


@pytest.fixture(scope="module")
async def local_app(local_db: DatabaseUnderTest) -> AsyncIterator[Any]:
    settings = dataclasses.replace(settings_for(local_db), federation_debug=True, run_delivery=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{settings.hostname}") as http:
            await _admin(http)
        yield app


@pytest.fixture
async def reader(local_app: Any) -> AsyncIterator[Browser]:
    browser = new_browser(local_app)
    await browser.signup()
    yield browser
    await browser.close()


@pytest.fixture
async def visitor(local_app: Any) -> AsyncIterator[Browser]:
    browser = new_browser(local_app)
    yield browser
    await browser.close()


async def _search(browser: Browser, q: str) -> Element:
    response = await browser.get("/search", q=q)
    assert response.status_code == 200, response.text[:1000]
    return parse(response.text)


def _section(doc: Element, heading_id: str) -> Element:
    for section in doc.find_all("section"):
        if section.attrs.get("aria-labelledby") == heading_id:
            return section
    raise AssertionError(f"no section {heading_id}")


async def test_a_community_handle_is_fetched_and_offered_with_subscribe(reader: Browser, remote: Remote) -> None:
    name = remote.community["name"]
    doc = await _search(reader, f"!{name}@{remote.host}")
    found = _section(doc, "found-communities").find_all("li")[0]
    assert found.find("a").attrs["href"] == f"/c/{name}@{remote.host}"
    assert f"{name}@{remote.host}" in found.text()
    button = found.find("button")
    assert button.text() == "Subscribe"

    # Subscribing from the search result: the form posts and comes back; the community is now followed (pending
    # until the other server accepts, as delivery is off here).
    form = found.find("form")
    response = await reader.post(form.attrs["action"], {"follow": "1", "next": f"/c/{name}@{remote.host}"})
    assert response.status_code == 303
    page = parse((await reader.follow(response)).text)
    sidebar = page.find("aside", cls="sidebar")
    assert "Subscribe" not in [b.text() for b in sidebar.find_all("button")]
    assert {"Pending", "Unsubscribe"} & {b.text() for b in sidebar.find_all("button")}


async def test_a_remote_community_page_says_where_it_lives(reader: Browser, remote: Remote) -> None:
    name = remote.community["name"]
    await _search(reader, remote.community["actor_id"])  # the community's URL resolves too
    response = await reader.get(f"/c/{name}@{remote.host}")
    assert response.status_code == 200
    origin = parse(response.text).find("p", cls="origin")
    assert origin.text().startswith(f"{name}@{remote.host} · on {remote.host}")
    assert origin.find("a").attrs["href"] == remote.community["actor_id"]
    # The post fetched with the community (its outbox) is listed on the page.
    assert "Remote news" in response.text


async def test_a_person_post_and_comment_are_found_by_handle_and_url(reader: Browser, remote: Remote) -> None:
    doc = await _search(reader, f"@{remote.author}@{remote.host}")
    person = _section(doc, "found-people").find("a")
    assert person.attrs["href"] == f"/u/{remote.author}@{remote.host}"

    doc = await _search(reader, remote.post["ap_id"])
    posts = _section(doc, "found-posts")
    assert "Remote news" in posts.text()

    doc = await _search(reader, remote.comment["ap_id"])
    assert "Said over there" in _section(doc, "found-comments").text()


async def test_visitors_find_what_is_here_and_are_asked_to_log_in_for_the_rest(
    reader: Browser, visitor: Browser, remote: Remote
) -> None:
    async with httpx.AsyncClient(base_url=remote.server.base_url) as http:
        bob = await register(http)
        other = await make_community(bob, unique("elsewhere"))
    handle = f"!{other['name']}@{remote.host}"

    doc = await _search(visitor, handle)
    empty = doc.find("p", cls="empty")
    assert "Log in" in empty.text()
    assert empty.find("a").attrs["href"].startswith("/login?next=/search")

    # Once a member has fetched it, visitors find it here, with a Subscribe that leads to the login form.
    await _search(reader, handle)
    doc = await _search(visitor, handle)
    found = _section(doc, "found-communities").find_all("li")[0]
    subscribe = [a for a in found.find_all("a") if a.text().startswith("Subscribe")]
    assert subscribe and subscribe[0].attrs["href"].startswith("/login?next=")


async def test_a_handle_nobody_answers_for_says_so(reader: Browser, remote: Remote) -> None:
    doc = await _search(reader, f"!{unique('nothing')}@{remote.host}")
    assert "did not answer" in doc.find("p", cls="empty").text()
    # Words are still searched as words.
    doc = await _search(reader, "Remote news")
    assert doc.find("h1").text() == "Search"


async def test_the_communities_page_sends_a_handle_to_the_search(reader: Browser, remote: Remote) -> None:
    handle = f"!{unique('unseen')}@{remote.host}"
    response = await reader.get("/communities", q=handle)
    link = parse(response.text).find("p", cls="empty").find("a")
    assert link.attrs["href"].startswith("/search?q=")
    assert (await reader.get(link.attrs["href"])).status_code == 200


@pytest.mark.parametrize(
    "q", ["!nothing_here", "@nobody_here", "!nothing@moot.test:8536", "https://moot.test:8536/c/no"]
)
async def test_an_unknown_local_name_is_simply_not_found(reader: Browser, visitor: Browser, q: str) -> None:
    for browser in (reader, visitor):
        doc = await _search(browser, q)
        empty = doc.find("p", cls="empty").text()
        assert empty.startswith("Nothing found") and "Log in" not in empty and "did not answer" not in empty
