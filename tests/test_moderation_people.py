"""People and administration on the v3 API: community and site bans (expiry, remove_data), the banned list,
moderators and their ranks, community transfer, admins, and the admins' purges, each with its modlog row.

Tests never ban or demote the shared `admin`: the admins they demote or refuse are their own (made with
/admin/add and removed again in `finally`)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from conftest import Api, make_comment, make_community, make_post, register
from lemmy_shapes import assert_shape
from moot.actions import people
from moot.db.community import CommunityPersonBan
from moot.db.engine import count_queries
from moot.db.moderation import ModlogEntry
from moot.db.person import LocalUser, Person
from moot.domain.errors import LemmyError
from moot.domain.timefmt import utcnow
from moot.queries.viewer import load_viewer


async def refused(api: Api, path: str, body: dict[str, Any], error: str, status: int = 400) -> None:
    got_status, data = await api.post(path, body)
    assert (got_status, data.get("error")) == (status, error), (path, got_status, data)


async def modlog_rows(app: Any, kind: str, **where: Any) -> list[ModlogEntry]:
    async with app.state.moot.db.read() as session:
        stmt = select(ModlogEntry).where(ModlogEntry.kind == kind)
        for key, value in where.items():
            stmt = stmt.where(getattr(ModlogEntry, key) == value)
        return list((await session.scalars(stmt.order_by(ModlogEntry.id))).all())


async def community_counts(api: Api, community_id: int) -> dict[str, Any]:
    data = await api.ok_get("/community", id=community_id)
    counts: dict[str, Any] = data["community_view"]["counts"]
    return counts


async def person_counts(api: Api, person_id: int) -> dict[str, Any]:
    data = await api.ok_get("/user", person_id=person_id)
    counts: dict[str, Any] = data["person_view"]["counts"]
    return counts


async def post_view(api: Api, post_id: int) -> dict[str, Any]:
    data = await api.ok_get("/post", id=post_id)
    view: dict[str, Any] = data["post_view"]
    return view


async def new_admin(admin: Api, http: httpx.AsyncClient) -> Api:
    api = await register(http)
    data = await admin.ok_post("/admin/add", {"person_id": api.person_id, "added": True})
    assert_shape(data, "AddAdminResponse")
    return api


async def drop_admin(admin: Api, api: Api) -> None:
    await admin.ok_post("/admin/add", {"person_id": api.person_id, "added": False})


# Community bans.


async def test_community_ban_stops_writes_there_only_and_unsubscribes(app: Any, user: Api, other: Api) -> None:
    here = await make_community(user)
    elsewhere = await make_community(user)
    await other.ok_post("/community/follow", {"community_id": here["id"], "follow": True})
    before = await make_post(other, here["id"])
    mine = await make_post(user, here["id"])
    expires = int(time.time()) + 3600

    data = await user.ok_post(
        "/community/ban_user",
        {"community_id": here["id"], "person_id": other.person_id, "ban": True, "reason": "spam", "expires": expires},
    )
    assert_shape(data, "BanFromCommunityResponse")
    assert data["banned"] is True and data["person_view"]["person"]["id"] == other.person_id

    await refused(other, "/post", {"name": "again", "community_id": here["id"]}, "banned_from_community")
    await refused(other, "/comment", {"post_id": mine["id"], "content": "hi"}, "banned_from_community")
    await refused(other, "/post/like", {"post_id": mine["id"], "score": 1}, "banned_from_community")
    await refused(other, "/community/follow", {"community_id": here["id"], "follow": True}, "banned_from_community")
    # Elsewhere nothing changes.
    await make_post(other, elsewhere["id"])
    # The ban unsubscribed them, and the views say who is banned.
    community = await other.ok_get("/community", id=here["id"])
    assert community["community_view"]["subscribed"] == "NotSubscribed"
    assert community["community_view"]["banned_from_community"] is True
    assert (await post_view(user, before["id"]))["creator_banned_from_community"] is True
    assert (await post_view(other, mine["id"]))["banned_from_community"] is True

    [row] = await modlog_rows(app, "ModBanFromCommunity", other_person_id=other.person_id)
    assert (row.mod_person_id, row.community_id, row.state, row.reason) == (user.person_id, here["id"], True, "spam")
    assert row.expires is not None and int(row.expires.timestamp()) == expires

    # Banning again replaces the expiry (an upsert), unbanning lets them write again.
    await user.ok_post("/community/ban_user", {"community_id": here["id"], "person_id": other.person_id, "ban": True})
    async with app.state.moot.db.read() as session:
        ban = await session.get(CommunityPersonBan, (here["id"], other.person_id))
        assert ban is not None and ban.expires is None
    data = await user.ok_post(
        "/community/ban_user", {"community_id": here["id"], "person_id": other.person_id, "ban": False}
    )
    assert data["banned"] is False
    await make_post(other, here["id"])
    assert (await post_view(user, before["id"]))["creator_banned_from_community"] is False
    rows = await modlog_rows(app, "ModBanFromCommunity", other_person_id=other.person_id)
    assert [r.state for r in rows] == [True, True, False]


async def test_community_ban_refusals(app: Any, admin: Api, user: Api, other: Api, anon: Api) -> None:
    community = await make_community(user)
    cid = community["id"]
    ban = {"community_id": cid, "person_id": other.person_id, "ban": True}
    await refused(other, "/community/ban_user", {**ban, "person_id": user.person_id}, "not_a_mod_or_admin")
    await refused(anon, "/community/ban_user", ban, "not_logged_in", 401)
    await refused(user, "/community/ban_user", {**ban, "expires": int(time.time()) - 60}, "ban_expiration_in_past")
    await refused(user, "/community/ban_user", {**ban, "expires": 2**62}, "invalid_unix_time")
    await refused(user, "/community/ban_user", {**ban, "reason": "x" * 10_001}, "invalid_body_field")
    await refused(user, "/community/ban_user", {**ban, "person_id": 2_000_000_000}, "couldnt_find_person", 404)
    await refused(user, "/community/ban_user", {**ban, "community_id": 2_000_000_000}, "couldnt_find_community", 404)
    # A moderator cannot ban an admin, nor themself.
    await refused(user, "/community/ban_user", {**ban, "person_id": admin.person_id}, "not_higher_mod")
    await refused(user, "/community/ban_user", {**ban, "person_id": user.person_id}, "not_higher_mod")
    # More than ten years ahead is a permanent ban.
    await user.ok_post("/community/ban_user", {**ban, "expires": int(time.time()) + 11 * 365 * 86400})
    async with app.state.moot.db.read() as session:
        row = await session.get(CommunityPersonBan, (cid, other.person_id))
        assert row is not None and row.expires is None


async def test_an_expired_community_ban_no_longer_applies(app: Any, user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(other, community["id"])
    await user.ok_post(
        "/community/ban_user",
        {"community_id": community["id"], "person_id": other.person_id, "ban": True, "expires": int(time.time()) + 60},
    )
    await refused(other, "/comment", {"post_id": post["id"], "content": "hi"}, "banned_from_community")
    async with app.state.moot.db.write() as session:
        await session.execute(
            update(CommunityPersonBan)
            .where(CommunityPersonBan.person_id == other.person_id)
            .values(expires=utcnow() - timedelta(seconds=5))
        )
    # No job ran: the gate and the views compare the expiry themselves.
    await make_comment(other, post["id"])
    view = await post_view(other, post["id"])
    assert view["creator_banned_from_community"] is False and view["banned_from_community"] is False


async def test_an_expiry_a_moment_ahead_passes_by_itself(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await user.ok_post(
        "/community/ban_user",
        {"community_id": community["id"], "person_id": other.person_id, "ban": True, "expires": int(time.time()) + 2},
    )
    await refused(other, "/post/like", {"post_id": post["id"], "score": 1}, "banned_from_community")
    deadline = time.monotonic() + 10
    while True:
        status, data = await other.post("/post/like", {"post_id": post["id"], "score": 1})
        if status == 200:
            break
        assert data["error"] == "banned_from_community"
        assert time.monotonic() < deadline, "the ban did not expire"
        await asyncio.sleep(0.25)
    assert data["post_view"]["my_vote"] == 1


async def test_remove_data_in_a_community_removes_and_restores_with_counters(app: Any, user: Api, other: Api) -> None:
    here = await make_community(user)
    elsewhere = await make_community(user)
    host = await make_post(user, here["id"])
    p1 = await make_post(other, here["id"])
    p2 = await make_post(other, here["id"])
    outside = await make_post(other, elsewhere["id"])
    c1 = await make_comment(other, host["id"])
    await make_comment(other, outside["id"])
    counts = await community_counts(user, here["id"])
    assert (counts["posts"], counts["comments"]) == (3, 1)
    mine = await person_counts(user, other.person_id)
    assert (mine["post_count"], mine["comment_count"]) == (3, 2)

    await user.ok_post(
        "/community/ban_user",
        {"community_id": here["id"], "person_id": other.person_id, "ban": True, "remove_data": True},
    )
    for post in (p1, p2):
        assert (await post_view(user, post["id"]))["post"]["removed"] is True
    assert (await post_view(user, outside["id"]))["post"]["removed"] is False
    comment = await user.ok_get("/comment", id=c1["id"])
    assert comment["comment_view"]["comment"]["removed"] is True
    counts = await community_counts(user, here["id"])
    assert (counts["posts"], counts["comments"]) == (1, 0)
    assert (await post_view(user, host["id"]))["counts"]["comments"] == 0
    mine = await person_counts(user, other.person_id)
    assert (mine["post_count"], mine["comment_count"]) == (1, 1)
    # Lemmy 0.19 writes the ban's row only, not one per removed item.
    assert await modlog_rows(app, "ModRemovePost", other_person_id=other.person_id) == []

    await user.ok_post(
        "/community/ban_user",
        {"community_id": here["id"], "person_id": other.person_id, "ban": False, "remove_data": True},
    )
    assert (await post_view(user, p1["id"]))["post"]["removed"] is False
    counts = await community_counts(user, here["id"])
    assert (counts["posts"], counts["comments"]) == (3, 1)
    mine = await person_counts(user, other.person_id)
    assert (mine["post_count"], mine["comment_count"]) == (3, 2)


# Site bans.


async def test_site_ban_ends_logins_and_refuses_login_until_lifted(
    app: Any, http: httpx.AsyncClient, admin: Api, user: Api
) -> None:
    victim = await register(http)
    community = await make_community(user)
    data = await admin.ok_post(
        "/user/ban", {"person_id": victim.person_id, "ban": True, "reason": "abuse", "expires": int(time.time()) + 3600}
    )
    assert_shape(data, "BanPersonResponse")
    assert data["banned"] is True and data["person_view"]["person"]["banned"] is True
    assert "ban_expires" in data["person_view"]["person"]
    # The login is gone: writes are refused, reads are a visitor's.
    await refused(victim, "/post", {"name": "A good title", "community_id": community["id"]}, "not_logged_in", 401)
    assert "my_user" not in await victim.ok_get("/site")
    status, body = await victim.as_anonymous().post(
        "/user/login", {"username_or_email": victim.name, "password": "password-1234"}
    )
    assert (status, body["error"]) == (400, "site_ban")
    listed = await admin.ok_get("/user/banned")
    assert_shape(listed, "BannedPersonsResponse")
    assert victim.person_id in [v["person"]["id"] for v in listed["banned"]]
    status, body = await user.get("/user/banned")
    assert (status, body["error"]) == (400, "not_an_admin")
    [row] = await modlog_rows(app, "ModBan", other_person_id=victim.person_id)
    assert (row.mod_person_id, row.state, row.reason) == (admin.person_id, True, "abuse")
    assert row.expires is not None

    await admin.ok_post("/user/ban", {"person_id": victim.person_id, "ban": False})
    relogin = await victim.as_anonymous().ok_post(
        "/user/login", {"username_or_email": victim.name, "password": "password-1234"}
    )
    victim.jwt = relogin["jwt"]
    await make_post(victim, community["id"])
    listed = await admin.ok_get("/user/banned")
    assert victim.person_id not in [v["person"]["id"] for v in listed["banned"]]


async def test_the_gate_refuses_a_site_banned_person_and_forgets_an_expired_ban(
    app: Any, admin: Api, user: Api, other: Api
) -> None:
    """The login tokens go with the ban; the gate refuses a banned person all the same (`site_ban`), and an
    expired ban stops applying everywhere without a job."""
    community = await make_community(user)
    post = await make_post(user, community["id"])
    db = app.state.moot.db
    async with db.write() as session:
        await session.execute(update(Person).where(Person.id == other.person_id).values(banned=True, ban_expires=None))
    for path, body in (
        ("/post", {"name": "A good title", "community_id": community["id"]}),
        ("/comment", {"post_id": post["id"], "content": "x"}),
        ("/post/like", {"post_id": post["id"], "score": 1}),
        ("/community/follow", {"community_id": community["id"], "follow": True}),
    ):
        await refused(other, path, body, "site_ban")
    async with db.write() as session:
        await session.execute(
            update(Person).where(Person.id == other.person_id).values(ban_expires=utcnow() - timedelta(seconds=5))
        )
    await make_comment(other, post["id"])
    assert (await person_counts(user, other.person_id))["comment_count"] == 1
    data = await user.ok_get("/user", person_id=other.person_id)
    assert data["person_view"]["person"]["banned"] is False
    listed = await admin.ok_get("/user/banned")
    assert other.person_id not in [v["person"]["id"] for v in listed["banned"]]
    await admin.ok_post("/user/ban", {"person_id": other.person_id, "ban": False})


async def test_site_ban_remove_data_removes_everything_they_made(
    http: httpx.AsyncClient, admin: Api, user: Api
) -> None:
    victim = await register(http)
    await victim.ok_put("/user/save_user_settings", {"bio": "my bio"})
    theirs = await make_community(victim)
    host = await make_community(user)
    p_theirs = await make_post(victim, theirs["id"])
    p_host = await make_post(victim, host["id"])
    user_post = await make_post(user, host["id"])
    comment = await make_comment(victim, user_post["id"])
    await admin.ok_post("/user/ban", {"person_id": victim.person_id, "ban": True, "remove_data": True})
    community = await admin.ok_get("/community", id=theirs["id"])
    assert community["community_view"]["community"]["removed"] is True
    assert (await post_view(admin, p_theirs["id"]))["post"]["removed"] is True
    assert (await post_view(admin, p_host["id"]))["post"]["removed"] is True
    assert (await admin.ok_get("/comment", id=comment["id"]))["comment_view"]["comment"]["removed"] is True
    assert (await post_view(admin, user_post["id"]))["counts"]["comments"] == 0
    person = (await admin.ok_get("/user", person_id=victim.person_id))["person_view"]
    assert "bio" not in person["person"]
    assert (person["counts"]["post_count"], person["counts"]["comment_count"]) == (0, 0)
    counts = await community_counts(admin, host["id"])
    assert (counts["posts"], counts["comments"]) == (1, 0)


async def test_site_ban_refusals(http: httpx.AsyncClient, admin: Api, user: Api, other: Api) -> None:
    await refused(user, "/user/ban", {"person_id": other.person_id, "ban": True}, "not_an_admin")
    await refused(admin, "/user/ban", {"person_id": admin.person_id, "ban": True}, "not_higher_admin")
    await refused(
        admin, "/user/ban", {"person_id": other.person_id, "ban": True, "expires": 1}, "ban_expiration_in_past"
    )
    await refused(admin, "/user/ban", {"person_id": 2_000_000_000, "ban": True}, "couldnt_find_person", 404)
    newer = await new_admin(admin, http)
    try:
        # A newer admin cannot ban, demote or purge an older one.
        await refused(newer, "/user/ban", {"person_id": admin.person_id, "ban": True}, "not_higher_admin")
        await refused(newer, "/admin/add", {"person_id": admin.person_id, "added": False}, "not_higher_admin")
        await refused(newer, "/admin/purge/person", {"person_id": admin.person_id}, "not_higher_admin")
        # And a moderator cannot ban an admin from their community.
        community = await make_community(user)
        await refused(
            user,
            "/community/ban_user",
            {"community_id": community["id"], "person_id": newer.person_id, "ban": True},
            "not_higher_mod",
        )
        # The older admin can ban the newer one.
        await admin.ok_post("/user/ban", {"person_id": newer.person_id, "ban": True})
        await admin.ok_post("/user/ban", {"person_id": newer.person_id, "ban": False})
    finally:
        await drop_admin(admin, newer)


# Moderators.


async def test_moderators_and_their_ranks(app: Any, http: httpx.AsyncClient, user: Api, other: Api) -> None:
    third = await register(http)
    community = await make_community(user)
    cid = community["id"]
    await refused(other, "/community/mod", {"community_id": cid, "person_id": other.person_id, "added": True},
                  "not_a_mod_or_admin")  # fmt: skip
    data = await user.ok_post("/community/mod", {"community_id": cid, "person_id": other.person_id, "added": True})
    assert_shape(data, "AddModToCommunityResponse")
    assert [m["moderator"]["id"] for m in data["moderators"]] == [user.person_id, other.person_id]
    await refused(user, "/community/mod", {"community_id": cid, "person_id": other.person_id, "added": True},
                  "community_moderator_already_exists")  # fmt: skip
    # The newer moderator can add, but cannot remove or ban the older one.
    await other.ok_post("/community/mod", {"community_id": cid, "person_id": third.person_id, "added": True})
    await refused(other, "/community/mod", {"community_id": cid, "person_id": user.person_id, "added": False},
                  "not_higher_mod")  # fmt: skip
    await refused(other, "/community/ban_user", {"community_id": cid, "person_id": user.person_id, "ban": True},
                  "not_higher_mod")  # fmt: skip
    # ...but can ban and remove a newer one; the oldest can remove anyone; anyone can step down.
    await other.ok_post("/community/ban_user", {"community_id": cid, "person_id": third.person_id, "ban": True})
    await other.ok_post("/community/ban_user", {"community_id": cid, "person_id": third.person_id, "ban": False})
    await other.ok_post("/community/mod", {"community_id": cid, "person_id": third.person_id, "added": False})
    data = await other.ok_post("/community/mod", {"community_id": cid, "person_id": other.person_id, "added": False})
    assert [m["moderator"]["id"] for m in data["moderators"]] == [user.person_id]
    await refused(other, "/post/lock", {"post_id": (await make_post(user, cid))["id"], "locked": True},
                  "not_a_mod_or_admin")  # fmt: skip
    rows = await modlog_rows(app, "ModAddCommunity", community_id=cid)
    assert [(r.mod_person_id, r.other_person_id, r.state) for r in rows] == [
        (user.person_id, other.person_id, False),
        (other.person_id, third.person_id, False),
        (other.person_id, third.person_id, True),
        (other.person_id, other.person_id, True),
    ]


async def test_transfer_community(app: Any, http: httpx.AsyncClient, admin: Api, user: Api, other: Api) -> None:
    third = await register(http)
    community = await make_community(user)
    cid = community["id"]
    await user.ok_post("/community/mod", {"community_id": cid, "person_id": other.person_id, "added": True})
    await refused(third, "/community/transfer", {"community_id": cid, "person_id": third.person_id}, "not_an_admin")
    await refused(other, "/community/transfer", {"community_id": cid, "person_id": other.person_id}, "not_an_admin")
    status, body = await user.post("/community/transfer", {"community_id": cid, "person_id": third.person_id})
    assert (status, body["error"]) == (400, "unknown")
    data = await user.ok_post("/community/transfer", {"community_id": cid, "person_id": other.person_id})
    assert_shape(data, "GetCommunityResponse")
    assert [m["moderator"]["id"] for m in data["moderators"]] == [other.person_id, user.person_id]
    # The new top moderator now outranks the old one.
    await other.ok_post("/community/mod", {"community_id": cid, "person_id": user.person_id, "added": False})
    # An admin may transfer too.
    await other.ok_post("/community/mod", {"community_id": cid, "person_id": third.person_id, "added": True})
    data = await admin.ok_post("/community/transfer", {"community_id": cid, "person_id": third.person_id})
    assert [m["moderator"]["id"] for m in data["moderators"]] == [third.person_id, other.person_id]
    rows = await modlog_rows(app, "ModTransferCommunity", community_id=cid)
    assert [(r.mod_person_id, r.other_person_id) for r in rows] == [
        (user.person_id, other.person_id),
        (admin.person_id, third.person_id),
    ]


# Admins.


async def test_add_and_leave_admin(app: Any, http: httpx.AsyncClient, admin: Api, user: Api) -> None:
    await refused(user, "/admin/add", {"person_id": user.person_id, "added": True}, "not_an_admin")
    await refused(user, "/user/leave_admin", {}, "not_an_admin")
    newer = await register(http)
    try:
        data = await admin.ok_post("/admin/add", {"person_id": newer.person_id, "added": True})
        assert newer.person_id in [a["person"]["id"] for a in data["admins"]]
        site = await user.ok_get("/site")
        assert newer.person_id in [a["person"]["id"] for a in site["admins"]]
        person = await user.ok_get("/user", person_id=newer.person_id)
        assert person["person_view"]["is_admin"] is True
        # The new admin can act as one.
        await newer.ok_get("/user/banned")
        data = await newer.ok_post("/user/leave_admin")
        assert_shape(data, "GetSiteResponse")
        assert "my_user" not in data
        assert newer.person_id not in [a["person"]["id"] for a in data["admins"]]
        status, body = await newer.get("/user/banned")
        assert (status, body["error"]) == (400, "not_an_admin")
        person = await user.ok_get("/user", person_id=newer.person_id)
        assert person["person_view"]["is_admin"] is False
    finally:
        await admin.ok_post("/admin/add", {"person_id": newer.person_id, "added": False})
    rows = await modlog_rows(app, "ModAdd", other_person_id=newer.person_id)
    assert [(r.mod_person_id, r.state) for r in rows] == [
        (admin.person_id, False),
        (newer.person_id, True),
        (admin.person_id, True),
    ]


async def test_the_last_admin_cannot_leave(app: Any, http: httpx.AsyncClient, admin: Api) -> None:
    """Checked inside a transaction that is rolled back: the other admins (the shared one too) are demoted only
    there, so nothing outside this test ever sees it."""
    solo = await new_admin(admin, http)
    db = app.state.moot.db
    try:
        with pytest.raises(LemmyError) as refusal:
            async with db.write() as session:
                await session.execute(
                    update(LocalUser).where(LocalUser.person_id != solo.person_id).values(admin=False)
                )
                viewer = await load_viewer(session, solo.jwt, app.state.moot.jwt_secret)
                assert viewer is not None and viewer.is_admin
                await people.leave_admin(session, viewer)
        assert refusal.value.error == "cannot_leave_admin"
        site = await admin.ok_get("/site")
        assert admin.person_id in [a["person"]["id"] for a in site["admins"]]
    finally:
        await drop_admin(admin, solo)


async def test_only_local_people_become_admins(app: Any, admin: Api) -> None:
    await refused(admin, "/admin/add", {"person_id": 2_000_000_000, "added": True}, "object_not_local")


# Purges.


async def test_purge_comment_takes_its_replies_and_fixes_counters(
    app: Any, http: httpx.AsyncClient, admin: Api, user: Api, other: Api
) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    a = await make_comment(other, post["id"], "a")
    b = await make_comment(user, post["id"], "b", parent_id=a["id"])
    c = await make_comment(other, post["id"], "c", parent_id=b["id"])
    d = await make_comment(user, post["id"], "d")
    await user.ok_post("/comment/like", {"comment_id": c["id"], "score": 1})
    await refused(user, "/admin/purge/comment", {"comment_id": b["id"]}, "not_an_admin")
    await refused(admin, "/admin/purge/comment", {"comment_id": 2_000_000_000}, "couldnt_find_comment", 404)

    data = await admin.ok_post("/admin/purge/comment", {"comment_id": b["id"], "reason": "gone"})
    assert_shape(data, "SuccessResponse")
    assert data == {"success": True}
    for gone in (b, c):
        status, body = await user.get("/comment", id=gone["id"])
        assert (status, body["error"]) == (404, "couldnt_find_comment")
    parent = (await user.ok_get("/comment", id=a["id"]))["comment_view"]
    assert parent["counts"]["child_count"] == 0
    assert (await post_view(user, post["id"]))["counts"]["comments"] == 2
    assert (await community_counts(user, community["id"]))["comments"] == 2
    assert (await person_counts(user, user.person_id))["comment_count"] == 1
    assert (await person_counts(user, other.person_id))["comment_count"] == 1
    [row] = await modlog_rows(app, "AdminPurgeComment", post_id=post["id"])
    assert (row.mod_person_id, row.reason) == (admin.person_id, "gone")

    await admin.ok_post("/admin/purge/comment", {"comment_id": a["id"]})
    listed = await user.ok_get("/comment/list", post_id=post["id"])
    assert [v["comment"]["id"] for v in listed["comments"]] == [d["id"]]
    assert (await post_view(user, post["id"]))["counts"]["comments"] == 1


async def test_a_purged_items_id_and_ap_id_are_never_given_again(
    http: httpx.AsyncClient, admin: Api, user: Api, other: Api
) -> None:
    """A local object's ap_id is made from its id: a purged post, comment or message (the newest of its table)
    must not hand its id to the next one, or other servers would take the new one for the purged one. SQLite
    gave it again before migration 0012; PostgreSQL's sequences never did."""
    community = await make_community(user)
    post = await make_post(user, community["id"])
    purged_comment = await make_comment(other, post["id"], "soon gone")
    await admin.ok_post("/admin/purge/comment", {"comment_id": purged_comment["id"]})
    comment = await make_comment(other, post["id"], "the next one")
    assert comment["id"] > purged_comment["id"]
    assert comment["ap_id"] != purged_comment["ap_id"]

    purged_post = await make_post(user, community["id"])
    await admin.ok_post("/admin/purge/post", {"post_id": purged_post["id"]})
    later = await make_post(user, community["id"])
    assert later["id"] > purged_post["id"]
    assert later["ap_id"] != purged_post["ap_id"]

    sender = await register(http)
    sent = await sender.ok_post("/private_message", {"recipient_id": user.person_id, "content": "hello"})
    await admin.ok_post("/admin/purge/person", {"person_id": sender.person_id})
    message = await other.ok_post("/private_message", {"recipient_id": user.person_id, "content": "hi"})
    purged_message, new_message = sent["private_message_view"]["private_message"], message["private_message_view"]
    assert new_message["private_message"]["id"] > purged_message["id"]
    assert new_message["private_message"]["ap_id"] != purged_message["ap_id"]


