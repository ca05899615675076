"""Site administration that must take effect: custom emojis (CRUD, listed by GetSite) and blocked URLs (posts and
comments linking to them refused with `blocked_url`), admins only.

The app is shared by this worker's tests: every blocked URL and emoji a test adds is removed in `finally`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from conftest import Api, make_comment, make_community, make_post, unique
from lemmy_shapes import assert_shape

# ------------------------------------------------------------------ custom emojis


def emoji_form(shortcode: str, **extra: Any) -> dict[str, Any]:
    return {
        "category": "Animals",
        "shortcode": shortcode,
        "image_url": "https://img.example/emoji/cat.png",
        "alt_text": "A cat",
        "keywords": ["Cat", " kitty ", "cat"],
        **extra,
    }


async def site_emojis(api: Api) -> dict[str, dict[str, Any]]:
    site = await api.ok_get("/site")
    assert_shape(site, "GetSiteResponse")
    return {e["custom_emoji"]["shortcode"]: e for e in site["custom_emojis"]}


async def test_emoji_create_edit_delete_and_getsite(admin: Api, anon: Api) -> None:
    shortcode = unique("cat").lower()
    created = await admin.ok_post("/custom_emoji", emoji_form(f"  {shortcode.upper()} "))
    assert_shape(created, "CustomEmojiResponse")
    emoji = created["custom_emoji"]
    emoji_id = emoji["custom_emoji"]["id"]
    try:
        # Stored as Lemmy stores them: the shortcode and keywords in lower case, trimmed (each keyword once).
        assert emoji["custom_emoji"]["shortcode"] == shortcode
        assert sorted(k["keyword"] for k in emoji["keywords"]) == ["cat", "kitty"]
        assert {k["custom_emoji_id"] for k in emoji["keywords"]} == {emoji_id}
        assert "updated" not in emoji["custom_emoji"]
        listed = (await site_emojis(anon))[shortcode]
        assert listed == emoji
        edited = await admin.ok_put(
            "/custom_emoji",
            {
                "id": emoji_id,
                "category": "Pets",
                "image_url": "https://img.example/emoji/cat2.png",
                "alt_text": "A sleeping cat",
                "keywords": ["sleepy"],
            },
        )
        view = edited["custom_emoji"]
        assert view["custom_emoji"]["shortcode"] == shortcode
        assert (view["custom_emoji"]["category"], view["custom_emoji"]["alt_text"]) == ("Pets", "A sleeping cat")
        assert view["custom_emoji"]["image_url"] == "https://img.example/emoji/cat2.png"
        assert [k["keyword"] for k in view["keywords"]] == ["sleepy"]
        assert "updated" in view["custom_emoji"]
        assert (await site_emojis(anon))[shortcode] == view
    finally:
        deleted = await admin.ok_post("/custom_emoji/delete", {"id": emoji_id})
    assert deleted == {"success": True}
    assert shortcode not in await site_emojis(anon)


async def test_emojis_are_for_admins_only(admin: Api, user: Api, anon: Api) -> None:
    shortcode = unique("dog").lower()
    emoji_id = (await admin.ok_post("/custom_emoji", emoji_form(shortcode)))["custom_emoji"]["custom_emoji"]["id"]
    try:
        assert await user.post("/custom_emoji", emoji_form(unique("x").lower())) == (400, {"error": "not_an_admin"})
        edit = {
            "id": emoji_id,
            "category": "c",
            "image_url": "https://img.example/x.png",
            "alt_text": "",
            "keywords": [],
        }
        assert await user.put("/custom_emoji", edit) == (400, {"error": "not_an_admin"})
        assert await user.post("/custom_emoji/delete", {"id": emoji_id}) == (400, {"error": "not_an_admin"})
        assert await anon.post("/custom_emoji/delete", {"id": emoji_id}) == (401, {"error": "not_logged_in"})
        assert (await site_emojis(anon))[shortcode]["custom_emoji"]["category"] == "Animals"
    finally:
        await admin.ok_post("/custom_emoji/delete", {"id": emoji_id})


async def test_emoji_refusals(admin: Api) -> None:
    shortcode = unique("owl").lower()
    emoji_id = (await admin.ok_post("/custom_emoji", emoji_form(shortcode)))["custom_emoji"]["custom_emoji"]["id"]
    try:
        status, data = await admin.post("/custom_emoji", emoji_form(shortcode.upper()))
        assert status == 400 and data["error"] == "unknown" and "shortcode" in data["message"]
        for url in ("javascript:alert(1)", "not a url", "data:image/png;base64,AAAA"):
            status, data = await admin.post("/custom_emoji", emoji_form(unique("e").lower(), image_url=url))
            assert (status, data) == (400, {"error": "invalid_url"}), url
        edit = {"id": 2_000_000_000, "category": "c", "image_url": "https://img.example/x.png", "alt_text": "a"}
        status, data = await admin.put("/custom_emoji", {**edit, "keywords": []})
        assert (status, data) == (404, {"error": "unknown", "message": "Record not found"})
    finally:
        await admin.ok_post("/custom_emoji/delete", {"id": emoji_id})
    # Deleting what is not there succeeds, as on Lemmy.
    assert await admin.ok_post("/custom_emoji/delete", {"id": emoji_id}) == {"success": True}


# ------------------------------------------------------------------ blocked URLs


@pytest.fixture
async def blocked(admin: Api) -> AsyncIterator[None]:
    await admin.ok_put("/site", {"blocked_urls": ["https://Spam.example/", "example.org/bad-page"]})
    try:
        yield
    finally:
        await admin.ok_put("/site", {"blocked_urls": []})


async def test_blocked_urls_are_stored_without_scheme_and_listed(blocked: None, anon: Api) -> None:
    site = await anon.ok_get("/site")
    assert_shape(site, "GetSiteResponse")
    assert [u["url"] for u in site["blocked_urls"]] == ["spam.example", "example.org/bad-page"]
    assert all(u["id"] and u["published"] for u in site["blocked_urls"])


async def test_blocked_urls_are_validated_and_replaced_whole(admin: Api, anon: Api) -> None:
    try:
        await admin.ok_put("/site", {"blocked_urls": ["a.example", "http://a.example/", "b.example"]})
        assert [u["url"] for u in (await anon.ok_get("/site"))["blocked_urls"]] == ["a.example", "b.example"]
        for bad in ("https://spam .example", "mailto:someone@example.com", "https://"):
            status, data = await admin.put("/site", {"blocked_urls": ["c.example", bad]})
            assert (status, data) == (400, {"error": "invalid_url"}), bad
        # A refused list changes nothing.
        assert [u["url"] for u in (await anon.ok_get("/site"))["blocked_urls"]] == ["a.example", "b.example"]
        await admin.ok_put("/site", {"blocked_urls": ["c.example"]})
        assert [u["url"] for u in (await anon.ok_get("/site"))["blocked_urls"]] == ["c.example"]
        # Left out of the form, the list stays.
        await admin.ok_put("/site", {"name": (await anon.ok_get("/site"))["site_view"]["site"]["name"]})
        assert [u["url"] for u in (await anon.ok_get("/site"))["blocked_urls"]] == ["c.example"]
    finally:
        await admin.ok_put("/site", {"blocked_urls": []})


async def test_only_admins_set_blocked_urls(user: Api, anon: Api) -> None:
    assert await user.put("/site", {"blocked_urls": ["x.example"]}) == (400, {"error": "not_an_admin"})
    assert (await anon.ok_get("/site"))["blocked_urls"] == []


async def test_posts_linking_to_blocked_urls_are_refused(blocked: None, user: Api) -> None:
    community = await make_community(user)
    cid = community["id"]
    for url in ("https://spam.example", "http://SPAM.example/deal?x=1", "https://www.spam.example/x"):
        status, data = await user.post("/post", {"name": "Deal", "community_id": cid, "url": url})
        assert (status, data) == (400, {"error": "blocked_url"}), url
    for body in ("Go to [this](https://spam.example/x)", "visit spam.example.", "see https://example.org/bad-page"):
        status, data = await user.post("/post", {"name": "Deal", "community_id": cid, "body": body})
        assert (status, data) == (400, {"error": "blocked_url"}), body
    # Word boundaries: other hosts and other pages are fine.
    await make_post(user, cid, url="https://notspam.example/x")
    await make_post(user, cid, url="https://example.org/good-page", body="spam.examples and example.org/bad-pages")


async def test_post_edits_are_checked_too(blocked: None, user: Api) -> None:
    post = await make_post(user, (await make_community(user))["id"], url="https://fine.example/")
    status, data = await user.put("/post", {"post_id": post["id"], "url": "https://spam.example/x"})
    assert (status, data) == (400, {"error": "blocked_url"})
    status, data = await user.put("/post", {"post_id": post["id"], "body": "now with [a link](http://spam.example)"})
    assert (status, data) == (400, {"error": "blocked_url"})
    view = (await user.ok_get("/post", id=post["id"]))["post_view"]["post"]
    assert view["url"] == "https://fine.example/" and "body" not in view
    await user.ok_put("/post", {"post_id": post["id"], "body": "still fine"})


async def test_comments_linking_to_blocked_urls_are_refused(blocked: None, user: Api) -> None:
    post = await make_post(user, (await make_community(user))["id"])
    status, data = await user.post("/comment", {"post_id": post["id"], "content": "![img](https://spam.example/a.png)"})
    assert (status, data) == (400, {"error": "blocked_url"})
    comment = await make_comment(user, post["id"], "nothing to see")
    status, data = await user.put("/comment", {"comment_id": comment["id"], "content": "go to spam.example now"})
    assert (status, data) == (400, {"error": "blocked_url"})
    assert (await user.ok_get("/comment", id=comment["id"]))["comment_view"]["comment"]["content"] == "nothing to see"


async def test_lifting_the_block_lets_links_through(admin: Api, user: Api) -> None:
    post = await make_post(user, (await make_community(user))["id"])
    try:
        await admin.ok_put("/site", {"blocked_urls": ["lifted.example"]})
        status, data = await user.post("/comment", {"post_id": post["id"], "content": "https://lifted.example"})
        assert (status, data) == (400, {"error": "blocked_url"})
    finally:
        await admin.ok_put("/site", {"blocked_urls": []})
    await make_comment(user, post["id"], "https://lifted.example")


async def test_the_comment_form_page_is_refused_too(blocked: None, user: Api, app: Any) -> None:
    """The pages write through the same actions: a comment posted from a page is refused as well."""
    post = await make_post(user, (await make_community(user))["id"])
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://moot.test:8536") as browser:
        browser.cookies.set("jwt", str(user.jwt))
        page = await browser.get(f"/post/{post['id']}")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        response = await browser.post(
            f"/post/{post['id']}/comment", data={"csrf_token": token[1], "content": "see spam.example"}
        )
    assert response.status_code == 400
    comments = (await user.ok_get("/comment/list", post_id=post["id"]))["comments"]
    assert comments == []
