"""The admins' heavier tools on the pages over plain HTTP (web/admin_tools.py): the site ban on a profile and in
the admin area, the purges with their confirmation box, and the transfer of a community. Each is refused to
people who may not use it, needs the form's CSRF token, and its effect is read back through the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from conftest import ADMIN_NAME, ADMIN_PASSWORD, Api, make_comment, make_community, make_post
from web.conftest import PASSWORD, Browser, new_browser
from web.dom import parse


@pytest.fixture
async def admin_browser(web_app: Any, admin: Api) -> AsyncIterator[Browser]:
    b = new_browser(web_app)
    logged_in = await b.login(ADMIN_NAME, ADMIN_PASSWORD)
    assert logged_in.status_code == 303
    b.name = ADMIN_NAME
    yield b
    await b.close()


async def browser_of(web_app: Any, api: Api) -> Browser:
    b = new_browser(web_app)
    assert api.name is not None
    logged_in = await b.login(api.name, PASSWORD)
    assert logged_in.status_code == 303
    b.name = api.name
    return b


async def person(admin: Api, person_id: int) -> dict[str, Any]:
    found: dict[str, Any] = (await admin.ok_get("/user", person_id=person_id))["person_view"]["person"]
    return found


async def test_site_ban_from_a_profile(admin_browser: Browser, member: Browser, user: Api, admin: Api) -> None:
    """An admin bans a person from their profile (reason, days, content removed) and unbans them; a member sees
    no such form and is refused when posting it; a post without the CSRF token changes nothing."""
    assert user.person_id is not None
    community = await make_community(admin)
    post = await make_post(user, community["id"])
    profile = f"/u/{user.name}"
    doc = parse((await member.get(profile)).text)
    assert not doc.find_all("form", action=f"/person/{user.person_id}/site_ban")
    refused = await member.post(f"/person/{user.person_id}/site_ban", {"ban": "1", "reason": "mine"})
    assert refused.status_code == 400
    assert "Only admins can do that." in parse(refused.text).find("main").text()

    doc = parse((await admin_browser.get(profile)).text)
    assert doc.find("form", action=f"/person/{user.person_id}/site_ban")
    assert doc.find("form", action=f"/purge/person/{user.person_id}")
    no_token = await admin_browser.post(
        f"/person/{user.person_id}/site_ban", {"ban": "1", "reason": "spam"}, token="forged"
    )
    assert no_token.status_code == 403
    assert (await person(admin, user.person_id))["banned"] is False

    body = {"ban": "1", "reason": "spam", "days": "3", "remove_data": "1", "next": profile}
    done = await admin_browser.submit(profile, f"/person/{user.person_id}/site_ban", body)
    assert done.headers["location"] == profile
    banned = await person(admin, user.person_id)
    assert banned["banned"] is True and banned["ban_expires"] is not None
    removed = (await admin.ok_get("/post", id=post["id"]))["post_view"]["post"]
    assert removed["removed"] is True
    modlog = await admin.ok_get("/modlog", type_="ModBan", other_person_id=user.person_id)
    assert [e["mod_ban"]["reason"] for e in modlog["banned"]] == ["spam"]

    doc = parse((await admin_browser.get(profile)).text)
    assert doc.find("form", action=f"/person/{user.person_id}/site_ban").find("input", name="ban").attrs["value"] == "0"
    await admin_browser.submit(profile, f"/person/{user.person_id}/site_ban", {"ban": "0", "next": profile})
    assert (await person(admin, user.person_id))["banned"] is False


async def test_site_ban_by_name_in_the_admin_area(
    admin_browser: Browser, member: Browser, user: Api, admin: Api
) -> None:
    assert user.person_id is not None
    await member.get("/")
    refused = await member.post("/admin/ban", {"name": user.name, "ban": "1"})
    assert refused.status_code == 400
    assert (await person(admin, user.person_id))["banned"] is False
    doc = parse((await admin_browser.get("/admin")).text)
    assert doc.find("form", action="/admin/ban")
    await admin_browser.submit("/admin", "/admin/ban", {"name": user.name, "ban": "1", "reason": "from the list"})
    assert (await person(admin, user.person_id))["banned"] is True
    listed = parse((await admin_browser.get("/admin")).text).find("section", cls=None, **{"aria-labelledby": "bans"})
    assert user.name in listed.text()
    unknown = await admin_browser.post("/admin/ban", {"name": "nobody_by_that_name", "ban": "1"})
    assert unknown.status_code == 404
    await admin_browser.submit("/admin", "/admin/unban", {"person_id": str(user.person_id)})
    assert (await person(admin, user.person_id))["banned"] is False


async def test_purges_ask_for_confirmation_and_admins_only(
    admin_browser: Browser, member: Browser, user: Api, other: Api, admin: Api
) -> None:
    """Purge buttons beside a post's and a comment's mod tools, on a profile and in a community's settings: each
    needs the ticked box (without it nothing happens), and a member is refused."""
    assert other.person_id is not None
    community = await make_community(user)
    post = await make_post(other, community["id"], name="Purge me")
    kept = await make_post(user, community["id"], name="Stays")
    comment = await make_comment(user, kept["id"], "purge this comment")
    doc = parse((await admin_browser.get(f"/post/{post['id']}")).text)
    assert (
        doc.find("form", action=f"/purge/post/{post['id']}").find("input", name="confirm").attrs.get("required") == ""
    )
    doc = parse((await admin_browser.get(f"/post/{kept['id']}")).text)
    assert doc.find("form", action=f"/purge/comment/{comment['id']}")
    member_doc = parse((await member.get(f"/post/{post['id']}")).text)
    assert not member_doc.find_all("form", action=f"/purge/post/{post['id']}")

    refused = await member.post(f"/purge/post/{post['id']}", {"confirm": "1", "reason": "x"})
    assert refused.status_code == 400
    unconfirmed = await admin_browser.post(f"/purge/post/{post['id']}", {"reason": "spam"})
    assert unconfirmed.status_code == 400
    assert "Tick the box" in parse(unconfirmed.text).find("main").text()
    forged = await admin_browser.post(f"/purge/post/{post['id']}", {"confirm": "1"}, token="forged")
    assert forged.status_code == 403
    assert (await admin.get("/post", id=post["id"]))[0] == 200

    done = await admin_browser.submit(f"/post/{post['id']}", f"/purge/post/{post['id']}", {"confirm": "1"})
    assert done.headers["location"] == f"/c/{community['name']}"
    status, data = await admin.get("/post", id=post["id"])
    assert (status, data["error"]) == (404, "couldnt_find_post")

    done = await admin_browser.submit(f"/post/{kept['id']}", f"/purge/comment/{comment['id']}", {"confirm": "1"})
    assert done.headers["location"] == f"/post/{kept['id']}"
    status, data = await admin.get("/comment", id=comment["id"])
    assert (status, data["error"]) == (404, "couldnt_find_comment")
    assert (await admin.ok_get("/post", id=kept["id"]))["post_view"]["counts"]["comments"] == 0

    await admin_browser.submit(f"/u/{other.name}", f"/purge/person/{other.person_id}", {"confirm": "1"})
    status, data = await admin.get("/user", person_id=other.person_id)
    assert (status, data["error"]) == (404, "couldnt_find_person")

    settings = parse((await admin_browser.get(f"/c/{community['name']}/settings")).text)
    assert settings.find("form", action=f"/purge/community/{community['id']}")
    await admin_browser.submit(
        f"/c/{community['name']}/settings", f"/purge/community/{community['id']}", {"confirm": "1", "reason": "gone"}
    )
    status, data = await admin.get("/community", id=community["id"])
    assert (status, data["error"]) == (404, "couldnt_find_community")
    modlog = await admin.ok_get("/modlog", type_="AdminPurgeCommunity")
    assert "gone" in [e["admin_purge_community"]["reason"] for e in modlog["admin_purged_communities"]]


async def test_transfer_a_community_from_its_settings(web_app: Any, user: Api, other: Api, admin: Api) -> None:
    """The top moderator makes another moderator the top one; the other moderator, not (yet) top, is refused."""
    assert other.person_id is not None and user.person_id is not None
    community = await make_community(user)
    body = {"community_id": community["id"], "person_id": other.person_id, "added": True}
    await user.ok_post("/community/mod", body)
    top = await browser_of(web_app, user)
    second = await browser_of(web_app, other)
    try:
        settings = f"/c/{community['name']}/settings"
        doc = parse((await second.get(settings)).text)
        assert not doc.find_all("form", action=f"{settings.removesuffix('/settings')}/transfer")
        refused = await second.post(f"/c/{community['name']}/transfer", {"name": other.name})
        assert refused.status_code == 400
        doc = parse((await top.get(settings)).text)
        assert doc.find("form", action=f"/c/{community['name']}/transfer")
        forged = await top.post(f"/c/{community['name']}/transfer", {"name": other.name}, token="forged")
        assert forged.status_code == 403
        await top.submit(settings, f"/c/{community['name']}/transfer", {"name": other.name})
        view = await admin.ok_get("/community", id=community["id"])
        assert [m["moderator"]["id"] for m in view["moderators"]] == [other.person_id, user.person_id]
    finally:
        await top.close()
        await second.close()
