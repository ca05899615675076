"""The access gate (actions/access.py), walked: every write endpoint of the v3 API against a site-banned person, a
removed community and a locked post, each answering Lemmy's error. A last test holds the list of write endpoints
to the app's routes, so that a new write endpoint cannot skip the walk unnoticed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import update

from conftest import Api, make_comment, make_community, make_post, register, unique
from moot.db.person import Person


@dataclass
class World:
    """A community `c` moderated by `mod` (its creator), with a post and a comment by `mod` and by `member`, a
    report of each by `member`, and a second community `d` (of `member`) nobody else follows."""

    mod: Api
    member: Api
    c: int
    d: int
    mod_post: int
    mod_comment: int
    member_post: int
    member_comment: int
    post_report: int
    comment_report: int


async def build_world(http: httpx.AsyncClient) -> World:
    mod, member = await register(http), await register(http)
    c = (await make_community(mod))["id"]
    d = (await make_community(member))["id"]
    mod_post = (await make_post(mod, c))["id"]
    member_post = (await make_post(member, c))["id"]
    mod_comment = (await make_comment(mod, mod_post))["id"]
    member_comment = (await make_comment(member, member_post))["id"]
    post_report = (await mod.ok_post("/post/report", {"post_id": member_post, "reason": "r"}))["post_report_view"]
    comment_report = (await mod.ok_post("/comment/report", {"comment_id": member_comment, "reason": "r"}))[
        "comment_report_view"
    ]
    return World(
        mod,
        member,
        c,
        d,
        mod_post,
        mod_comment,
        member_post,
        member_comment,
        post_report["post_report"]["id"],
        comment_report["comment_report"]["id"],
    )


Body = Callable[[World], dict[str, Any]]

# What a member does in a community (a valid form each: only the gate may refuse it).
USER_ACTIONS: list[tuple[str, str, Body]] = [
    ("POST", "/post", lambda w: {"name": "A title", "community_id": w.c}),
    ("PUT", "/post", lambda w: {"post_id": w.member_post, "name": "Another title"}),
    ("POST", "/post/delete", lambda w: {"post_id": w.member_post, "deleted": True}),
    ("POST", "/post/like", lambda w: {"post_id": w.mod_post, "score": 1}),
    ("POST", "/comment", lambda w: {"post_id": w.mod_post, "content": "words"}),
    ("PUT", "/comment", lambda w: {"comment_id": w.member_comment, "content": "other words"}),
    ("POST", "/comment/delete", lambda w: {"comment_id": w.member_comment, "deleted": True}),
    ("POST", "/comment/like", lambda w: {"comment_id": w.mod_comment, "score": 1}),
    ("POST", "/post/report", lambda w: {"post_id": w.mod_post, "reason": "spam"}),
    ("POST", "/comment/report", lambda w: {"comment_id": w.mod_comment, "reason": "spam"}),
]

# What the community's moderator does in it.
MOD_ACTIONS: list[tuple[str, str, Body]] = [
    ("PUT", "/community", lambda w: {"community_id": w.c, "title": "New title"}),
    ("POST", "/post/remove", lambda w: {"post_id": w.member_post, "removed": True}),
    ("POST", "/post/lock", lambda w: {"post_id": w.member_post, "locked": True}),
    ("POST", "/post/feature", lambda w: {"post_id": w.member_post, "featured": True, "feature_type": "Community"}),
    ("POST", "/comment/remove", lambda w: {"comment_id": w.member_comment, "removed": True}),
    ("POST", "/comment/distinguish", lambda w: {"comment_id": w.mod_comment, "distinguished": True}),
    ("POST", "/community/ban_user", lambda w: {"community_id": w.c, "person_id": w.member.person_id, "ban": True}),
    ("POST", "/community/mod", lambda w: {"community_id": w.c, "person_id": w.member.person_id, "added": True}),
    ("POST", "/community/transfer", lambda w: {"community_id": w.c, "person_id": w.member.person_id}),
]

# Allowed on a removed community (they are how it is restored, or cleaned up), refused to a banned person.
MOD_ACTIONS_ON_REMOVED: list[tuple[str, str, Body]] = [
    ("POST", "/community/delete", lambda w: {"community_id": w.c, "deleted": True}),
    ("PUT", "/post/report/resolve", lambda w: {"report_id": w.post_report, "resolved": True}),
    ("PUT", "/comment/report/resolve", lambda w: {"report_id": w.comment_report, "resolved": True}),
    ("GET", "/post/like/list", lambda w: {"post_id": w.member_post}),
    ("GET", "/comment/like/list", lambda w: {"comment_id": w.member_comment}),
]

# Outside any one community, or admins only (the banned `mod` is no admin: the ban is what stops them first).
OTHER_ACTIONS: list[tuple[str, str, Body]] = [
    ("POST", "/community", lambda w: {"name": unique("c"), "title": "A community"}),
    ("POST", "/community/follow", lambda w: {"community_id": w.d, "follow": True}),
    ("POST", "/community/remove", lambda w: {"community_id": w.c, "removed": True}),
    ("PUT", "/community/hide", lambda w: {"community_id": w.c, "hidden": True}),
    ("POST", "/user/ban", lambda w: {"person_id": w.member.person_id, "ban": True}),
    ("POST", "/admin/add", lambda w: {"person_id": w.member.person_id, "added": True}),
    ("POST", "/admin/purge/person", lambda w: {"person_id": w.member.person_id}),
    ("POST", "/admin/purge/community", lambda w: {"community_id": w.d}),
    ("POST", "/admin/purge/post", lambda w: {"post_id": w.member_post}),
    ("POST", "/admin/purge/comment", lambda w: {"comment_id": w.member_comment}),
    (
        "POST",
        "/custom_emoji",
        lambda w: {
            "category": "c",
            "shortcode": unique("e"),
            "image_url": "https://example.com/e.png",
            "alt_text": "e",
            "keywords": [],
        },
    ),
    (
        "PUT",
        "/custom_emoji",
        lambda w: {"id": 1, "category": "c", "image_url": "https://example.com/e.png", "alt_text": "e", "keywords": []},
    ),
    ("POST", "/custom_emoji/delete", lambda w: {"id": 1}),
    ("PUT", "/admin/registration_application/approve", lambda w: {"id": 1, "approve": True}),
    ("PUT", "/site", lambda w: {"sidebar": "a banned admin cannot write this"}),
    ("POST", "/private_message", lambda w: {"recipient_id": w.member.person_id, "content": "hello"}),
    ("PUT", "/private_message", lambda w: {"private_message_id": 1, "content": "edited"}),
    ("POST", "/private_message/delete", lambda w: {"private_message_id": 1, "deleted": True}),
    ("POST", "/private_message/mark_as_read", lambda w: {"private_message_id": 1, "read": True}),
    ("POST", "/private_message/report", lambda w: {"private_message_id": 1, "reason": "spam"}),
    ("PUT", "/private_message/report/resolve", lambda w: {"report_id": 1, "resolved": True}),
]

# Personal bookkeeping: no community's business and no one else's (Lemmy asks only for a login).
PERSONAL = {
    ("POST", "/user/register"),
    ("POST", "/user/login"),
    ("POST", "/user/logout"),
    ("PUT", "/user/change_password"),
    ("PUT", "/user/save_user_settings"),
    ("POST", "/user/mark_all_as_read"),
    ("POST", "/user/block"),
    ("POST", "/user/leave_admin"),
    ("POST", "/community/block"),
    ("PUT", "/post/save"),
    ("PUT", "/comment/save"),
    ("POST", "/post/mark_as_read"),
    ("POST", "/post/hide"),
    ("POST", "/comment/mark_as_read"),
    ("POST", "/user/mention/mark_as_read"),
    ("POST", "/user/totp/generate"),
    ("POST", "/user/totp/update"),
    ("POST", "/user/delete_account"),
    ("POST", "/user/donation_dialog_shown"),
    ("POST", "/site/block"),
    ("POST", "/user/import_settings"),
    # Anonymous, with a token mailed to the account's address (actions/mail.py).
    ("POST", "/user/verify_email"),
    ("POST", "/user/password_reset"),
    ("POST", "/user/password_change"),
}
# Every write route is walked (a new one fails the coverage check until it is added above).
NOT_YET_WALKED: set[tuple[str, str]] = set()


async def call(api: Api, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    if method == "GET":
        return await api.get(path, **body)
    if method == "PUT":
        return await api.put(path, body)
    return await api.post(path, body)


async def set_site_ban(app: Any, person_id: int | None, banned: bool) -> None:
    async with app.state.moot.db.write() as session:
        await session.execute(update(Person).where(Person.id == person_id).values(banned=banned, ban_expires=None))


async def test_a_site_banned_person_does_nothing(app: Any, admin: Api, http: httpx.AsyncClient) -> None:
    world = await build_world(http)
    for person_id in (world.mod.person_id, world.member.person_id):
        await set_site_ban(app, person_id, True)
    try:
        answers = {path_of(m, p): await call(world.member, m, p, body(world)) for m, p, body in USER_ACTIONS}
        for method, path, body in MOD_ACTIONS + MOD_ACTIONS_ON_REMOVED + OTHER_ACTIONS:
            answers[path_of(method, path)] = await call(world.mod, method, path, body(world))
        wrong = {k: v for k, v in answers.items() if v[0] != 400 or v[1].get("error") != "site_ban"}
        assert wrong == {}
    finally:
        for person_id in (world.mod.person_id, world.member.person_id):
            await set_site_ban(app, person_id, False)
    # Nothing of it happened.
    post = (await world.member.ok_get("/post", id=world.member_post))["post_view"]
    assert (post["post"]["removed"], post["post"]["locked"], post["post"]["featured_community"]) == (False,) * 3
    assert (post["post"]["deleted"], post["post"]["name"]) == (False, "A post title")
    # An expired ban no longer applies, without any job having run.
    async with app.state.moot.db.write() as session:
        await session.execute(
            update(Person)
            .where(Person.id == world.mod.person_id)
            .values(banned=True, ban_expires=Person.published)  # long past
        )
    try:
        await world.mod.ok_post("/post/lock", {"post_id": world.member_post, "locked": True})
    finally:
        await set_site_ban(app, world.mod.person_id, False)


def path_of(method: str, path: str) -> str:
    return f"{method} {path}"


async def test_a_removed_community_takes_nothing_more(admin: Api, http: httpx.AsyncClient) -> None:
    world = await build_world(http)
    await admin.ok_post("/community/remove", {"community_id": world.c, "removed": True})
    answers = {path_of(m, p): await call(world.member, m, p, body(world)) for m, p, body in USER_ACTIONS}
    answers |= {path_of(m, p): await call(world.mod, m, p, body(world)) for m, p, body in MOD_ACTIONS}
    answers[path_of("POST", "/community/follow")] = await world.member.post(
        "/community/follow", {"community_id": world.c, "follow": True}
    )
    # As Lemmy: a post of a removed community is not found by a non-moderator, so its report is refused so.
    expected = {"POST /post/report": (404, "couldnt_find_post")}
    wrong = {k: v for k, v in answers.items() if (v[0], v[1].get("error")) != expected.get(k, (400, "deleted"))}
    assert wrong == {}
    # What restores or cleans up still works there.
    for method, path, body in MOD_ACTIONS_ON_REMOVED:
        status, data = await call(world.mod, method, path, body(world))
        assert status == 200, (path, data)
    await admin.ok_post("/community/remove", {"community_id": world.c, "removed": False})
    await world.mod.ok_post("/community/delete", {"community_id": world.c, "deleted": False})
    await make_post(world.member, world.c)


async def test_a_locked_post_takes_no_new_comments_but_from_moderators(admin: Api, http: httpx.AsyncClient) -> None:
    world = await build_world(http)
    await world.mod.ok_post("/post/lock", {"post_id": world.member_post, "locked": True})
    for body in (
        {"post_id": world.member_post, "content": "x"},
        {"post_id": world.member_post, "content": "x", "parent_id": world.member_comment},
    ):
        status, data = await world.member.post("/comment", body)
        assert (status, data["error"]) == (400, "locked")
    await make_comment(world.mod, world.member_post, "the moderator explains")
    await make_comment(admin, world.member_post, "and an admin")
    # A lock stops new comments, nothing else (as Lemmy).
    await world.member.ok_post("/post/like", {"post_id": world.member_post, "score": -1})
    await world.member.ok_post("/comment/like", {"comment_id": world.member_comment, "score": -1})
    await world.member.ok_put("/post", {"post_id": world.member_post, "name": "Edited while locked"})
    await world.member.ok_put("/comment", {"comment_id": world.member_comment, "content": "edited while locked"})
    await world.member.ok_post("/post/report", {"post_id": world.member_post, "reason": "locked, still reported"})


async def test_every_write_endpoint_is_walked(http: httpx.AsyncClient) -> None:
    walked = {
        (method, path)
        for method, path, _ in USER_ACTIONS + MOD_ACTIONS + MOD_ACTIONS_ON_REMOVED + OTHER_ACTIONS
        if method != "GET"
    }
    paths = (await http.get("/openapi.json")).json()["paths"]
    routed = {
        (method.upper(), path.removeprefix("/api/v3"))
        for path, operations in paths.items()
        if path.startswith("/api/v3/")
        for method in operations
        if method in ("post", "put", "delete", "patch")
    }
    assert routed - walked - PERSONAL - NOT_YET_WALKED == set()
    assert walked - routed == set()
