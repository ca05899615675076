"""The example thread: imported through the actions, served over the API like any other thread."""

from __future__ import annotations

import json
from typing import Any

from conftest import Api
from lemmy_shapes import assert_shape
from moot.demo.load import DEMO_FILE, load_demo
from moot.settings import Settings


async def test_demo_thread_is_served_with_crosspost_and_full_tree(settings: Settings, anon: Api) -> None:
    fixture: dict[str, Any] = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    summary = await load_demo(settings)
    # The web tests of the same worker may have imported it first (the import runs once per database).
    assert summary.comments == (28 if summary.created else 0)

    data = await anon.ok_get("/post", id=summary.post_id)
    assert_shape(data, "GetPostResponse")
    post = data["post_view"]["post"]
    assert post["name"] == fixture["post"]["title"]
    assert post["url"] == fixture["post"]["url"]
    assert data["post_view"]["community"]["name"] == "worldnews"
    assert data["post_view"]["counts"]["comments"] == 28
    cross = data["cross_posts"]
    assert [(c["community"]["name"], c["community"]["actor_id"]) for c in cross] == [
        ("news", "https://beehaw.org/c/news")
    ]
    assert cross[0]["community"]["local"] is False

    tree = await anon.ok_get("/comment/list", post_id=summary.post_id, max_depth=50, sort="Old")
    assert_shape(tree, "GetCommentsResponse")
    comments = tree["comments"]
    assert len(comments) == 28
    depths = [len(c["comment"]["path"].split(".")) - 1 for c in comments]
    assert max(depths) == 7
    # Depth-first: every comment's parent comes before it.
    seen: set[str] = {"0"}
    for c in comments:
        path = c["comment"]["path"]
        assert path.rsplit(".", 1)[0] in seen
        seen.add(path)
    # The imported words are the fixture's, and remote authors keep their home instance.
    by_content = {c["comment"]["content"]: c for c in comments}
    for item in fixture["comments"]:
        view = by_content[item["content_markdown"]]
        name, _, host = item["author"].partition("@")
        assert view["creator"]["name"] == name
        assert view["creator"]["local"] is (host == "alpha.example")
    quoted = [c for c in comments if c["comment"]["content"].startswith(">")]
    assert len(quoted) >= 5


async def test_demo_import_is_idempotent(settings: Settings, anon: Api) -> None:
    first = await load_demo(settings)
    again = await load_demo(settings)
    assert again.created is False
    assert again.post_id == first.post_id
    listed = await anon.ok_get("/post/list", community_name="worldnews", sort="New", limit=50)
    urls = [p["post"]["url"] for p in listed["posts"]]
    assert urls.count(json.loads(DEMO_FILE.read_text(encoding="utf-8"))["post"]["url"]) == 1