async def test_purge_post_and_community(app: Any, admin: Api, user: Api, other: Api) -> None:
    community = await make_community(user)
    keep = await make_post(user, community["id"])
    word = f"purgeword{int(time.time() * 1000)}"
    doomed = await make_post(other, community["id"], name=f"doomed {word}")
    await make_comment(user, doomed["id"])
    await make_comment(other, doomed["id"])
    await user.ok_post("/post/like", {"post_id": doomed["id"], "score": 1})
    found = await user.ok_get("/search", q=word, type_="Posts")
    assert [p["post"]["id"] for p in found["posts"]] == [doomed["id"]]
    await refused(user, "/admin/purge/post", {"post_id": doomed["id"]}, "not_an_admin")

    await admin.ok_post("/admin/purge/post", {"post_id": doomed["id"]})
    status, body = await user.get("/post", id=doomed["id"])
    assert (status, body["error"]) == (404, "couldnt_find_post")
    counts = await community_counts(user, community["id"])
    assert (counts["posts"], counts["comments"]) == (1, 0)
    assert await person_counts(user, other.person_id) == {"person_id": other.person_id, "post_count": 0,
                                                          "comment_count": 0}  # fmt: skip
    assert (await person_counts(user, user.person_id))["comment_count"] == 0
    assert (await user.ok_get("/search", q=word, type_="Posts"))["posts"] == []
    [row] = await modlog_rows(app, "AdminPurgePost", community_id=community["id"])
    assert row.mod_person_id == admin.person_id

    await make_comment(other, keep["id"])
    await refused(admin, "/admin/purge/community", {"community_id": 2_000_000_000}, "couldnt_find_community", 404)
    await admin.ok_post("/admin/purge/community", {"community_id": community["id"], "reason": "bye"})
    status, body = await user.get("/community", id=community["id"])
    assert (status, body["error"]) == (404, "couldnt_find_community")
    status, body = await user.get("/post", id=keep["id"])
    assert status == 404
    assert (await person_counts(user, user.person_id))["post_count"] == 0
    assert (await person_counts(user, other.person_id))["comment_count"] == 0
    rows = await modlog_rows(app, "AdminPurgeCommunity", mod_person_id=admin.person_id, reason="bye")
    assert len(rows) == 1
    # The rows about the purged post went with it; the purge's own row stays (community gone: no community).
    assert await modlog_rows(app, "AdminPurgePost", community_id=community["id"]) == []


