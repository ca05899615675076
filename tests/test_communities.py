"""Communities over the v3 API: create, get, edit, follow, block, delete and list, as Lemmy 0.19 answers them."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from conftest import Api, make_community, make_post, register, unique
from lemmy_shapes import assert_shape

HOST = "moot.test:8536"


async def _community_view(api: Api, community_id: int) -> dict[str, Any]:
    data = await api.ok_get("/community", id=community_id)
    view: dict[str, Any] = data["community_view"]
    return view


async def _follow(api: Api, community_id: int, follow: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = await api.ok_post("/community/follow", {"community_id": community_id, "follow": follow})
    return data


async def _listed_ids(api: Api, **params: Any) -> list[int]:
    data = await api.ok_get("/community/list", **params)
    return [v["community"]["id"] for v in data["communities"]]


async def _fan(http: httpx.AsyncClient, community_ids: list[int]) -> Api:
    """A fresh account following exactly `community_ids`, so a Subscribed listing shows only those."""
    fan = await register(http)
    for community_id in community_ids:
        await _follow(fan, community_id)
    return fan


# ---------------------------------------------------------------------------------------------- create


async def test_create_makes_creator_moderator_and_subscriber(user: Api) -> None:
    name = unique("c")
    data = await user.ok_post("/community", {"name": name, "title": "Created here", "description": "About it"})
    assert_shape(data, "CommunityResponse")
    view = data["community_view"]
    assert view["community"]["name"] == name
    assert view["community"]["title"] == "Created here"
    assert view["community"]["actor_id"] == f"http://{HOST}/c/{name}"
    assert view["community"]["local"] is True
    assert view["subscribed"] == "Subscribed"
    assert view["counts"]["subscribers"] == 1
    got = await user.ok_get("/community", id=view["community"]["id"])
    assert [m["moderator"]["id"] for m in got["moderators"]] == [user.person_id]
    site = await user.ok_get("/site")
    follows = [f["community"]["id"] for f in site["my_user"]["follows"]]
    assert view["community"]["id"] in follows


@pytest.mark.parametrize("name", ["ab", "has space", "dash-name", "x" * 21, "dot.name", "émile", "a/b", ""])
async def test_create_rejects_invalid_names(user: Api, name: str) -> None:
    status, data = await user.post("/community", {"name": name, "title": "Bad name"})
    assert status == 400
    assert data["error"] == "invalid_name"


async def test_create_accepts_cyrillic_and_underscored_names(user: Api) -> None:
    # One alphabet per name (digits and _ go with any), as Lemmy's actor name rule.
    for name in (f"сообщество_{secrets.randbelow(10**6)}", unique("w_u")):
        data = await user.ok_post("/community", {"name": name, "title": "Fine"})
        assert data["community_view"]["community"]["name"] == name


async def test_create_rejects_mixed_alphabets(user: Api) -> None:
    status, data = await user.post("/community", {"name": f"abcсообщество{secrets.randbelow(1000)}", "title": "Mixed"})
    assert (status, data["error"]) == (400, "invalid_name")


async def test_create_requires_a_title(user: Api) -> None:
    status, data = await user.post("/community", {"name": unique("c")})
    assert status == 400
    assert "error" in data
    status, data = await user.post("/community", {"name": unique("c"), "title": "   "})
    assert status == 400
    assert "error" in data


async def test_create_refuses_duplicate_name_in_any_case(user: Api, other: Api) -> None:
    name = unique("dup")
    await make_community(user, name)
    for again in (name, name.upper()):
        status, data = await other.post("/community", {"name": again, "title": "Again"})
        assert (status, data["error"]) == (400, "community_already_exists")


async def test_create_needs_login(anon: Api) -> None:
    status, data = await anon.post("/community", {"name": unique("c"), "title": "Nobody"})
    assert (status, data["error"]) == (401, "not_logged_in")


async def test_community_creation_admin_only(admin: Api, user: Api) -> None:
    await admin.ok_put("/site", {"community_creation_admin_only": True})
    try:
        status, data = await user.post("/community", {"name": unique("c"), "title": "Refused"})
        assert (status, data["error"]) == (400, "only_admins_can_create_communities")
        await make_community(admin)
    finally:
        await admin.ok_put("/site", {"community_creation_admin_only": False})
    await make_community(user)


# ------------------------------------------------------------------------------------------------- get


async def test_get_by_id_and_by_name_forms(user: Api, anon: Api) -> None:
    community = await make_community(user)
    name = community["name"]
    for query in (name, name.upper(), f"{name}@{HOST}", f"{name}@{HOST.upper()}", f"!{name}@{HOST}"):
        data = await anon.ok_get("/community", name=query)
        assert data["community_view"]["community"]["id"] == community["id"], query
    data = await anon.ok_get("/community", id=community["id"])
    assert_shape(data, "GetCommunityResponse")
    assert [m["moderator"]["name"] for m in data["moderators"]] == [user.name]
    assert data["moderators"][0]["community"]["id"] == community["id"]
    assert data["community_view"]["subscribed"] == "NotSubscribed"


async def test_get_unknown_community_is_404(anon: Api) -> None:
    for params in ({"name": unique("nothere")}, {"name": f"{unique('x')}@{HOST}"}, {"id": 987654321}):
        status, data = await anon.get("/community", **params)
        assert (status, data["error"]) == (404, "couldnt_find_community"), params


async def test_get_without_id_or_name(anon: Api) -> None:
    status, data = await anon.get("/community")
    assert (status, data["error"]) == (400, "no_id_given")


# ------------------------------------------------------------------------------------------------ edit


async def test_moderator_edits_title_description_and_nsfw(user: Api, anon: Api) -> None:
    community = await make_community(user)
    body = {"community_id": community["id"], "title": "New title", "description": "New words", "nsfw": True}
    data = await user.ok_put("/community", body)
    assert_shape(data, "CommunityResponse")
    edited = data["community_view"]["community"]
    assert (edited["title"], edited["description"], edited["nsfw"]) == ("New title", "New words", True)
    assert "updated" in edited
    seen = (await anon.ok_get("/community", id=community["id"]))["community_view"]["community"]
    assert (seen["title"], seen["description"], seen["nsfw"]) == ("New title", "New words", True)


async def test_edit_leaves_unsent_fields_alone(user: Api) -> None:
    community = await make_community(user, description="Keep me")
    data = await user.ok_put("/community", {"community_id": community["id"], "title": "Only the title"})
    assert data["community_view"]["community"]["description"] == "Keep me"


async def test_non_moderator_cannot_edit(user: Api, other: Api) -> None:
    community = await make_community(user)
    status, data = await other.put("/community", {"community_id": community["id"], "title": "Hijacked"})
    # Lemmy 0.19 checks "mod or admin" here (check_community_mod_action), so the error says so.
    assert (status, data["error"]) == (400, "not_a_mod_or_admin")
    view = await _community_view(user, community["id"])
    assert view["community"]["title"] == "A community"


async def test_admin_may_edit_any_community(admin: Api, user: Api) -> None:
    community = await make_community(user)
    data = await admin.ok_put("/community", {"community_id": community["id"], "title": "Admin title"})
    assert data["community_view"]["community"]["title"] == "Admin title"


async def test_edit_unknown_community(user: Api) -> None:
    status, data = await user.put("/community", {"community_id": 987654321, "title": "Nothing"})
    assert status in (400, 404)
    assert data["error"] in ("couldnt_find_community", "not_a_mod_or_admin")


# -------------------------------------------------------------------------------------- follow / block


async def test_follow_and_unfollow_change_count_and_flag(user: Api, other: Api) -> None:
    community = await make_community(user)
    data = await _follow(other, community["id"])
    assert_shape(data, "CommunityResponse")
    assert data["community_view"]["subscribed"] == "Subscribed"
    assert data["community_view"]["counts"]["subscribers"] == 2
    assert data["community_view"]["counts"]["subscribers_local"] == 2
    data = await _follow(other, community["id"], follow=False)
    assert data["community_view"]["subscribed"] == "NotSubscribed"
    assert data["community_view"]["counts"]["subscribers"] == 1
    # Unfollowing again is harmless and does not go below the real count.
    data = await _follow(other, community["id"], follow=False)
    assert data["community_view"]["counts"]["subscribers"] == 1


async def test_following_twice_counts_once(user: Api, other: Api) -> None:
    community = await make_community(user)
    await _follow(other, community["id"])
    data = await _follow(other, community["id"])
    assert data["community_view"]["counts"]["subscribers"] == 2
    view = await _community_view(user, community["id"])
    assert view["counts"]["subscribers"] == 2


async def test_follow_needs_login_and_a_community(anon: Api, user: Api) -> None:
    community = await make_community(user)
    status, data = await anon.post("/community/follow", {"community_id": community["id"], "follow": True})
    assert (status, data["error"]) == (401, "not_logged_in")
    status, data = await user.post("/community/follow", {"community_id": 987654321, "follow": True})
    assert (status, data["error"]) == (404, "couldnt_find_community")


async def test_block_sets_flag_and_ends_follow(user: Api, other: Api) -> None:
    community = await make_community(user)
    await _follow(other, community["id"])
    data = await other.ok_post("/community/block", {"community_id": community["id"], "block": True})
    assert_shape(data, "BlockCommunityResponse")
    assert data["blocked"] is True
    assert data["community_view"]["blocked"] is True
    assert data["community_view"]["subscribed"] == "NotSubscribed"
    assert data["community_view"]["counts"]["subscribers"] == 1
    site = await other.ok_get("/site")
    assert community["id"] in [b["community"]["id"] for b in site["my_user"]["community_blocks"]]
    data = await other.ok_post("/community/block", {"community_id": community["id"], "block": False})
    assert data["blocked"] is False
    assert data["community_view"]["blocked"] is False


async def test_blocked_community_posts_leave_only_the_blockers_feed(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"], name=f"Blocked feed {unique()}")

    async def feed(api: Api) -> list[int]:
        data = await api.ok_get("/post/list", type_="All", sort="New", limit=50)
        return [p["post"]["id"] for p in data["posts"]]

    assert post["id"] in await feed(other)
    await other.ok_post("/community/block", {"community_id": community["id"], "block": True})
    assert post["id"] not in await feed(other)
    assert post["id"] in await feed(user)
    await other.ok_post("/community/block", {"community_id": community["id"], "block": False})
    assert post["id"] in await feed(other)


async def test_blocked_community_leaves_the_blockers_list(http: httpx.AsyncClient, user: Api) -> None:
    community = await make_community(user)
    blocker = await register(http)
    assert community["id"] in await _listed_ids(blocker, type_="Local", sort="New", limit=50)
    await blocker.ok_post("/community/block", {"community_id": community["id"], "block": True})
    assert community["id"] not in await _listed_ids(blocker, type_="Local", sort="New", limit=50)
    assert community["id"] in await _listed_ids(user, type_="Local", sort="New", limit=50)


# ----------------------------------------------------------------------------------------------- delete


async def test_creator_deletes_and_restores(user: Api) -> None:
    community = await make_community(user)
    data = await user.ok_post("/community/delete", {"community_id": community["id"], "deleted": True})
    assert_shape(data, "CommunityResponse")
    assert data["community_view"]["community"]["deleted"] is True
    data = await user.ok_post("/community/delete", {"community_id": community["id"], "deleted": False})
    assert data["community_view"]["community"]["deleted"] is False


async def test_other_user_cannot_delete(user: Api, other: Api) -> None:
    community = await make_community(user)
    status, data = await other.post("/community/delete", {"community_id": community["id"], "deleted": True})
    # Lemmy 0.19 first requires a mod or admin, then the top mod (not_top_mod).
    assert (status, data["error"]) == (400, "not_a_mod_or_admin")
    assert (await _community_view(user, community["id"]))["community"]["deleted"] is False


async def test_admin_who_is_not_top_mod_cannot_delete(admin: Api, user: Api) -> None:
    community = await make_community(user)
    status, data = await admin.post("/community/delete", {"community_id": community["id"], "deleted": True})
    assert (status, data["error"]) == (400, "not_top_mod")


async def test_deleted_community_leaves_list_and_is_hidden_from_others(user: Api, other: Api, anon: Api) -> None:
    community = await make_community(user)
    assert community["id"] in await _listed_ids(anon, type_="Local", sort="New", limit=50)
    await user.ok_post("/community/delete", {"community_id": community["id"], "deleted": True})
    assert community["id"] not in await _listed_ids(anon, type_="Local", sort="New", limit=50)
    assert community["id"] not in await _listed_ids(other, type_="Local", sort="New", limit=50)
    # Lemmy hides a deleted community from everyone but its mods and the admins.
    status, data = await other.get("/community", id=community["id"])
    assert (status, data["error"]) == (404, "couldnt_find_community")
    assert (await _community_view(user, community["id"]))["community"]["deleted"] is True


async def test_cannot_follow_a_deleted_community(user: Api, other: Api) -> None:
    community = await make_community(user)
    await user.ok_post("/community/delete", {"community_id": community["id"], "deleted": True})
    status, data = await other.post("/community/follow", {"community_id": community["id"], "follow": True})
    assert status in (400, 404)
    assert data["error"] in ("deleted", "couldnt_find_community")


# ------------------------------------------------------------------------------------------------- list


async def test_list_shape_and_types(http: httpx.AsyncClient, user: Api, anon: Api) -> None:
    community = await make_community(user)
    data = await anon.ok_get("/community/list", type_="All", sort="New", limit=50)
    assert_shape(data, "ListCommunitiesResponse")
    assert community["id"] in [v["community"]["id"] for v in data["communities"]]
    local = await anon.ok_get("/community/list", type_="Local", sort="New", limit=50)
    assert all(v["community"]["local"] for v in local["communities"])
    assert community["id"] in [v["community"]["id"] for v in local["communities"]]
    fan = await _fan(http, [community["id"]])
    subscribed = await fan.ok_get("/community/list", type_="Subscribed")
    assert [v["community"]["id"] for v in subscribed["communities"]] == [community["id"]]
    assert subscribed["communities"][0]["subscribed"] == "Subscribed"


async def test_list_subscribed_is_empty_for_anonymous(anon: Api, user: Api) -> None:
    await make_community(user)
    assert await _listed_ids(anon, type_="Subscribed") == []


async def test_list_sorts(http: httpx.AsyncClient, user: Api) -> None:
    first, second, third = [await make_community(user) for _ in range(3)]
    ids = [first["id"], second["id"], third["id"]]
    fan = await _fan(http, ids)
    # Subscriber counts: first 2 (user and fan), second 4, third 3.
    for extra, target in ((2, second), (1, third)):
        for _ in range(extra):
            await _follow(await register(http), target["id"])
    assert await _listed_ids(fan, type_="Subscribed", sort="New") == ids[::-1]
    assert await _listed_ids(fan, type_="Subscribed", sort="Old") == ids
    assert await _listed_ids(fan, type_="Subscribed", sort="TopAll") == [second["id"], third["id"], first["id"]]
    assert sorted(await _listed_ids(fan, type_="Subscribed", sort="Hot")) == sorted(ids)
    assert sorted(await _listed_ids(fan, type_="Subscribed")) == sorted(ids)
    for sort in ("Active", "MostComments", "NewComments", "TopDay", "TopWeek", "TopMonth", "TopSixMonths"):
        assert sorted(await _listed_ids(fan, type_="Subscribed", sort=sort)) == sorted(ids), sort


async def test_list_hides_nsfw_unless_asked(http: httpx.AsyncClient, user: Api, anon: Api) -> None:
    safe = await make_community(user)
    nsfw = await make_community(user, nsfw=True)
    assert nsfw["nsfw"] is True
    fan = await _fan(http, [safe["id"], nsfw["id"]])
    assert await _listed_ids(fan, type_="Subscribed") == [safe["id"]]
    assert sorted(await _listed_ids(fan, type_="Subscribed", show_nsfw=True)) == sorted([safe["id"], nsfw["id"]])
    assert nsfw["id"] not in await _listed_ids(anon, type_="Local", sort="New", limit=50)
    assert nsfw["id"] in await _listed_ids(anon, type_="Local", sort="New", limit=50, show_nsfw=True)
    # An account that opted into NSFW sees it without asking, even when the request says false (Lemmy ORs them).
    await fan.ok_put("/user/save_user_settings", {"show_nsfw": True})
    assert sorted(await _listed_ids(fan, type_="Subscribed")) == sorted([safe["id"], nsfw["id"]])
    assert sorted(await _listed_ids(fan, type_="Subscribed", show_nsfw=False)) == sorted([safe["id"], nsfw["id"]])


async def test_list_paging(http: httpx.AsyncClient, user: Api, anon: Api) -> None:
    ids = [(await make_community(user))["id"] for _ in range(3)]
    fan = await _fan(http, ids)
    assert await _listed_ids(fan, type_="Subscribed", sort="Old", limit=2) == ids[:2]
    assert await _listed_ids(fan, type_="Subscribed", sort="Old", limit=2, page=2) == ids[2:]
    assert await _listed_ids(fan, type_="Subscribed", sort="Old", limit=2, page=3) == []
    assert len(await _listed_ids(anon, limit=50)) <= 50
    for params in ({"limit": 51}, {"limit": 0}, {"page": 0}, {"page": 101}):
        status, data = await anon.get("/community/list", **params)
        assert status == 400, params
        assert "error" in data


async def test_list_rejects_unknown_enum_values(anon: Api) -> None:
    for params in ({"sort": "Sideways"}, {"type_": "Everything"}):
        status, data = await anon.get("/community/list", **params)
        assert status == 400, params
        assert "error" in data


async def test_admin_still_sees_a_deleted_community(admin: Api, user: Api) -> None:
    community = await make_community(user)
    await user.ok_post("/community/delete", {"community_id": community["id"], "deleted": True})
    assert community["id"] in await _listed_ids(admin, type_="Local", sort="New", limit=50)
    assert (await _community_view(admin, community["id"]))["community"]["deleted"] is True


async def test_editing_a_deleted_community_is_refused(user: Api) -> None:
    community = await make_community(user)
    await user.ok_post("/community/delete", {"community_id": community["id"], "deleted": True})
    status, data = await user.put("/community", {"community_id": community["id"], "title": "Too late"})
    assert (status, data["error"]) == (400, "deleted")


async def test_local_only_community_needs_a_login(user: Api, other: Api, anon: Api) -> None:
    community = await make_community(user, visibility="LocalOnly")
    assert community["visibility"] == "LocalOnly"
    status, data = await anon.get("/community", id=community["id"])
    assert (status, data["error"]) == (404, "couldnt_find_community")
    assert community["id"] not in await _listed_ids(anon, type_="Local", sort="New", limit=50)
    assert community["id"] in await _listed_ids(other, type_="Local", sort="New", limit=50)
    assert (await _community_view(other, community["id"]))["community"]["id"] == community["id"]


async def test_get_includes_the_local_site(anon: Api, user: Api) -> None:
    community = await make_community(user)
    data = await anon.ok_get("/community", id=community["id"])
    assert data["site"]["actor_id"].rstrip("/") == f"http://{HOST}"
    assert data["site"]["name"] == "Moot Test"


async def test_site_content_warning_shows_nsfw_by_default(admin: Api, user: Api, anon: Api) -> None:
    nsfw = await make_community(user, nsfw=True)
    await admin.ok_put("/site", {"content_warning": "Adult content here"})
    try:
        assert nsfw["id"] in await _listed_ids(anon, type_="Local", sort="New", limit=50)
    finally:
        await admin.ok_put("/site", {"content_warning": ""})
    site = await anon.ok_get("/site")
    assert "content_warning" not in site["site_view"]["site"]
    assert nsfw["id"] not in await _listed_ids(anon, type_="Local", sort="New", limit=50)
