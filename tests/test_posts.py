"""Posts through the v3 API: create, edit, delete, vote, save, read, hide and GET /post with its cross-posts."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import Api, make_comment, make_community, make_post, register, unique
from lemmy_shapes import assert_shape


async def post_view(api: Api, post_id: int) -> Any:
    return (await api.ok_get("/post", id=post_id))["post_view"]


async def listed_ids(api: Api, **params: Any) -> list[int]:
    data = await api.ok_get("/post/list", limit=50, **params)
    return [p["post"]["id"] for p in data["posts"]]


async def community_posts(api: Api, community_id: int) -> int:
    data = await api.ok_get("/community", id=community_id)
    count: int = data["community_view"]["counts"]["posts"]
    return count


# ------------------------------------------------------------------------------------------------ create


async def test_create_post_returns_an_upvoted_read_post_view(user: Api) -> None:
    community = await make_community(user)
    data = await user.ok_post("/post", {"name": "  A fine title  ", "community_id": community["id"], "body": "text"})
    assert_shape(data, "PostResponse")
    view = data["post_view"]
    assert view["post"]["name"] == "A fine title"
    assert view["post"]["body"] == "text"
    assert view["post"]["creator_id"] == user.person_id
    assert view["post"]["local"] is True
    assert view["post"]["ap_id"].endswith(f"/post/{view['post']['id']}")
    assert view["counts"]["score"] == 1
    assert view["counts"]["upvotes"] == 1
    assert view["counts"]["downvotes"] == 0
    assert view["my_vote"] == 1
    assert view["read"] is True
    assert view["creator_is_moderator"] is True
    assert "updated" not in view["post"]


async def test_title_must_be_3_to_200_chars_without_newline(user: Api) -> None:
    community = await make_community(user)
    for bad in ["ab", "   ", "  ab  ", "x" * 201, "two\nlines", ""]:
        status, data = await user.post("/post", {"name": bad, "community_id": community["id"]})
        assert (status, data) == (400, {"error": "invalid_post_title"}), repr(bad)
    for good in ["abc", "x" * 200, "Family 👨\u200d👩\u200d👧 day", "tab\tinside"]:
        post = await make_post(user, community["id"], name=good)
        assert post["name"] == good


async def test_body_is_limited_to_50000_chars(user: Api) -> None:
    community = await make_community(user)
    status, data = await user.post(
        "/post", {"name": "Long body", "community_id": community["id"], "body": "b" * 50_001}
    )
    assert (status, data) == (400, {"error": "invalid_body_field"})
    post = await make_post(user, community["id"], body="b" * 50_000)
    assert len(post["body"]) == 50_000


async def test_url_is_checked_like_lemmy(user: Api) -> None:
    community = await make_community(user)
    cases = {
        "https://example.com/" + "a" * 2000: "url_length_overflow",
        "javascript:alert(1)": "invalid_url_scheme",
        "ftp://example.com/file": "invalid_url_scheme",
        "not a url": "invalid_url",
        "http://": "invalid_url",
    }
    for url, error in cases.items():
        status, data = await user.post("/post", {"name": "Link post", "community_id": community["id"], "url": url})
        assert (status, data) == (400, {"error": error}), url
    magnet = "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
    assert (await make_post(user, community["id"], url=magnet))["url"] == magnet


async def test_tracking_params_are_removed_and_the_rest_kept(user: Api) -> None:
    community = await make_community(user)
    post = await make_post(
        user, community["id"], url="https://example.com/a?utm_source=feed&q=hello%20world&flag&fbclid=xyz#part"
    )
    assert post["url"] == "https://example.com/a?q=hello%20world&flag#part"
    only_tracking = await make_post(user, community["id"], url="https://example.com/b?utm_medium=x&gclid=1")
    assert only_tracking["url"] == "https://example.com/b"


async def test_honeypot_refuses(user: Api) -> None:
    community = await make_community(user)
    status, data = await user.post("/post", {"name": "Bot post", "community_id": community["id"], "honeypot": "x"})
    assert (status, data) == (400, {"error": "honeypot_failed"})


async def test_language_must_exist_and_be_allowed_in_the_community(user: Api, admin: Api) -> None:
    community = await make_community(user)
    status, data = await user.post("/post", {"name": "Lang post", "community_id": community["id"], "language_id": 9999})
    assert (status, data) == (400, {"error": "language_not_allowed"})
    assert (await make_post(user, community["id"], language_id=37))["language_id"] == 37
    english_only = await make_community(user, discussion_languages=[37])
    status, data = await user.post(
        "/post", {"name": "In French", "community_id": english_only["id"], "language_id": 47}
    )
    assert (status, data) == (400, {"error": "language_not_allowed"})
    assert (await make_post(user, english_only["id"], language_id=37))["language_id"] == 37


async def test_posting_restricted_to_mods(admin: Api, user: Api) -> None:
    community = await make_community(admin, posting_restricted_to_mods=True)
    status, data = await user.post("/post", {"name": "Not a mod", "community_id": community["id"]})
    assert (status, data) == (400, {"error": "only_mods_can_post_in_community"})
    await make_post(admin, community["id"])


async def test_create_needs_login_and_a_community(anon: Api, user: Api) -> None:
    community = await make_community(user)
    status, data = await anon.post("/post", {"name": "Anonymous", "community_id": community["id"]})
    assert (status, data) == (401, {"error": "not_logged_in"})
    status, data = await user.post("/post", {"name": "Nowhere", "community_id": 987_654_321})
    assert (status, data) == (404, {"error": "couldnt_find_community"})


async def test_posts_in_nsfw_communities_are_nsfw(user: Api) -> None:
    community = await make_community(user, nsfw=True)
    post = await make_post(user, community["id"], nsfw=False)
    assert post["nsfw"] is True


# ------------------------------------------------------------------------------------------------- edit


async def test_only_the_author_edits_and_updated_is_set(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"], url="https://example.com/x", body="old body")
    status, data = await other.put("/post", {"post_id": post["id"], "name": "Hijacked"})
    assert (status, data) == (400, {"error": "no_post_edit_allowed"})
    data = await user.ok_put("/post", {"post_id": post["id"], "name": "New title", "body": "new body"})
    assert_shape(data, "PostResponse")
    edited = data["post_view"]["post"]
    assert (edited["name"], edited["body"], edited["url"]) == ("New title", "new body", "https://example.com/x")
    assert edited["updated"] >= edited["published"]
    status, data = await user.put("/post", {"post_id": post["id"], "name": "no"})
    assert (status, data) == (400, {"error": "invalid_post_title"})
    status, data = await user.put("/post", {"post_id": post["id"], "url": "javascript:alert(1)"})
    assert (status, data) == (400, {"error": "invalid_url_scheme"})


async def test_edit_with_empty_strings_erases_url_and_body(user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"], url="https://example.com/erase", body="some body")
    edited = (await user.ok_put("/post", {"post_id": post["id"], "url": "", "body": ""}))["post_view"]["post"]
    assert "url" not in edited
    assert "body" not in edited


async def test_edit_unknown_post(user: Api) -> None:
    status, data = await user.put("/post", {"post_id": 987_654_321, "name": "Ghost post"})
    assert (status, data) == (404, {"error": "couldnt_find_post"})


# ----------------------------------------------------------------------------------------------- delete


async def test_delete_and_restore_by_author(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    before = await community_posts(user, community["id"])
    status, data = await other.post("/post/delete", {"post_id": post["id"], "deleted": True})
    assert (status, data) == (400, {"error": "no_post_edit_allowed"})

    data = await user.ok_post("/post/delete", {"post_id": post["id"], "deleted": True})
    assert data["post_view"]["post"]["deleted"] is True
    assert await community_posts(user, community["id"]) == before - 1
    assert post["id"] not in await listed_ids(other, community_id=community["id"])
    assert post["id"] not in await listed_ids(other, type_="All", sort="New")
    status, data = await user.post("/post/delete", {"post_id": post["id"], "deleted": True})
    assert (status, data) == (400, {"error": "couldnt_update_post"})

    data = await user.ok_post("/post/delete", {"post_id": post["id"], "deleted": False})
    assert data["post_view"]["post"]["deleted"] is False
    assert await community_posts(user, community["id"]) == before
    assert post["id"] in await listed_ids(other, community_id=community["id"])


async def test_author_still_sees_own_deleted_post_in_listing(user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await user.ok_post("/post/delete", {"post_id": post["id"], "deleted": True})
    data = await user.ok_get("/post/list", community_id=community["id"])
    assert [(p["post"]["id"], p["post"]["deleted"]) for p in data["posts"]] == [(post["id"], True)]


# ------------------------------------------------------------------------------------------------- vote


async def test_votes_from_several_people_add_up(http: httpx.AsyncClient, user: Api, other: Api) -> None:
    third = await register(http)
    community = await make_community(user)
    post = await make_post(user, community["id"])

    async def like(api: Api, score: int) -> Any:
        data = await api.ok_post("/post/like", {"post_id": post["id"], "score": score})
        assert_shape(data, "PostResponse")
        return data["post_view"]

    def tally(view: Any) -> tuple[int, int, int]:
        return view["counts"]["score"], view["counts"]["upvotes"], view["counts"]["downvotes"]

    view = await like(other, 1)
    assert tally(view) == (2, 2, 0)
    assert view["my_vote"] == 1
    view = await like(third, -1)
    assert tally(view) == (1, 2, 1)
    assert view["my_vote"] == -1
    view = await like(other, -1)
    assert tally(view) == (-1, 1, 2)
    view = await like(other, 0)
    assert tally(view) == (0, 1, 1)
    assert "my_vote" not in view
    view = await like(other, 0)
    assert tally(view) == (0, 1, 1)
    view = await like(third, 1)
    assert tally(view) == (2, 2, 0)
    assert (await post_view(user, post["id"]))["my_vote"] == 1


async def test_voting_marks_the_post_read(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await other.ok_post("/post/like", {"post_id": post["id"], "score": 1})
    listed = await other.ok_get("/post/list", community_id=community["id"])
    assert listed["posts"][0]["read"] is True


async def test_score_outside_minus_one_to_one_is_refused(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    for score in (2, -2, 100):
        status, _ = await other.post("/post/like", {"post_id": post["id"], "score": score})
        assert status == 400
    assert (await post_view(user, post["id"]))["counts"]["score"] == 1


async def test_downvotes_disabled_by_the_site(admin: Api, user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await admin.ok_put("/site", {"enable_downvotes": False})
    try:
        status, data = await other.post("/post/like", {"post_id": post["id"], "score": -1})
        assert (status, data) == (400, {"error": "downvotes_are_disabled"})
        await other.ok_post("/post/like", {"post_id": post["id"], "score": 1})
    finally:
        await admin.ok_put("/site", {"enable_downvotes": True})
    view = (await other.ok_post("/post/like", {"post_id": post["id"], "score": -1}))["post_view"]
    assert view["counts"]["downvotes"] == 1


async def test_bots_cannot_vote(http: httpx.AsyncClient, user: Api) -> None:
    bot = await register(http)
    await bot.ok_put("/user/save_user_settings", {"bot_account": True})
    community = await make_community(user)
    post = await make_post(user, community["id"])
    status, data = await bot.post("/post/like", {"post_id": post["id"], "score": 1})
    assert (status, data) == (400, {"error": "invalid_bot_action"})
    assert (await post_view(user, post["id"]))["counts"]["score"] == 1
    # Nor on comments (Lemmy's like_comment checks the bot account as like_post does).
    comment = await make_comment(user, post["id"], "a comment no bot may vote on")
    status, data = await bot.post("/comment/like", {"comment_id": comment["id"], "score": 1})
    assert (status, data) == (400, {"error": "invalid_bot_action"})
    assert (await user.ok_get("/comment", id=comment["id"]))["comment_view"]["counts"]["score"] == 1
    # A bot's own post still starts with its author's upvote.
    own = await bot.ok_post("/post", {"name": "Bot news", "community_id": community["id"]})
    assert own["post_view"]["counts"]["score"] == 1


async def test_vote_on_unknown_post(user: Api) -> None:
    status, data = await user.post("/post/like", {"post_id": 987_654_321, "score": 1})
    assert (status, data) == (404, {"error": "couldnt_find_post"})


# ---------------------------------------------------------------------------------- save, read and hide


async def test_save_and_saved_only(user: Api, other: Api) -> None:
    community = await make_community(user)
    kept = await make_post(user, community["id"])
    await make_post(user, community["id"])
    data = await other.ok_put("/post/save", {"post_id": kept["id"], "save": True})
    assert_shape(data, "PostResponse")
    assert data["post_view"]["saved"] is True
    assert await listed_ids(other, saved_only=True, type_="All") == [kept["id"]]
    assert await listed_ids(other, saved_only=True, community_id=community["id"]) == [kept["id"]]
    assert await listed_ids(user, saved_only=True, community_id=community["id"]) == []
    data = await other.ok_put("/post/save", {"post_id": kept["id"], "save": False})
    assert data["post_view"]["saved"] is False
    assert await listed_ids(other, saved_only=True, type_="All") == []


async def test_saved_posts_show_even_when_read_posts_are_hidden(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await other.ok_put("/post/save", {"post_id": post["id"], "save": True})
    await other.ok_post("/post/mark_as_read", {"post_ids": [post["id"]], "read": True})
    assert await listed_ids(other, saved_only=True, show_read=False, community_id=community["id"]) == [post["id"]]


async def test_mark_as_read_and_show_read(user: Api, other: Api) -> None:
    community = await make_community(user)
    first = await make_post(user, community["id"])
    second = await make_post(user, community["id"])
    data = await other.ok_post("/post/mark_as_read", {"post_ids": [first["id"]], "read": True})
    assert data == {"success": True}
    listed = (await other.ok_get("/post/list", community_id=community["id"], sort="New"))["posts"]
    assert [(p["post"]["id"], p["read"]) for p in listed] == [(second["id"], False), (first["id"], True)]
    assert await listed_ids(other, community_id=community["id"], show_read=False) == [second["id"]]
    await other.ok_post("/post/mark_as_read", {"post_ids": [first["id"]], "read": False})
    assert set(await listed_ids(other, community_id=community["id"], show_read=False)) == {first["id"], second["id"]}


async def test_mark_as_read_unknown_post_is_an_error_not_a_crash(user: Api) -> None:
    status, data = await user.post("/post/mark_as_read", {"post_ids": [987_654_321], "read": True})
    assert status == 400
    assert data["error"] == "couldnt_mark_post_as_read"


async def test_mark_many_posts_read_at_once(user: Api) -> None:
    community = await make_community(user)
    ids = [(await make_post(user, community["id"]))["id"] for _ in range(3)]
    await user.ok_post("/post/mark_as_read", {"post_ids": ids * 30, "read": False})
    listed = (await user.ok_get("/post/list", community_id=community["id"]))["posts"]
    assert [p["read"] for p in listed] == [False, False, False]


async def test_hide_removes_from_listings_unless_show_hidden(user: Api, other: Api) -> None:
    community = await make_community(user)
    hidden = await make_post(user, community["id"])
    shown = await make_post(user, community["id"])
    data = await other.ok_post("/post/hide", {"post_ids": [hidden["id"]], "hide": True})
    assert data == {"success": True}
    assert await listed_ids(other, community_id=community["id"]) == [shown["id"]]
    front = await listed_ids(other, type_="All", sort="New")
    assert hidden["id"] not in front
    assert shown["id"] in front
    with_hidden = (await other.ok_get("/post/list", community_id=community["id"], show_hidden=True))["posts"]
    assert {p["post"]["id"]: p["hidden"] for p in with_hidden} == {hidden["id"]: True, shown["id"]: False}
    assert set(await listed_ids(user, community_id=community["id"])) == {hidden["id"], shown["id"]}
    await other.ok_post("/post/hide", {"post_ids": [hidden["id"]], "hide": False})
    assert set(await listed_ids(other, community_id=community["id"])) == {hidden["id"], shown["id"]}
    status, data = await other.post("/post/hide", {"post_ids": [shown["id"], 987_654_321], "hide": True})
    assert (status, data) == (400, {"error": "couldnt_hide_post"})
    assert shown["id"] in await listed_ids(other, community_id=community["id"])


async def test_save_read_hide_need_login(anon: Api, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    for method, path, body in [
        ("put", "/post/save", {"post_id": post["id"], "save": True}),
        ("post", "/post/mark_as_read", {"post_ids": [post["id"]], "read": True}),
        ("post", "/post/hide", {"post_ids": [post["id"]], "hide": True}),
        ("post", "/post/like", {"post_id": post["id"], "score": 1}),
        ("put", "/post", {"post_id": post["id"], "name": "Anonymous edit"}),
        ("post", "/post/delete", {"post_id": post["id"], "deleted": True}),
    ]:
        status, data = await getattr(anon, method)(path, body)
        assert (status, data) == (401, {"error": "not_logged_in"}), path


# --------------------------------------------------------------------------------------------- GET /post


async def test_get_post_response_shape_and_read_tracking(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    data = await other.ok_get("/post", id=post["id"])
    assert_shape(data, "GetPostResponse")
    assert data["post_view"]["post"]["id"] == post["id"]
    assert data["community_view"]["community"]["id"] == community["id"]
    assert [m["moderator"]["id"] for m in data["moderators"]] == [user.person_id]
    assert data["cross_posts"] == []
    # Reading it marks it read for next time.
    assert (await post_view(other, post["id"]))["read"] is True
    anon_data = await other.as_anonymous().ok_get("/post", id=post["id"])
    assert_shape(anon_data, "GetPostResponse")
    assert anon_data["post_view"]["read"] is False


async def test_get_posts_community_view_is_the_communitys_own(user: Api, other: Api) -> None:
    """GET /post builds its community view from what the post's view read (the community's row and counts, the
    reader's follow and ban) and a probe of the reader's block: it must be GET /community's object, whatever
    the reader's relation to the community, anonymous included."""
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await make_comment(other, post["id"])
    cid = community["id"]

    async def both_agree(api: Api) -> dict[str, Any]:
        from_post = (await api.ok_get("/post", id=post["id"]))["community_view"]
        own = (await api.ok_get("/community", id=cid))["community_view"]
        assert from_post == own
        return dict(from_post)

    assert (await both_agree(other.as_anonymous()))["subscribed"] == "NotSubscribed"
    assert (await both_agree(other))["blocked"] is False
    await other.ok_post("/community/follow", {"community_id": cid, "follow": True})
    followed = await both_agree(other)
    assert followed["subscribed"] == "Subscribed" and followed["counts"]["subscribers"] == 2
    await other.ok_post("/community/block", {"community_id": cid, "block": True})
    assert (await both_agree(other))["blocked"] is True
    await other.ok_post("/community/block", {"community_id": cid, "block": False})
    await user.ok_post("/community/ban_user", {"community_id": cid, "person_id": other.person_id, "ban": True})
    banned = await both_agree(other)
    assert banned["banned_from_community"] is True and banned["blocked"] is False
    await user.ok_put("/community", {"community_id": cid, "title": "A new title"})
    assert (await both_agree(other))["community"]["title"] == "A new title"
    await user.ok_post("/community/delete", {"community_id": cid, "deleted": True})
    assert (await both_agree(user))["community"]["deleted"] is True
    # GET /community finds a deleted community for its moderators and admins only; a post in it stays readable.
    status, _ = await other.get("/community", id=cid)
    assert status == 404
    assert (await other.ok_get("/post", id=post["id"]))["community_view"]["community"]["deleted"] is True


