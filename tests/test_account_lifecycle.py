"""The rest of an account's life (Lemmy 0.19): delete_account with and without content, list_logins,
donation_dialog_shown, /site/block."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import Api, make_comment, make_community, make_post, register, unique
from moot.db.instance import Instance
from moot.domain.timefmt import utcnow

PASSWORD = "password-1234"


async def _login(http: httpx.AsyncClient, name: str, password: str = PASSWORD) -> tuple[int, Any]:
    return await Api(client=http).post("/user/login", {"username_or_email": name, "password": password})


async def test_delete_account_keeps_content_unless_asked(http: httpx.AsyncClient, admin: Api) -> None:
    api = await register(http)
    community = await make_community(admin)
    post = await make_post(api, community["id"])
    await api.ok_put("/user/save_user_settings", {"display_name": "Someone", "bio": "about me"})
    second = Api(client=http, jwt=(await _login(http, api.name or ""))[1]["jwt"])

    assert await api.post("/user/delete_account", {"password": "wrong-password-1", "delete_content": False}) == (
        401,
        {"error": "incorrect_login"},
    )
    assert (await api.ok_get("/site"))["my_user"]
    assert await api.ok_post("/user/delete_account", {"password": PASSWORD, "delete_content": False}) == {
        "success": True
    }
    # Every login is over, and none can start again.
    for token in (api, second):
        assert await token.get("/user/validate_auth") == (400, {"error": "not_logged_in"})
    assert await _login(http, api.name or "") == (401, {"error": "incorrect_login"})
    person = (await admin.ok_get("/user", person_id=api.person_id))["person_view"]["person"]
    assert person["deleted"] is True and "display_name" not in person and "bio" not in person
    # Without delete_content the posts stay.
    kept = (await admin.ok_get("/post", id=post["id"]))["post_view"]
    assert kept["post"]["deleted"] is False and kept["post"]["name"] == post["name"]


async def test_delete_account_with_content(http: httpx.AsyncClient, admin: Api) -> None:
    api = await register(http)
    community = await make_community(admin)
    other_post = await make_post(admin, community["id"])
    post = await make_post(api, community["id"])
    comment = await make_comment(api, other_post["id"], "my words")
    await make_comment(api, post["id"], "on my own post")
    before = (await admin.ok_get("/community", id=community["id"]))["community_view"]["counts"]
    other_before = (await admin.ok_get("/post", id=other_post["id"]))["post_view"]["counts"]["comments"]

    await api.ok_post("/user/delete_account", {"password": PASSWORD, "delete_content": True})

    gone = (await admin.ok_get("/post", id=post["id"]))["post_view"]["post"]
    assert gone["deleted"] is True and gone["name"] == "*Permanently Deleted*" and "url" not in gone
    words = (await admin.ok_get("/comment", id=comment["id"]))["comment_view"]["comment"]
    assert words["deleted"] is True and "my words" not in words["content"]
    after = (await admin.ok_get("/community", id=community["id"]))["community_view"]["counts"]
    assert after["posts"] == before["posts"] - 1 and after["comments"] == before["comments"] - 2
    other_after = (await admin.ok_get("/post", id=other_post["id"]))["post_view"]["counts"]["comments"]
    assert other_after == other_before - 1
    counts = (await admin.ok_get("/user", person_id=api.person_id))["person_view"]["counts"]
    assert (counts["post_count"], counts["comment_count"]) == (0, 0)
    # Nothing of theirs is found by search any more.
    found = await admin.ok_get("/search", q="words", type_="Comments", creator_id=api.person_id)
    assert found["comments"] == []


async def test_list_logins(http: httpx.AsyncClient, admin: Api, anon: Api) -> None:
    api = await register(http)
    status, body = await _login(http, api.name or "")
    assert status == 200
    logins = await api.ok_get("/user/list_logins")
    assert isinstance(logins, list) and len(logins) == 2
    user_id = (await api.ok_get("/site"))["my_user"]["local_user_view"]["local_user"]["id"]
    assert {row["user_id"] for row in logins} == {user_id}
    assert all("token" not in row and row["published"] for row in logins)
    await Api(client=http, jwt=body["jwt"]).ok_post("/user/logout")
    assert len(await api.ok_get("/user/list_logins")) == 1
    assert await anon.get("/user/list_logins") == (401, {"error": "not_logged_in"})


async def test_donation_dialog_shown(http: httpx.AsyncClient, admin: Api) -> None:
    api = await register(http)
    before = (await api.ok_get("/site"))["my_user"]["local_user_view"]["local_user"]["last_donation_notification"]
    assert await api.ok_post("/user/donation_dialog_shown") == {"success": True}
    after = (await api.ok_get("/site"))["my_user"]["local_user_view"]["local_user"]["last_donation_notification"]
    assert after > before


async def test_block_instance(app: Any, http: httpx.AsyncClient, admin: Api) -> None:
    api = await register(http)
    site = await api.ok_get("/site")
    local = site["site_view"]["site"]["instance_id"]
    assert await api.post("/site/block", {"instance_id": local, "block": True}) == (
        400,
        {"error": "cant_block_local_instance"},
    )
    async with app.state.moot.db.write() as session:
        instance = Instance(domain=f"{unique('far')}.example", published=utcnow())
        session.add(instance)
        await session.flush()
        far = instance.id
    assert await api.ok_post("/site/block", {"instance_id": far, "block": True}) == {"blocked": True}
    assert await api.ok_post("/site/block", {"instance_id": far, "block": True}) == {"blocked": True}
    blocks = (await api.ok_get("/site"))["my_user"]["instance_blocks"]
    assert [b["instance"]["id"] for b in blocks] == [far]
    assert await api.ok_post("/site/block", {"instance_id": far, "block": False}) == {"blocked": False}
    assert (await api.ok_get("/site"))["my_user"]["instance_blocks"] == []
    assert await api.post("/site/block", {"instance_id": 2_000_000_000, "block": True}) == (
        404,
        {"error": "couldnt_find_object"},
    )
