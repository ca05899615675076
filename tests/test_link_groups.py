"""One discussion per link: the link key, the group of a link's posts, the joined thread on the API and the pages."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from conftest import (
    Api,
    drop_database,
    make_comment,
    make_community,
    make_database,
    make_post,
    register,
    settings_for,
    unique,
)
from lemmy_shapes import assert_shape
from moot.db.migrate import alembic_config, upgrade_async
from moot.demo.load import load_demo
from moot.domain.linkkey import link_key
from moot.settings import Settings
from test_openapi import answer_errors, operation

SAME = [
    ("https://example.com/a", "http://example.com/a"),
    ("https://www.example.com/a", "https://example.com/a"),
    ("https://example.com/a/", "https://example.com/a"),
    ("https://Example.COM/a", "https://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("http://example.com:80/a", "https://example.com/a"),
    ("https://example.com/a#section-2", "https://example.com/a"),
    ("https://example.com/a?utm_source=x&utm_medium=y", "https://example.com/a"),
    ("https://example.com/a?fbclid=abc&id=3", "https://example.com/a?id=3"),
    ("https://example.com/a?gclid=1&mc_cid=2&mc_eid=3&igshid=4&ref_src=5", "https://example.com/a"),
    ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
    ("https://m.example.com/a", "https://example.com/a"),
    ("https://mobile.example.com/a", "https://example.com/a"),
    ("https://amp.example.com/a", "https://example.com/a"),
    ("https://example.com/a/amp", "https://example.com/a"),
    ("https://example.com/a/amp/", "https://example.com/a"),
    ("https://example.com/a?amp", "https://example.com/a"),
    ("https://example.com/a?outputType=amp", "https://example.com/a"),
    ("https://youtu.be/dQw4w9WgXcQ", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
    ("https://youtu.be/dQw4w9WgXcQ?si=trk", "https://m.youtube.com/watch?v=dQw4w9WgXcQ&feature=share"),
    ("https://www.youtube.com/shorts/dQw4w9WgXcQ", "https://youtube.com/watch?v=dQw4w9WgXcQ"),
]
DIFFERENT = [
    ("https://example.com/a", "https://example.com/b"),
    ("https://example.com/A", "https://example.com/a"),  # paths are case-sensitive
    ("https://example.com/a?id=1", "https://example.com/a?id=2"),
    ("https://example.com/a?id=1", "https://example.com/a"),
    ("https://example.com:8080/a", "https://example.com/a"),
    ("https://other.example.com/a", "https://example.com/a"),
    ("https://example.com/a?si=1", "https://example.com/a?si=2"),  # `si` is tracking on YouTube only
    ("https://example.com/amp-news", "https://example.com"),
    ("https://example.com/a?amp=false", "https://example.com/a"),
    ("https://m.co/a", "https://co/a"),  # a host is never cut down to its last label
    ("https://youtu.be/aaaaaaaaaaa", "https://youtu.be/bbbbbbbbbbb"),
    ("https://site.example/#!/page/1", "https://site.example/#!/page/2"),  # hashbang routes are pages
    ("magnet:?xt=urn:btih:aaa", "magnet:?xt=urn:btih:bbb"),
]


@pytest.mark.parametrize(("first", "second"), SAME)
def test_the_same_link(first: str, second: str) -> None:
    assert link_key(first) == link_key(second)


@pytest.mark.parametrize(("first", "second"), DIFFERENT)
def test_different_links(first: str, second: str) -> None:
    assert link_key(first) != link_key(second)


def test_a_key_never_outgrows_its_column() -> None:
    assert len(link_key("https://example.com/?q=" + "é" * 1900)) <= 2000


async def _group(user: Api, other: Api, count: int = 2) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """`count` communities (the first by `user`, the rest by `other`), each with a post of the same link."""
    link = f"https://news.example/{unique('story')}"
    communities = [await make_community(user if i == 0 else other) for i in range(count)]
    posts = []
    for i, community in enumerate(communities):
        variant = link if i % 2 == 0 else link.replace("https://", "http://www.") + "/?utm_source=feed"
        posts.append(await make_post(user if i == 0 else other, community["id"], url=variant))
    return link, communities, posts


async def test_the_post_view_answers_exactly_lemmys_shape_unless_the_group_is_asked(user: Api, other: Api) -> None:
    _, _, posts = await _group(user, other, 3)
    await make_comment(user, posts[0]["id"], "here")
    await make_comment(other, posts[1]["id"], "there")
    plain = await user.ok_get("/post", id=posts[0]["id"])
    assert "link_group" not in plain
    assert_shape(plain, "GetPostResponse")
    assert {p["post"]["id"] for p in plain["cross_posts"]} == {posts[1]["id"], posts[2]["id"]}
    asked = await user.ok_get("/post", id=posts[0]["id"], link_group=True)
    group = asked.pop("link_group")
    assert_shape(asked, "GetPostResponse")
    assert group["posts"] == 3 and group["communities"] == 3 and group["comments"] == 2
    assert group["post_ids"][0] == posts[0]["id"] and set(group["post_ids"]) == {p["id"] for p in posts}
    assert group["url_match"] == posts[0]["url"].removeprefix("https://")


async def test_merged_comments_one_sort_each_on_its_own_post(user: Api, other: Api) -> None:
    _, _, posts = await _group(user, other)
    first = await make_comment(user, posts[0]["id"], "first, here")
    second = await make_comment(other, posts[1]["id"], "second, there")
    third = await make_comment(user, posts[0]["id"], "third, here")
    # A reply to the other community's comment, made from the joined thread, belongs to that comment's post.
    reply = await make_comment(user, posts[1]["id"], "a reply there", parent_id=second["id"])
    assert reply["post_id"] == posts[1]["id"]
    merged = await user.ok_get("/comment/list", post_id=posts[0]["id"], merge_cross_posts=True, sort="New", max_depth=8)
    assert_shape(merged, "GetCommentsResponse")
    order = [c["comment"]["id"] for c in merged["comments"]]
    # Newest top-level first across both posts, each reply right after its parent.
    assert order == [third["id"], second["id"], reply["id"], first["id"]]
    assert {c["comment"]["id"]: c["post"]["id"] for c in merged["comments"]} == {
        first["id"]: posts[0]["id"],
        third["id"]: posts[0]["id"],
        second["id"]: posts[1]["id"],
        reply["id"]: posts[1]["id"],
    }
    old = await user.ok_get("/comment/list", post_id=posts[0]["id"], merge_cross_posts=True, sort="Old", max_depth=8)
    assert [c["comment"]["id"] for c in old["comments"]] == [first["id"], second["id"], reply["id"], third["id"]]
    alone = await user.ok_get("/comment/list", post_id=posts[0]["id"], max_depth=8)
    assert {c["comment"]["id"] for c in alone["comments"]} == {first["id"], third["id"]}


async def test_a_removed_cross_post_and_its_comments_are_hidden_from_readers(
    user: Api, other: Api, anon: Api, admin: Api
) -> None:
    _, _, posts = await _group(user, other)
    mine = await make_comment(user, posts[0]["id"], "kept")
    gone = await make_comment(other, posts[1]["id"], "under a removed post")
    removed_comment = await make_comment(user, posts[1]["id"], "a removed comment")
    await other.ok_post("/comment/remove", {"comment_id": removed_comment["id"], "removed": True})
    merged = await anon.ok_get("/comment/list", post_id=posts[0]["id"], merge_cross_posts=True, max_depth=8)
    by_id = {c["comment"]["id"]: c["comment"] for c in merged["comments"]}
    assert by_id[removed_comment["id"]]["content"] == ""  # its own community's moderation applies
    assert by_id[gone["id"]]["content"] == "under a removed post"
    await other.ok_post("/post/remove", {"post_id": posts[1]["id"], "removed": True})
    for reader in (anon, user):
        merged = await reader.ok_get("/comment/list", post_id=posts[0]["id"], merge_cross_posts=True, max_depth=8)
        assert [c["comment"]["id"] for c in merged["comments"]] == [mine["id"]]
        view = await reader.ok_get("/post", id=posts[0]["id"], link_group=True)
        assert view["cross_posts"] == [] and view["link_group"]["communities"] == 1
    page = await anon.client.get(f"/post/{posts[0]['id']}?discussion=all")
    assert page.status_code == 200 and "under a removed post" not in page.text
    assert "All discussions" not in page.text  # nothing left to join


async def test_a_blocked_community_is_hidden_for_the_blocker_only(user: Api, other: Api, anon: Api) -> None:
    _, communities, posts = await _group(user, other)
    theirs = await make_comment(other, posts[1]["id"], "in the blocked community")
    await user.ok_post("/community/block", {"community_id": communities[1]["id"], "block": True})
    mine = await user.ok_get("/comment/list", post_id=posts[0]["id"], merge_cross_posts=True, max_depth=8)
    assert theirs["id"] not in {c["comment"]["id"] for c in mine["comments"]}
    assert (await user.ok_get("/post", id=posts[0]["id"]))["cross_posts"] == []
    others = await anon.ok_get("/comment/list", post_id=posts[0]["id"], merge_cross_posts=True, max_depth=8)
    assert theirs["id"] in {c["comment"]["id"] for c in others["comments"]}


async def test_a_blocked_person_is_hidden_in_every_community(user: Api, other: Api, http: httpx.AsyncClient) -> None:
    _, _, posts = await _group(user, other)
    third = await register(http)
    theirs = await make_comment(third, posts[1]["id"], "by someone blocked")
    await user.ok_post("/user/block", {"person_id": third.person_id, "block": True})
    mine = await user.ok_get("/comment/list", post_id=posts[0]["id"], merge_cross_posts=True, max_depth=8)
    assert theirs["id"] not in {c["comment"]["id"] for c in mine["comments"]}
    others = await other.ok_get("/comment/list", post_id=posts[0]["id"], merge_cross_posts=True, max_depth=8)
    assert theirs["id"] in {c["comment"]["id"] for c in others["comments"]}


async def test_merging_an_unknown_post_is_not_found(anon: Api) -> None:
    status, data = await anon.get("/comment/list", post_id=2**31 - 1, merge_cross_posts=True)
    assert status == 404 and data["error"] == "couldnt_find_post"


def _comment_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="c(\d+)" data-comment=', html)]


async def test_the_page_joins_the_threads_and_replies_go_to_each_comments_post(
    user: Api, other: Api, http: httpx.AsyncClient
) -> None:
    _, _, posts = await _group(user, other)
    here = await make_comment(user, posts[0]["id"], "said here")
    there = await make_comment(other, posts[1]["id"], "said there")
    alone = await http.get(f"/post/{posts[0]['id']}")
    assert _comment_ids(alone.text) == [here["id"]]
    assert "All discussions (2 comments in 2 communities)" in alone.text
    joined = await http.get(f"/post/{posts[0]['id']}", params={"discussion": "all", "sort": "Old"})
    assert _comment_ids(joined.text) == [here["id"], there["id"]]
    # Each top-level comment carries its community's badge; the sort links keep the joined view.
    assert f'class="tag community-badge" href="/post/{posts[1]["id"]}"' in joined.text
    assert "discussion=all" in joined.text.split('aria-label="Sort comments"')[1].split("</nav>")[0]
    # Logged in, the reply form under the other community's comment posts to that comment's own post.
    logged = await http.get(f"/post/{posts[0]['id']}?discussion=all", headers={"Cookie": f"jwt={user.jwt}"})
    block = logged.text.split(f'id="c{there["id"]}"')[1]
    assert f'action="/post/{posts[1]["id"]}/comment"' in block.split("</li>")[0]
    assert f'name="parent_id" value="{there["id"]}"' in block.split("</li>")[0]


async def test_the_cross_post_list_names_each_community_once(user: Api, other: Api, http: httpx.AsyncClient) -> None:
    link, communities, posts = await _group(user, other)
    again = await make_post(other, communities[1]["id"], url=link + "#again")
    page = await http.get(f"/post/{posts[0]['id']}")
    listed = page.text.split('class="crossposts"')[1].split("</p>")[0]
    assert listed.count(f">{communities[1]['name']}</a>") == 1
    assert "1 point, 0 comments" in listed
    data = await user.ok_get("/post", id=posts[0]["id"])
    # The API's cross_posts stay Lemmy's: every other post of the link, one per post.
    assert {p["post"]["id"] for p in data["cross_posts"]} == {posts[1]["id"], again["id"]}


async def test_the_demo_joins_the_cross_posts_discussion(
    settings: Settings, anon: Api, http: httpx.AsyncClient
) -> None:
    summary = await load_demo(settings)
    data = await anon.ok_get("/post", id=summary.post_id, link_group=True)
    assert len(data["cross_posts"]) == 1
    group = data["link_group"]
    assert group["communities"] == 2 and group["comments"] == 33
    merged = await anon.ok_get(
        "/comment/list", post_id=summary.post_id, merge_cross_posts=True, max_depth=50, sort="Old"
    )
    by_post: dict[int, int] = {}
    for c in merged["comments"]:
        by_post[c["post"]["id"]] = by_post.get(c["post"]["id"], 0) + 1
    assert by_post == {summary.post_id: 28, data["cross_posts"][0]["post"]["id"]: 5}
    page = await http.get(f"/post/{summary.post_id}?discussion=all")
    assert page.text.count('class="crossposts"') == 1
    assert page.text.split('class="crossposts"')[1].split("</p>")[0].count("news@beehaw.org") == 1
    assert len(_comment_ids(page.text)) == 33


async def test_the_extensions_are_documented_in_the_openapi_document(app: Any, user: Api, other: Api) -> None:
    document: dict[str, Any] = app.openapi()
    _, _, posts = await _group(user, other)
    asked = await user.ok_get("/post", id=posts[0]["id"], link_group=True)
    assert answer_errors(document, "GET", "/post", 200, asked) == []
    assert answer_errors(document, "GET", "/post", 200, {**asked, "link_group": {"posts": "many"}}) != []
    for path, name in (("/comment/list", "merge_cross_posts"), ("/post", "link_group")):
        assert name in {p["name"] for p in operation(document, "get", path)["parameters"]}


async def test_the_composer_endpoint_lists_each_community_once(user: Api, other: Api, http: httpx.AsyncClient) -> None:
    link, communities, posts = await _group(user, other)
    await make_post(other, communities[1]["id"], url=link + "?fbclid=1")
    await make_comment(other, posts[1]["id"], "lively")
    r = await http.get("/link_discussions", params={"url": link.replace("https://", "http://m.")})
    found = r.json()["discussions"]
    assert [d["post_id"] for d in found] == [posts[1]["id"], posts[0]["id"]]  # most comments first
    assert found[0]["community"] == communities[1]["name"] and found[0]["comments"] == 1
    assert (await http.get("/link_discussions", params={"url": "javascript:alert(1)"})).json() == {"discussions": []}
    # (Without a script, the composer's "Check link" shows the same list: tests/web/test_joined_thread.py.)


async def test_migration_0008_recomputes_every_key(tmp_path: Path) -> None:
    db = await asyncio.to_thread(make_database, tmp_path)  # it runs its own event loop on PostgreSQL
    try:
        settings = settings_for(db)
        await upgrade_async(settings)
        summary = await load_demo(settings)
        engine = create_async_engine(db.url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("UPDATE post SET url_match = 'stale', url = url || '/?utm_source=x'"))
            config = alembic_config(settings)
            await asyncio.to_thread(command.downgrade, config, "0007")
            await asyncio.to_thread(command.upgrade, config, "0008")
            async with engine.connect() as connection:
                rows = (await connection.execute(text("SELECT id, url_match FROM post ORDER BY id"))).all()
        finally:
            await engine.dispose()
        assert [row[0] for row in rows] == [summary.post_id, *summary.crosspost_ids]
        assert {row[1] for row in rows} == {"news.example/2024/05/kallas-nato-training-ukraine"}
    finally:
        await asyncio.to_thread(drop_database, db)
