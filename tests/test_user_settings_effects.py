"""What each SaveUserSettings field changes, where Lemmy 0.19's server changes it: listings filtered by
show_bot_accounts, show_read_posts, show_nsfw and discussion_languages; comment listings without the communities,
instances and people the reader blocks (comment_view.rs); the default listing and sort; and on Moot's own pages
the display switches that make sense there (show_scores, open_links_in_new_tab, blur_nsfw,
collapse_bot_comments). The other fields are client preferences, stored and returned in GetSite's my_user."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import Api, make_comment, make_community, make_post, register, unique
from moot.actions import comments as comment_actions
from moot.actions import posts as post_actions
from moot.actions.remote import upsert_remote_community, upsert_remote_person
from moot.queries.viewer import RemoteActor

ENGLISH, FRENCH = 37, 47


async def post_ids(api: Api, **params: Any) -> set[int]:
    data = await api.ok_get("/post/list", limit=50, **params)
    return {p["post"]["id"] for p in data["posts"]}


async def comment_ids(api: Api, post_id: int) -> set[int]:
    data = await api.ok_get("/comment/list", post_id=post_id, max_depth=8)
    return {c["comment"]["id"] for c in data["comments"]}


async def page(http: httpx.AsyncClient, path: str, api: Api) -> str:
    response = await http.get(path, headers={"Cookie": f"jwt={api.jwt}"})
    assert response.status_code == 200, response.text
    return response.text


async def test_every_field_is_stored_and_returned(user: Api) -> None:
    changes: dict[str, Any] = {
        "show_nsfw": True,
        "blur_nsfw": False,
        "auto_expand": True,
        "theme": "darkly",
        "default_sort_type": "TopWeek",
        "default_listing_type": "All",
        "interface_language": "fr",
        "show_avatars": False,
        "send_notifications_to_email": False,
        "show_bot_accounts": False,
        "show_read_posts": False,
        "open_links_in_new_tab": True,
        "infinite_scroll_enabled": True,
        "post_listing_mode": "Card",
        "enable_keyboard_navigation": True,
        "enable_animated_images": False,
        "collapse_bot_comments": True,
        "show_scores": False,
    }
    profile = {"display_name": "Setter", "bio": "a bio", "matrix_user_id": "@setter:matrix.org", "bot_account": True}
    votes = {"show_upvotes": False, "show_downvotes": False, "show_upvote_percentage": True}
    await user.ok_put("/user/save_user_settings", {**changes, **profile, **votes, "discussion_languages": [ENGLISH]})
    me = (await user.ok_get("/site"))["my_user"]
    view = me["local_user_view"]
    for key, value in changes.items():
        assert view["local_user"][key] == value, key
    for key, value in profile.items():
        assert view["person"][key] == value, key
    assert view["local_user_vote_display_mode"] == {
        "local_user_id": view["local_user"]["id"],
        "score": False,
        "upvotes": False,
        "downvotes": False,
        "upvote_percentage": True,
    }
    assert set(me["discussion_languages"]) == {0, ENGLISH}


async def test_person_fields_are_checked_as_lemmy_checks_them(user: Api) -> None:
    cases = [
        ({"matrix_user_id": "matrix.org/@someone"}, "invalid_matrix_id"),
        ({"display_name": "@looks_like_a_handle"}, "invalid_display_name"),
        ({"display_name": "ab"}, "invalid_display_name"),
        # Lemmy counts a bio in UTF-16 units: 501 emoji are 1002 of them, over the 1000 allowed.
        ({"bio": "\N{GRINNING FACE}" * 501}, "bio_length_overflow"),
    ]
    for form, error in cases:
        status, body = await user.put("/user/save_user_settings", form)
        assert (status, body.get("error")) == (400, error), form
    await user.ok_put("/user/save_user_settings", {"bio": "\N{GRINNING FACE}" * 500})


async def test_show_bot_accounts_hides_bots_posts_and_comments(user: Api, other: Api, http: httpx.AsyncClient) -> None:
    bot = await register(http)
    await bot.ok_put("/user/save_user_settings", {"bot_account": True})
    community = await make_community(other)
    human_post = await make_post(other, community["id"])
    bot_post = await make_post(bot, community["id"])
    human_comment = await make_comment(other, human_post["id"])
    bot_comment = await make_comment(bot, human_post["id"])
    assert {human_post["id"], bot_post["id"]} <= await post_ids(user, community_id=community["id"])
    await user.ok_put("/user/save_user_settings", {"show_bot_accounts": False})
    assert await post_ids(user, community_id=community["id"]) == {human_post["id"]}
    assert await comment_ids(user, human_post["id"]) == {human_comment["id"]}
    await user.ok_put("/user/save_user_settings", {"show_bot_accounts": True})
    assert await comment_ids(user, human_post["id"]) == {human_comment["id"], bot_comment["id"]}


async def test_show_read_posts_hides_what_was_read(user: Api, other: Api) -> None:
    community = await make_community(other)
    read, unread = (await make_post(other, community["id"]))["id"], (await make_post(other, community["id"]))["id"]
    await user.ok_post("/post/mark_as_read", {"post_ids": [read], "read": True})
    assert await post_ids(user, community_id=community["id"]) == {read, unread}
    await user.ok_put("/user/save_user_settings", {"show_read_posts": False})
    assert await post_ids(user, community_id=community["id"]) == {unread}


async def test_show_nsfw_lets_nsfw_posts_in(user: Api, other: Api) -> None:
    community = await make_community(other)
    safe = (await make_post(other, community["id"]))["id"]
    adult = (await make_post(other, community["id"], nsfw=True))["id"]
    assert await post_ids(user, community_id=community["id"]) == {safe}
    await user.ok_put("/user/save_user_settings", {"show_nsfw": True})
    assert await post_ids(user, community_id=community["id"]) == {safe, adult}


async def test_discussion_languages_filter_posts_and_comments(user: Api, other: Api) -> None:
    community = await make_community(other)
    english = (await make_post(other, community["id"], language_id=ENGLISH))["id"]
    french = (await make_post(other, community["id"], language_id=FRENCH))["id"]
    undetermined = (await make_post(other, community["id"]))["id"]
    en_comment = (await other.ok_post("/comment", {"post_id": english, "content": "hi", "language_id": ENGLISH}))[
        "comment_view"
    ]["comment"]["id"]
    fr_comment = (await other.ok_post("/comment", {"post_id": english, "content": "salut", "language_id": FRENCH}))[
        "comment_view"
    ]["comment"]["id"]
    und_comment = (await make_comment(other, english))["id"]
    assert await comment_ids(user, english) == {en_comment, fr_comment, und_comment}
    assert await post_ids(user, community_id=community["id"]) == {english, french, undetermined}
    await user.ok_put("/user/save_user_settings", {"discussion_languages": [ENGLISH]})
    assert await post_ids(user, community_id=community["id"]) == {english, undetermined}
    assert await comment_ids(user, english) == {en_comment, und_comment}
    assert await comment_ids(user.as_anonymous(), english) == {en_comment, fr_comment, und_comment}


async def test_default_listing_and_sort_apply_when_the_request_names_none(user: Api, other: Api) -> None:
    community = await make_community(other)
    post = await make_post(other, community["id"])
    # Local is the default listing: the post of a local community is in it; Subscribed lists nothing unfollowed.
    assert post["id"] in await post_ids(user, sort="New")
    await user.ok_put("/user/save_user_settings", {"default_listing_type": "Subscribed"})
    assert post["id"] not in await post_ids(user, sort="New")
    await user.ok_post("/community/follow", {"community_id": community["id"], "follow": True})
    assert post["id"] in await post_ids(user, sort="New")
    older = await make_post(other, community["id"])
    newest = await make_post(other, community["id"])
    await user.ok_post("/post/like", {"post_id": older["id"], "score": 1})
    await user.ok_put("/user/save_user_settings", {"default_sort_type": "Old"})
    listed = (await user.ok_get("/post/list", limit=50))["posts"]
    ours = [p["post"]["id"] for p in listed if p["community"]["id"] == community["id"]]
    assert ours == [post["id"], older["id"], newest["id"]]


async def test_comments_of_blocked_communities_and_people_are_hidden(
    user: Api, other: Api, http: httpx.AsyncClient
) -> None:
    community = await make_community(other)
    post = await make_post(other, community["id"])
    stranger = await register(http)
    theirs = (await make_comment(stranger, post["id"]))["id"]
    mine = (await make_comment(other, post["id"]))["id"]
    assert await comment_ids(user, post["id"]) == {theirs, mine}
    await user.ok_post("/user/block", {"person_id": stranger.person_id, "block": True})
    assert await comment_ids(user, post["id"]) == {mine}
    await user.ok_post("/community/block", {"community_id": community["id"], "block": True})
    assert await comment_ids(user, post["id"]) == set()
    flat = await user.ok_get("/comment/list", community_id=community["id"])
    assert flat["comments"] == []


async def test_comments_in_communities_of_a_blocked_instance_are_hidden(app: Any, user: Api, admin: Api) -> None:
    """Lemmy 0.19 hides the comments in the communities of an instance the reader blocks (comment_view.rs
    filters on the community's instance), as it hides their posts."""
    domain = f"{unique('far')}.example"
    db = app.state.moot.db
    async with db.write() as session:
        community = await upsert_remote_community(session, ap_id=f"https://{domain}/c/news", name="news", domain=domain)
        author = await upsert_remote_person(session, ap_id=f"https://{domain}/u/writer", name="writer", domain=domain)
        actor = RemoteActor(author)
        post = await post_actions.create_post(
            session,
            app.state.moot.settings,
            actor,
            community_id=community.id,
            name="Far away news",
            ap_id=f"https://{domain}/post/1",
        )
        comment = (
            await comment_actions.create_comment(
                session,
                app.state.moot.settings,
                actor,
                post_id=post.id,
                content="far",
                ap_id=f"https://{domain}/comment/1",
            )
        ).comment
        instance_id, post_id, comment_id = community.instance_id, post.id, comment.id
    assert await comment_ids(user, post_id) == {comment_id}
    await user.ok_post("/site/block", {"instance_id": instance_id, "block": True})
    assert await comment_ids(user, post_id) == set()
    assert post_id not in await post_ids(user, type_="All")
    assert await comment_ids(admin, post_id) == {comment_id}


async def test_pages_honour_the_display_switches(user: Api, other: Api, http: httpx.AsyncClient) -> None:
    bot = await register(http)
    await bot.ok_put("/user/save_user_settings", {"bot_account": True})
    community = await make_community(other)
    post = await make_post(other, community["id"], url="https://example.com/story")
    await make_comment(bot, post["id"], "beep")

    thread = await page(http, f"/post/{post['id']}", user)
    assert 'target="_blank"' not in thread
    assert '<details open class="comment-fold">' in thread
    assert "1 point" in thread and "data-score hidden" not in thread

    await user.ok_put(
        "/user/save_user_settings",
        {"open_links_in_new_tab": True, "collapse_bot_comments": True, "show_scores": False},
    )
    thread = await page(http, f"/post/{post['id']}", user)
    assert 'href="https://example.com/story" rel="nofollow noopener ugc" target="_blank"' in thread
    assert '<details class="comment-fold">' in thread  # the bot's comment starts folded
    assert "point" not in thread.split('id="comments"')[1].split("</section>")[0]
    assert "data-score hidden" in thread
    listing = await page(http, f"/c/{community['name']}", user)
    assert 'rel="nofollow noopener ugc" target="_blank"' in listing