async def test_purge_person(app: Any, http: httpx.AsyncClient, admin: Api, user: Api) -> None:
    victim = await register(http)
    community = await make_community(user)
    await victim.ok_post("/community/follow", {"community_id": community["id"], "follow": True})
    their_post = await make_post(victim, community["id"])
    reply_to_them = await make_comment(user, their_post["id"])
    user_post = await make_post(user, community["id"])
    await victim.ok_post("/post/like", {"post_id": user_post["id"], "score": 1})
    their_comment = await make_comment(victim, user_post["id"])
    under_theirs = await make_comment(user, user_post["id"], parent_id=their_comment["id"])
    mine = await make_comment(user, user_post["id"])
    await victim.ok_post("/comment/like", {"comment_id": mine["id"], "score": -1})
    before = await community_counts(user, community["id"])
    assert (before["subscribers"], before["posts"], before["comments"]) == (2, 2, 4)
    assert (await post_view(user, user_post["id"]))["counts"]["score"] == 2

    await refused(user, "/admin/purge/person", {"person_id": victim.person_id}, "not_an_admin")
    await refused(admin, "/admin/purge/person", {"person_id": admin.person_id}, "not_higher_admin")
    await admin.ok_post("/admin/purge/person", {"person_id": victim.person_id, "reason": "spam bot"})

    status, body = await user.get("/user", person_id=victim.person_id)
    assert (status, body["error"]) == (404, "couldnt_find_person")
    status, body = await victim.as_anonymous().post(
        "/user/login", {"username_or_email": victim.name, "password": "password-1234"}
    )
    assert (status, body["error"]) == (401, "incorrect_login")
    for gone in (reply_to_them, their_comment, under_theirs):
        status, body = await user.get("/comment", id=gone["id"])
        assert status == 404
    after = await community_counts(user, community["id"])
    assert (after["subscribers"], after["posts"], after["comments"]) == (1, 1, 1)
    view = await post_view(user, user_post["id"])
    assert (view["counts"]["score"], view["counts"]["upvotes"], view["counts"]["comments"]) == (1, 1, 1)
    comment = (await user.ok_get("/comment", id=mine["id"]))["comment_view"]["counts"]
    assert (comment["score"], comment["downvotes"]) == (1, 0)
    assert (await person_counts(user, user.person_id))["comment_count"] == 1
    rows = await modlog_rows(app, "AdminPurgePerson", reason="spam bot")
    assert [r.mod_person_id for r in rows] == [admin.person_id]


async def test_the_banned_list_is_one_query(http: httpx.AsyncClient, admin: Api) -> None:
    for _ in range(3):
        victim = await register(http)
        await admin.ok_post("/user/ban", {"person_id": victim.person_id, "ban": True})
    async with count_queries() as statements:
        data = await admin.ok_get("/user/banned")
    assert len(data["banned"]) >= 3
    # the login, the list
    assert len(statements) == 2, statements
