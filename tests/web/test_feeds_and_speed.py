"""RSS feeds (valid, escaped XML) and the cost of the thread page (a fixed number of SQL statements)."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from conftest import Api, make_comment, make_community, make_post, unique
from moot.db.engine import count_queries
from moot.demo.load import DemoSummary
from web.conftest import Browser


def items(xml: str) -> list[ET.Element]:
    root = ET.fromstring(xml)  # noqa: S314 - our own feed, from our own server
    assert root.tag == "rss" and root.attrib["version"] == "2.0"
    channel = root.find("channel")
    assert channel is not None and channel.findtext("title")
    return channel.findall("item")


async def test_feeds_list_posts_with_escaped_text(user: Api, browser: Browser) -> None:
    community = await make_community(user, title="Feeds & <things>")
    title = f"Tom & Jerry <b>{unique()}</b>"
    post = await make_post(user, community["id"], name=title, body="Some *markdown* & more")
    for path in (
        "/feeds/all.xml",
        "/feeds/local.xml",
        f"/feeds/c/{community['name']}.xml",
        f"/feeds/u/{user.name}.xml",
    ):
        response = await browser.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
        found = [i for i in items(response.text) if i.findtext("title") == title]
        assert len(found) == 1, path
        item = found[0]
        assert item.findtext("link", "").endswith(f"/post/{post['id']}")
        assert "&amp;" in response.text and "<b>" not in response.text
        assert "markdown" in item.findtext("description", "")
        assert item.findtext("category") == community["name"]
    missing = await browser.get(f"/feeds/c/{unique('nope')}.xml")
    assert missing.status_code == 404


async def test_front_feed_by_token(user: Api, other: Api, browser: Browser) -> None:
    community = await make_community(other)
    await make_post(other, community["id"], name="For subscribers only")
    await user.ok_post("/community/follow", {"community_id": community["id"], "follow": True})
    response = await browser.get(f"/feeds/front/{user.jwt}.xml")
    assert response.status_code == 200
    assert "For subscribers only" in [i.findtext("title") for i in items(response.text)]
    assert (await browser.get("/feeds/front/not-a-token.xml")).status_code == 401


async def _thread_statements(browser: Browser, post_id: int) -> int:
    async with count_queries() as statements:
        response = await browser.get(f"/post/{post_id}")
    assert response.status_code == 200
    return len(statements)


async def test_thread_page_costs_a_fixed_number_of_queries(
    user: Api, browser: Browser, member: Browser, demo: DemoSummary
) -> None:
    """The example thread (28 comments, 7 deep) costs what a thread of one comment costs."""
    community = await make_community(user)
    small = await make_post(user, community["id"], url="https://example.com/" + unique())
    await make_comment(user, small["id"], "only one")
    await browser.get("/")  # the CSRF cookie first, as a returning reader has it
    # site header, post, community, moderators, cross-posts, the comment tree
    assert await _thread_statements(browser, demo.post_id) == 6
    assert await _thread_statements(browser, small["id"]) == 6
    # + the login and the unread count, and on a first visit marking the post read (as GetPost does)
    first_visit = await _thread_statements(member, demo.post_id)
    assert first_visit == await _thread_statements(member, small["id"]) <= 13
    assert await _thread_statements(member, demo.post_id) == 8
    assert await _thread_statements(member, small["id"]) == 8
