"""The remote half of a link's discussion: two real `moot serve`, the second reading the first's comments on demand.

alpha hosts a community with a post of a link and its comments. beta has its own post of the same link and knows
alpha's post (a reader resolved alpha's community, which backfills its posts) but follows nothing there, so no
comment was ever delivered. beta's joined thread reads alpha's comments from alpha (its v3 comment listing, through
the fetch guard), shows them marked as alpha's, keeps them no longer than MOOT_REMOTE_THREAD_SECONDS, and never
stores them as comments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conftest import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    drop_database,
    free_port,
    make_database,
    start_server,
    stop_server,
    unique,
)
from test_federation import FED_ENV, Client, Node, eventually, login, person, resolve_community
from web.dom import Element, parse


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    started: dict[str, Node] = {}
    env = {**FED_ENV, "MOOT_REMOTE_THREAD_SECONDS": "1"}
    try:
        for name, host in (("alpha", "127.0.3.1"), ("beta", "127.0.3.2")):
            db = make_database(tmp_path_factory.mktemp(name))
            port = free_port()
            started[name] = Node(name, host, port, db, start_server(db, port, env, host=host))
        yield started
    finally:
        for node in started.values():
            if node.server.process.poll() is None:
                stop_server(node.server)
            drop_database(node.db)


async def _page(node: Node, path: str) -> str:
    async with httpx.AsyncClient(base_url=node.base) as http:
        r = await http.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 200, r.text
        return r.text


def _tops(page: str) -> list[Element]:
    """The top-level items of the page's comment tree, in order."""
    tree = parse(page).find("ol", cls="tree")
    return [li for li in tree.children if isinstance(li, Element) and li.tag == "li"]


def _index(texts: list[str], needle: str) -> int:
    return next(i for i, text in enumerate(texts) if needle in text)


async def _comment(client: Client, post_id: int, content: str, parent_id: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"post_id": post_id, "content": content}
    if parent_id is not None:
        body["parent_id"] = parent_id
    comment: dict[str, Any] = (await client.post("/comment", body))["comment_view"]["comment"]
    return comment


async def test_the_second_half_is_read_from_a_server_not_followed(pair: dict[str, Node]) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    alice, bob = await person(alpha), await person(beta)
    link = f"https://news.example/{unique('story')}"
    name = unique("world")
    community = (await alice.post("/community", {"name": name, "title": "World"}))["community_view"]["community"]
    theirs = (await alice.post("/post", {"name": "The story", "community_id": community["id"], "url": link}))[
        "post_view"
    ]["post"]
    top = await _comment(alice, theirs["id"], "Said on alpha, at the top")
    await _comment(alice, theirs["id"], "A reply on alpha", parent_id=top["id"])
    gone = await _comment(alice, theirs["id"], "Deleted on alpha")
    await alice.post("/comment/delete", {"comment_id": gone["id"], "deleted": True})

    mine_community = (await bob.post("/community", {"name": unique("news"), "title": "News"}))["community_view"]
    variant = link.replace("https://", "http://www.") + "/?utm_source=feed"
    mine = (
        await bob.post(
            "/post", {"name": "Same story", "community_id": mine_community["community"]["id"], "url": variant}
        )
    )["post_view"]["post"]
    await _comment(bob, mine["id"], "Said on beta")
    # bob looks alpha's community up (its posts come along) and follows nothing.
    found = await resolve_community(bob, name, alpha)
    assert (await bob.get("/community", id=found["id"]))["community_view"]["subscribed"] == "NotSubscribed"

    async def copy_on_beta() -> dict[str, Any] | None:
        cross = (await bob.get("/post", id=mine["id"]))["cross_posts"]
        return next((c for c in cross if c["post"]["ap_id"] == theirs["ap_id"]), None)

    copy = await eventually(copy_on_beta)
    # Known to beta, but its comments were never delivered: none is stored there.
    assert (await bob.get("/comment/list", post_id=copy["post"]["id"], max_depth=8))["comments"] == []

    page = await _page(beta, f"/post/{mine['id']}?discussion=all")
    theirs_top = next(li for li in _tops(page) if li.attrs.get("data-remote-post") == str(copy["post"]["id"]))
    text = theirs_top.text()
    assert "Said on alpha, at the top" in text and "A reply on alpha" in text
    assert "Deleted on alpha" not in page
    assert f"on {alpha.domain}" in text
    assert not theirs_top.find_all("form")  # read-only: nothing acts on another server's comments as if ours
    note = parse(page).find("li", cls="remote-half")
    assert f'href="{theirs["ap_id"]}"' in page and theirs["ap_id"] in note.find_all("a")[-1].attrs["href"]
    # One discussion, one sort: the remote comments are interleaved with ours, not put after them.
    order_new = [li.text() for li in _tops(await _page(beta, f"/post/{mine['id']}?discussion=all&sort=New"))]
    order_old = [li.text() for li in _tops(await _page(beta, f"/post/{mine['id']}?discussion=all&sort=Old"))]
    assert _index(order_new, "Said on beta") < _index(order_new, "Said on alpha, at the top")
    assert _index(order_old, "Said on alpha, at the top") < _index(order_old, "Said on beta")
    # Shown, not stored: beta still has no comment of alpha's post.
    assert (await bob.get("/comment/list", post_id=copy["post"]["id"], max_depth=8))["comments"] == []
    assert "A reply on alpha" not in await _page(beta, f"/post/{mine['id']}")

    # A comment written on alpha later shows once the cached copy is older than MOOT_REMOTE_THREAD_SECONDS.
    await _comment(alice, theirs["id"], "Written on alpha later")

    async def refreshed() -> bool:
        return "Written on alpha later" in await _page(beta, f"/post/{mine['id']}?discussion=all")

    await eventually(refreshed, timeout=20)


async def test_a_blocked_origin_is_never_read(pair: dict[str, Node]) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    alice, bob = await person(alpha), await person(beta)
    link = f"https://news.example/{unique('blocked')}"
    name = unique("world")
    community = (await alice.post("/community", {"name": name, "title": "World"}))["community_view"]["community"]
    theirs = (await alice.post("/post", {"name": "The story", "community_id": community["id"], "url": link}))[
        "post_view"
    ]["post"]
    await _comment(alice, theirs["id"], "Never read by beta")
    mine_community = (await bob.post("/community", {"name": unique("news"), "title": "News"}))["community_view"]
    mine = (await bob.post("/post", {"name": "Same", "community_id": mine_community["community"]["id"], "url": link}))[
        "post_view"
    ]["post"]
    await resolve_community(bob, name, alpha)

    async def listed() -> bool:
        return bool((await bob.get("/post", id=mine["id"]))["cross_posts"])

    await eventually(listed)
    beta_admin = await _admin(beta)
    await beta_admin.put("/site", {"blocked_instances": [alpha.host]})
    try:
        page = await _page(beta, f"/post/{mine['id']}?discussion=all")
        assert "Never read by beta" not in page
    finally:
        await beta_admin.put("/site", {"blocked_instances": []})


async def _admin(node: Node) -> Client:
    return await login(node, ADMIN_NAME, ADMIN_PASSWORD)