async def test_unread_comments_counts_comments_since_last_visit(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await make_comment(user, post["id"], "first")
    await make_comment(user, post["id"], "second")
    assert (await post_view(other, post["id"]))["unread_comments"] == 2
    assert (await post_view(other, post["id"]))["unread_comments"] == 0
    await make_comment(user, post["id"], "third")
    listed = (await other.ok_get("/post/list", community_id=community["id"]))["posts"]
    assert listed[0]["unread_comments"] == 1
    assert listed[0]["counts"]["comments"] == 3


async def test_get_post_by_comment_id(user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    comment = await make_comment(user, post["id"])
    data = await user.ok_get("/post", comment_id=comment["id"])
    assert data["post_view"]["post"]["id"] == post["id"]
    status, data = await user.get("/post", comment_id=987_654_321)
    assert (status, data["error"]) == (404, "couldnt_find_comment")


async def test_get_unknown_post(anon: Api) -> None:
    for params in ({"id": 987_654_321}, {}):
        status, data = await anon.get("/post", **params)
        assert (status, data) == (404, {"error": "couldnt_find_post"})


async def test_cross_posts_match_the_same_link_loosely(user: Api, other: Api) -> None:
    community = await make_community(user)
    elsewhere = await make_community(other)
    slug = unique("article")
    original = await make_post(user, community["id"], url=f"https://www.example.com/{slug}?utm_source=x&id=3")
    same_http = await make_post(other, elsewhere["id"], url=f"http://example.com/{slug}/?id=3")
    same_tracked = await make_post(user, elsewhere["id"], url=f"https://EXAMPLE.com/{slug}?id=3&fbclid=abc")
    deleted = await make_post(user, community["id"], url=f"https://example.com/{slug}?id=3")
    await user.ok_post("/post/delete", {"post_id": deleted["id"], "deleted": True})
    await make_post(user, community["id"], url=f"https://example.com/{slug}?id=4")
    await make_post(user, community["id"], url=f"https://example.com/{slug}-other?id=3")
    await make_post(user, community["id"], body="no link at all")

    data = await other.ok_get("/post", id=original["id"])
    assert_shape(data, "GetPostResponse")
    assert {p["post"]["id"] for p in data["cross_posts"]} == {same_http["id"], same_tracked["id"]}
    data = await other.ok_get("/post", id=same_http["id"])
    assert {p["post"]["id"] for p in data["cross_posts"]} == {original["id"], same_tracked["id"]}
    text_only = await make_post(user, community["id"], body="text")
    assert (await other.ok_get("/post", id=text_only["id"]))["cross_posts"] == []


async def test_cross_posts_skip_blocked_people_and_unwanted_nsfw(
    http: httpx.AsyncClient, user: Api, other: Api
) -> None:
    third = await register(http)
    community = await make_community(user)
    link = f"https://example.org/{unique('story')}"
    original = await make_post(user, community["id"], url=link)
    by_blocked = await make_post(third, community["id"], url=link)
    nsfw = await make_post(user, community["id"], url=link, nsfw=True)
    cross = (await other.ok_get("/post", id=original["id"]))["cross_posts"]
    assert {p["post"]["id"] for p in cross} == {by_blocked["id"]}
    await other.ok_post("/user/block", {"person_id": third.person_id, "block": True})
    assert (await other.ok_get("/post", id=original["id"]))["cross_posts"] == []
    await other.ok_put("/user/save_user_settings", {"show_nsfw": True})
    cross = (await other.ok_get("/post", id=original["id"]))["cross_posts"]
    assert {p["post"]["id"] for p in cross} == {nsfw["id"]}


async def test_a_deleted_post_keeps_its_page_but_not_its_content(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"], url="https://example.com/gone", body="secret body")
    await user.ok_post("/post/delete", {"post_id": post["id"], "deleted": True})
    seen = await post_view(other, post["id"])
    assert seen["post"]["deleted"] is True
    assert "body" not in seen["post"]
    assert "url" not in seen["post"]
    own = await post_view(user, post["id"])
    assert (own["post"]["body"], own["post"]["url"]) == ("secret body", "https://example.com/gone")


async def test_moderators_still_read_a_deleted_post(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(other, community["id"], body="kept for the mods")
    await other.ok_post("/post/delete", {"post_id": post["id"], "deleted": True})
    assert (await post_view(user, post["id"]))["post"]["body"] == "kept for the mods"
    assert "body" not in (await post_view(other.as_anonymous(), post["id"]))["post"]


async def test_slur_filter_refuses_titles_and_masks_bodies(admin: Api, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await admin.ok_put("/site", {"slur_filter_regex": "(frobnicat\\w*)"})
    try:
        status, data = await user.post("/post", {"name": "You Frobnicator", "community_id": community["id"]})
        assert (status, data["error"]) == (400, "slurs")
        status, data = await user.put("/post", {"post_id": post["id"], "name": "frobnicate this"})
        assert (status, data["error"]) == (400, "slurs")
        created = await make_post(user, community["id"], body="a frobnicating remark")
        assert created["body"] == "a *removed* remark"
        edited = await user.ok_put("/post", {"post_id": post["id"], "body": "FROBNICATE now"})
        assert edited["post_view"]["post"]["body"] == "*removed* now"
    finally:
        await admin.ok_put("/site", {"slur_filter_regex": ""})
    assert (await make_post(user, community["id"], name="frobnicate freely"))["name"] == "frobnicate freely"
