"""GET /user/export_settings and POST /user/import_settings, as Lemmy 0.19 (crates/apub/src/api/
user_settings_backup.rs): the backup's shape, a round trip onto another account, partial backups, the checks of
save_user_settings, `too_many_items`, entries that cannot be found, and the `import_user_settings` rate limit.

Both routes draw from the `import_user_settings` bucket (1 request a day per address by default), so each test
speaks from an address of its own."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from conftest import Api, make_comment, make_community, make_post, register, unique

_ADDRESSES = itertools.count(1)


@pytest.fixture
async def client_from(app: Any) -> AsyncIterator[Callable[[Api], Api]]:
    """The same login, spoken from an address no other test uses (the rate limit counts per address)."""
    clients: list[httpx.AsyncClient] = []

    def make(api: Api) -> Api:
        n = next(_ADDRESSES)
        address = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://moot.test:8536")
        clients.append(client)
        return Api(client=client, jwt=api.jwt, person_id=api.person_id, name=api.name)

    yield make
    for client in clients:
        await client.aclose()


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """The import's lists are done after the answer: wait (bounded) until `check` holds."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "the import did not finish in time"
        await asyncio.sleep(0.05)


async def my_user(api: Api) -> dict[str, Any]:
    site = await api.ok_get("/site")
    me: dict[str, Any] = site["my_user"]
    return me


async def test_export_lists_everything_as_lemmy_writes_it(
    user: Api, other: Api, admin: Api, client_from: Callable[[Api], Api]
) -> None:
    community = await make_community(other)
    blocked_community = await make_community(other)
    post = await make_post(other, community["id"])
    comment = await make_comment(other, post["id"])
    await user.ok_put(
        "/user/save_user_settings",
        {
            "display_name": "Hanna",
            "bio": "my bio",
            "matrix_user_id": "@hanna:matrix.org",
            "theme": "darkly",
            "show_nsfw": True,
            "show_upvote_percentage": True,
        },
    )
    await user.ok_post("/community/follow", {"community_id": community["id"], "follow": True})
    await user.ok_put("/post/save", {"post_id": post["id"], "save": True})
    await user.ok_put("/comment/save", {"comment_id": comment["id"], "save": True})
    await user.ok_post("/community/block", {"community_id": blocked_community["id"], "block": True})
    await user.ok_post("/user/block", {"person_id": other.person_id, "block": True})

    backup = await client_from(user).ok_get("/user/export_settings")

    assert backup["display_name"] == "Hanna"
    assert backup["bio"] == "my bio"
    assert backup["matrix_id"] == "@hanna:matrix.org"
    assert backup["bot_account"] is False
    assert backup["avatar"] is None and backup["banner"] is None
    assert backup["settings"]["theme"] == "darkly"
    assert backup["settings"]["show_nsfw"] is True
    assert backup["settings"]["person_id"] == user.person_id
    assert "password_encrypted" not in backup["settings"] and "totp_2fa_secret" not in backup["settings"]
    assert backup["vote_display_mode_settings"]["upvote_percentage"] is True
    assert backup["followed_communities"] == [community["actor_id"]]
    assert backup["saved_posts"] == [post["ap_id"]]
    assert backup["saved_comments"] == [comment["ap_id"]]
    assert backup["blocked_communities"] == [blocked_community["actor_id"]]
    other_person = (await user.ok_get("/user", person_id=other.person_id))["person_view"]["person"]
    assert backup["blocked_users"] == [other_person["actor_id"]]
    assert backup["blocked_instances"] == []


