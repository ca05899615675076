"""Reading pages: the example thread, its comment views, listings with paging, communities, profiles, search."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Api, make_comment, make_community, make_post, unique
from moot.demo.load import DEMO_FILE, DemoSummary
from web.conftest import Browser
from web.dom import Element, parse

SEED = json.loads(Path(DEMO_FILE).read_text(encoding="utf-8"))


def comment_depth(item: Element) -> int:
    return 1 + sum(1 for a in item.ancestors() if a.tag == "li" and "comment" in a.classes)


async def page(browser: Browser, path: str, status: int = 200) -> Element:
    response = await browser.get(path)
    assert response.status_code == status, (path, response.status_code, response.text[:1500])
    return parse(response.text)


async def test_example_thread_has_all_comments_nested_seven_deep(browser: Browser, demo: DemoSummary) -> None:
    doc = await page(browser, f"/post/{demo.post_id}")
    comments = doc.find_all("li", cls="comment")
    assert len(comments) == len(SEED["comments"]) == 28
    assert max(comment_depth(c) for c in comments) == 7
    # The deepest chain of the seed: 1 > 2 > 8 > 9 > 10 > 11 > 12 ends with this comment.
    deepest = max(comments, key=comment_depth)
    assert "no Russia without Moscow" in deepest.find(cls="comment-body").text()
    headings = doc.find_all("h1")
    assert len(headings) == 1 and headings[0].text() == SEED["post"]["title"]


async def test_example_thread_names_its_cross_post_once(browser: Browser, demo: DemoSummary) -> None:
    doc = await page(browser, f"/post/{demo.post_id}")
    line = doc.find("p", cls="crossposts")
    links = line.find_all("a")
    assert [a.text() for a in links] == ["news@beehaw.org"]
    assert links[0].attrs["href"] == f"/post/{demo.crosspost_ids[0]}"
    # And the cross-post's page points back at the original community, by its local name.
    other = await page(browser, f"/post/{demo.crosspost_ids[0]}")
    assert [a.text() for a in other.find("p", cls="crossposts").find_all("a")] == ["worldnews"]


async def test_example_thread_quotes_are_blockquotes(browser: Browser, demo: DemoSummary) -> None:
    pytest.importorskip("moot.domain.markdown")
    doc = await page(browser, f"/post/{demo.post_id}")
    quoting = sum(1 for c in SEED["comments"] if c["content_markdown"].startswith(">"))
    bodies = doc.find_all("div", cls="comment-body")
    assert sum(1 for b in bodies if b.find_all("blockquote")) >= quoting >= 5


async def test_comments_fold_without_javascript(browser: Browser, demo: DemoSummary) -> None:
    """Each comment's body, actions and replies sit in an open <details> whose <summary> folds them; the
    head line (with its links, which may not go inside a summary) stays visible."""
    doc = await page(browser, f"/post/{demo.post_id}")
    for item in doc.find_all("li", cls="comment"):
        head, fold = [c for c in item.children if isinstance(c, Element)]
        assert "comment-head" in head.classes and head.find_all("a", cls="person")
        assert fold.tag == "details" and "open" in fold.attrs
        summary = next(c for c in fold.children if isinstance(c, Element))
        assert summary.tag == "summary" and not summary.find_all("a")
        assert summary.text().startswith("Comment by ")


async def test_comment_permalink_shows_its_subtree(user: Api, browser: Browser) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    top = await make_comment(user, post["id"], "top level")
    middle = await make_comment(user, post["id"], "the middle one", parent_id=top["id"])
    leaf = await make_comment(user, post["id"], "a leaf below", parent_id=middle["id"])
    sibling = await make_comment(user, post["id"], "a sibling of the middle", parent_id=top["id"])
    doc = await page(browser, f"/post/{post['id']}/comment/{middle['id']}")
    ids = [c.attrs["id"] for c in doc.find_all("li", cls="comment")]
    assert ids == [f"c{middle['id']}", f"c{leaf['id']}"]
    assert "target" in doc.by_id(f"c{middle['id']}").classes
    assert doc.find("a", href=f"/post/{post['id']}/comment/{middle['id']}?context=1").text() == "Show context"
    # ?comment= is the same view.
    same = await page(browser, f"/post/{post['id']}?comment={middle['id']}")
    assert [c.attrs["id"] for c in same.find_all("li", cls="comment")] == ids
    # Context: the ancestors and the branch below, not the siblings.
    context = await page(browser, f"/post/{post['id']}/comment/{middle['id']}?context=1")
    ids = [c.attrs["id"] for c in context.find_all("li", cls="comment")]
    assert ids == [f"c{top['id']}", f"c{middle['id']}", f"c{leaf['id']}"]
    assert f"c{sibling['id']}" not in ids
    # Lemmy's /comment/{id} address leads to the thread.
    moved = await browser.get(f"/comment/{leaf['id']}")
    assert moved.status_code == 302
    assert moved.headers["location"] == f"/post/{post['id']}/comment/{leaf['id']}"
    # A comment asked for under the wrong post is sent to its own.
    wrong = await browser.get(f"/post/{post['id'] + 100000}/comment/{leaf['id']}")
    assert wrong.status_code == 302


async def test_deep_thread_offers_more_replies(user: Api, browser: Browser) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    chain = []
    parent = None
    for i in range(11):
        comment = await make_comment(user, post["id"], f"level {i + 1}", parent_id=parent)
        chain.append(comment["id"])
        parent = comment["id"]
    doc = await page(browser, f"/post/{post['id']}")
    shown = doc.find_all("li", cls="comment")
    assert len(shown) == 8
    more = doc.find("p", cls="more").find("a")
    assert more.attrs["href"] == f"/post/{post['id']}/comment/{chain[7]}#c{chain[7]}"
    assert "Continue this thread" in more.text() and "3 more replies" in more.text()
    rest = await page(browser, more.attrs["href"])
    assert [c.attrs["id"] for c in rest.find_all("li", cls="comment")] == [f"c{i}" for i in chain[7:]]


async def test_comment_sort_choice(user: Api, browser: Browser) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    first = await make_comment(user, post["id"], "written first")
    second = await make_comment(user, post["id"], "written second")
    new = await page(browser, f"/post/{post['id']}?sort=New")
    assert [c.attrs["id"] for c in new.find_all("li", cls="comment")] == [f"c{second['id']}", f"c{first['id']}"]
    old = await page(browser, f"/post/{post['id']}?sort=Old")
    assert [c.attrs["id"] for c in old.find_all("li", cls="comment")] == [f"c{first['id']}", f"c{second['id']}"]
    current = old.find("nav", cls="tabs").find("a", aria_current="true")
    assert current.text() == "Old"


async def test_post_rows_carry_what_a_reader_needs(user: Api, browser: Browser) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"], name="A row to read", url="https://www.example.org/some/page")
    await make_comment(user, post["id"], "one")
    doc = await page(browser, f"/c/{community['name']}", status=200)
    row = doc.by_id(f"p{post['id']}")
    assert row.find("h2").find("a", href=f"/post/{post['id']}").text() == "A row to read"
    assert row.find("a", cls="domain").text() == "example.org"
    assert "1 point" in row.find(cls="vote").text()
    assert "1 comment" in row.text()
    assert row.find("a", cls="person").text() == user.name
    assert row.find("time").text() in ("now", "1m")


async def test_front_page_every_sort_and_listing(browser: Browser, demo: DemoSummary) -> None:
    from moot.domain.enums import SortType

    for sort in SortType:
        for listing in ("All", "Local", "Subscribed"):
            response = await browser.get("/", type=listing, sort=sort.value)
            assert response.status_code == 200, (sort, listing)
    doc = await page(browser, "/?type=All&sort=New")
    assert doc.find("nav", cls="tabs").find("a", aria_current="page").text() == "All posts"
    assert doc.find("select", id="sort").find("option", selected="").attrs["value"] == "New"
    # A bad value is the default, not an error.
    assert (await browser.get("/", type="Nonsense", sort="Sideways")).status_code == 200


async def test_listing_pages_with_the_cursor(user: Api, browser: Browser) -> None:
    community = await make_community(user)
    made = [(await make_post(user, community["id"], name=f"paged post {i}"))["id"] for i in range(23)]
    first = await page(browser, f"/c/{community['name']}?sort=New")
    first_ids = [int(r.attrs["id"][1:]) for r in first.find_all("li", cls="post-row")]
    assert first_ids == list(reversed(made))[:20]
    next_link = first.find("a", rel="next").attrs["href"]
    assert "cursor=P" in next_link
    second = await page(browser, next_link)
    second_ids = [int(r.attrs["id"][1:]) for r in second.find_all("li", cls="post-row")]
    assert second_ids == list(reversed(made))[20:]
    assert not second.find_all("a", rel="next")
    assert second.find("nav", cls="pager").find("a").text() == "First page"


async def test_community_page_sidebar(user: Api, other: Api, browser: Browser) -> None:
    name = unique("side")
    community = await make_community(user, name=name, description="About *this* place")
    await other.ok_post("/community/follow", {"community_id": community["id"], "follow": True})
    await make_post(user, community["id"])
    doc = await page(browser, f"/c/{name}")
    side = doc.find("aside", cls="sidebar")
    assert side.find("h2").text() == "A community"
    assert "2 subscribers" in side.text() and "1 post" in side.text()
    assert "About" in side.find("div", cls="description").text()
    assert [a.text() for a in side.find("ul", cls="mods").find_all("a")] == [user.name]
    assert len(doc.find_all("h1")) == 1
    missing = await browser.get(f"/c/{unique('none')}")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]


async def test_communities_list_and_search(user: Api, browser: Browser) -> None:
    name = unique("findme")
    await make_community(user, name=name)
    doc = await page(browser, f"/communities?q={name}")
    rows = doc.find("table", cls="community-table").find_all("tr")
    assert len(rows) == 2 and name in rows[1].text()
    none = await page(browser, f"/communities?q={unique('nothing')}")
    assert "No communities found." in none.text()


async def test_profile_lists_posts_and_comments(user: Api, browser: Browser) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"], name="Profile post")
    await make_comment(user, post["id"], "Profile comment")
    posts = await page(browser, f"/u/{user.name}")
    assert posts.find("h1").text().startswith(user.name)
    assert "Profile post" in posts.find("ol", cls="posts").text()
    comments = await page(browser, f"/u/{user.name}?view=comments")
    assert "Profile comment" in comments.find("ol", cls="comment-list").text()
    assert (await browser.get(f"/u/{unique('ghost')}")).status_code == 404


async def test_search_page(user: Api, browser: Browser) -> None:
    word = unique("zebra")
    community = await make_community(user)
    await make_post(user, community["id"], name=f"About the {word} crossing")
    doc = await page(browser, f"/search?q={word}")
    assert f"About the {word} crossing" in doc.find("section", aria_labelledby="found-posts").text()
    assert (await page(browser, "/search")).find("input", id="search-q").attrs["value"] == ""


async def test_titles_are_plain_text(user: Api, browser: Browser) -> None:
    community = await make_community(user, title="<b>Bold</b> & co")
    post = await make_post(user, community["id"], name="<script>alert(1)</script> *not emphasis*")
    response = await browser.get(f"/post/{post['id']}")
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; *not emphasis*" in response.text
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in response.text


async def test_unknown_post_is_a_404_page(browser: Browser) -> None:
    response = await browser.get("/post/999999999")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert parse(response.text).find("h1").text() == "Not found"