async def test_a_backup_moves_onto_another_account(
    user: Api, other: Api, http: httpx.AsyncClient, client_from: Callable[[Api], Api]
) -> None:
    community = await make_community(other)
    blocked_community = await make_community(other)
    post = await make_post(other, community["id"])
    comment = await make_comment(other, post["id"])
    await user.ok_put(
        "/user/save_user_settings",
        {
            "display_name": "Charles",
            "bio": "exported bio",
            "matrix_user_id": "@charles:example.org",
            "bot_account": True,
            "theme": "litely",
            "default_sort_type": "TopDay",
            "default_listing_type": "All",
            "show_read_posts": False,
            "show_bot_accounts": False,
            "blur_nsfw": False,
            "show_scores": False,
            "show_downvotes": False,
            "post_listing_mode": "SmallCard",
        },
    )
    await user.ok_post("/community/follow", {"community_id": community["id"], "follow": True})
    await user.ok_put("/post/save", {"post_id": post["id"], "save": True})
    await user.ok_put("/comment/save", {"comment_id": comment["id"], "save": True})
    await user.ok_post("/community/block", {"community_id": blocked_community["id"], "block": True})
    stranger = await register(http)
    await user.ok_post("/user/block", {"person_id": stranger.person_id, "block": True})
    backup = await client_from(user).ok_get("/user/export_settings")
    backup["blocked_instances"] = ["far-away.example"]

    newcomer = await register(http)
    answer = await client_from(newcomer).ok_post("/user/import_settings", backup)
    assert answer == {"success": True}

    async def lists_done() -> bool:
        me = await my_user(newcomer)
        return (
            len(me["follows"]) == 1
            and len(me["community_blocks"]) == 1
            and len(me["person_blocks"]) == 1
            and len(me["instance_blocks"]) == 1
        )

    await eventually(lists_done)
    me = await my_user(newcomer)
    view = me["local_user_view"]
    assert view["person"]["display_name"] == "Charles"
    assert view["person"]["bio"] == "exported bio"
    assert view["person"]["matrix_user_id"] == "@charles:example.org"
    assert view["person"]["bot_account"] is True
    local_user = view["local_user"]
    assert local_user["theme"] == "litely"
    assert local_user["default_sort_type"] == "TopDay"
    assert local_user["default_listing_type"] == "All"
    assert local_user["show_read_posts"] is False
    assert local_user["show_bot_accounts"] is False
    assert local_user["blur_nsfw"] is False
    assert local_user["post_listing_mode"] == "SmallCard"
    assert view["local_user_vote_display_mode"]["score"] is False
    assert view["local_user_vote_display_mode"]["downvotes"] is False
    # Nothing of the exporter's account itself comes along.
    assert local_user["person_id"] == newcomer.person_id
    assert local_user.get("email") is None
    assert me["follows"][0]["community"]["id"] == community["id"]
    assert me["community_blocks"][0]["community"]["id"] == blocked_community["id"]
    assert me["person_blocks"][0]["target"]["id"] == stranger.person_id
    assert me["instance_blocks"][0]["instance"]["domain"] == "far-away.example"
    # A local community is joined at once (a remote one would stay Pending until its Accept).
    joined = await newcomer.ok_get("/community", id=community["id"])
    assert joined["community_view"]["subscribed"] == "Subscribed"
    saved = await newcomer.ok_get("/post/list", saved_only=True)
    assert [p["post"]["id"] for p in saved["posts"]] == [post["id"]]
    saved_comments = await newcomer.ok_get("/comment/list", saved_only=True)
    assert [c["comment"]["id"] for c in saved_comments["comments"]] == [comment["id"]]
    # And the newcomer's own export now lists the same things.
    again = await client_from(newcomer).ok_get("/user/export_settings")
    for key in ("followed_communities", "saved_posts", "saved_comments", "blocked_communities", "blocked_users"):
        assert again[key] == backup[key], key
    assert again["blocked_instances"] == ["far-away.example"]


async def test_a_partial_backup_changes_only_what_it_names(user: Api, client_from: Callable[[Api], Api]) -> None:
    await user.ok_put("/user/save_user_settings", {"display_name": "Larry", "bio": "larry bio", "theme": "browser"})
    api = client_from(user)
    assert await api.ok_post("/user/import_settings", {"bot_account": True, "settings": {"theme": "my_theme"}}) == {
        "success": True
    }
    view = (await my_user(user))["local_user_view"]
    assert view["person"]["bot_account"] is True
    assert view["person"]["bio"] == "larry bio"  # not in the file: kept
    assert view["person"]["display_name"] == "Larry"
    assert view["local_user"]["theme"] == "my_theme"
    # A field the file holds as null is cleared, as Lemmy's import clears it.
    assert await client_from(user).ok_post("/user/import_settings", {"display_name": None, "bio": None}) == {
        "success": True
    }
    person = (await my_user(user))["local_user_view"]["person"]
    assert "display_name" not in person and "bio" not in person


@pytest.mark.parametrize(
    ("backup", "error"),
    [
        ({"matrix_id": "not a matrix id"}, "invalid_matrix_id"),
        ({"bio": "b" * 1001}, "bio_length_overflow"),
        ({"display_name": "x"}, "invalid_display_name"),
    ],
)
async def test_the_profile_is_checked_as_save_user_settings_checks_it(
    user: Api, client_from: Callable[[Api], Api], backup: dict[str, Any], error: str
) -> None:
    await user.ok_put("/user/save_user_settings", {"display_name": "Steady", "bio": "steady", "theme": "browser"})
    status, body = await client_from(user).post("/user/import_settings", {**backup, "settings": {"theme": "x"}})
    assert (status, body["error"]) == (400, error)
    view = (await my_user(user))["local_user_view"]
    assert view["person"]["display_name"] == "Steady"
    assert view["person"]["bio"] == "steady"
    assert view["local_user"]["theme"] == "browser"  # nothing changed


async def test_more_than_ten_thousand_entries_are_refused(user: Api, client_from: Callable[[Api], Api]) -> None:
    url = "http://moot.test:8536/c/nothing"
    backup = {
        "display_name": "Sally",
        "followed_communities": [url] * 2501,
        "blocked_communities": [url] * 2500,
        "saved_posts": [url] * 2500,
        "saved_comments": [url] * 2500,
    }
    assert await client_from(user).post("/user/import_settings", backup) == (400, {"error": "too_many_items"})
    assert "display_name" not in (await my_user(user))["local_user_view"]["person"]
    backup["followed_communities"] = [url] * 2500
    assert await client_from(user).ok_post("/user/import_settings", backup) == {"success": True}


async def test_entries_that_cannot_be_had_are_skipped_and_the_rest_imported(
    user: Api, other: Api, admin: Api, client_from: Callable[[Api], Api]
) -> None:
    community = await make_community(admin)
    post = await make_post(admin, community["id"])
    other_person = (await user.ok_get("/user", person_id=other.person_id))["person_view"]["person"]
    admin_person = (await user.ok_get("/user", person_id=admin.person_id))["person_view"]["person"]
    site = await user.ok_get("/site")
    own_domain = site["site_view"]["site"]["actor_id"].split("/")[2]
    backup = {
        "followed_communities": [
            "http://moot.test:8536/c/" + unique("gone"),  # ours, and not here: never fetched
            other_person["actor_id"],  # a person, not a community
            "not a url",
            community["actor_id"],
        ],
        "saved_posts": [post["ap_id"], community["actor_id"]],
        # An admin cannot be blocked (cant_block_admin), on import as on /user/block.
        "blocked_users": [admin_person["actor_id"], other_person["actor_id"]],
        "blocked_instances": ["not a domain!", own_domain, "skipped-then-kept.example"],
    }
    assert await client_from(user).ok_post("/user/import_settings", backup) == {"success": True}

    async def done() -> bool:
        me = await my_user(user)
        return len(me["follows"]) == 1 and len(me["person_blocks"]) == 1 and len(me["instance_blocks"]) == 1

    await eventually(done)
    me = await my_user(user)
    assert [f["community"]["id"] for f in me["follows"]] == [community["id"]]
    assert [b["target"]["id"] for b in me["person_blocks"]] == [other.person_id]
    assert [b["instance"]["domain"] for b in me["instance_blocks"]] == ["skipped-then-kept.example"]
    saved = await user.ok_get("/post/list", saved_only=True)
    assert [p["post"]["id"] for p in saved["posts"]] == [post["id"]]


async def test_both_routes_need_a_login(anon: Api, client_from: Callable[[Api], Api]) -> None:
    assert await client_from(anon).get("/user/export_settings") == (401, {"error": "not_logged_in"})
    assert await client_from(anon).post("/user/import_settings", {}) == (401, {"error": "not_logged_in"})


async def test_both_routes_draw_from_the_import_user_settings_rate_limit(
    user: Api, client_from: Callable[[Api], Api]
) -> None:
    """Lemmy's default: one request a day per address, export and import together."""
    api = client_from(user)
    await api.ok_get("/user/export_settings")
    status, body = await api.post("/user/import_settings", {"settings": {"theme": "limited"}})
    assert (status, body["error"]) == (400, "rate_limit_error")
    status, body = await api.get("/user/export_settings")
    assert (status, body["error"]) == (400, "rate_limit_error")
    assert (await my_user(user))["local_user_view"]["local_user"]["theme"] != "limited"
    # Other requests from the same address are not held back by it.
    await api.ok_get("/site")
