"""Content moderation through the v3 API: remove / restore posts and comments, lock, feature, distinguish, vote
lists, remove and hide communities. Each is allowed for the community's moderator and an admin, refused for
anyone else with Lemmy's error; its effect is checked as the other readers see it, and its modlog row is read."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from conftest import Api, make_comment, make_community, make_post, register
from moot.db.community import CommunityPersonBan
from moot.db.engine import count_queries
from moot.db.moderation import ModlogEntry
from moot.domain.timefmt import utcnow


def _db(app: Any) -> Any:
    return app.state.moot.db


async def modlog_rows(app: Any, kind: str, **where: int) -> list[ModlogEntry]:
    async with _db(app).read() as session:
        stmt = select(ModlogEntry).where(ModlogEntry.kind == kind).order_by(ModlogEntry.id)
        for column, value in where.items():
            stmt = stmt.where(getattr(ModlogEntry, column) == value)
        return list(await session.scalars(stmt))


async def refused(api: Api, method: str, path: str, body: dict[str, Any]) -> tuple[int, str]:
    if method == "GET":
        status, data = await api.get(path, **body)
    elif method == "PUT":
        status, data = await api.put(path, body)
    else:
        status, data = await api.post(path, body)
    return status, data.get("error", "")


async def counts(api: Api, community_id: int, person_id: int) -> tuple[int, int, int, int]:
    """(community posts, community comments, person posts, person comments)"""
    community = (await api.ok_get("/community", id=community_id))["community_view"]["counts"]
    person = (await api.ok_get("/user", person_id=person_id))["person_view"]["counts"]
    return community["posts"], community["comments"], person["post_count"], person["comment_count"]


async def listed_post_ids(api: Api, **params: Any) -> list[int]:
    data = await api.ok_get("/post/list", limit=50, **params)
    return [p["post"]["id"] for p in data["posts"]]


async def test_ordinary_users_are_refused_every_content_moderation(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    comment = await make_comment(user, post["id"])
    cases = [
        ("POST", "/post/remove", {"post_id": post["id"], "removed": True}),
        ("POST", "/post/lock", {"post_id": post["id"], "locked": True}),
        ("POST", "/post/feature", {"post_id": post["id"], "featured": True, "feature_type": "Community"}),
        ("POST", "/comment/remove", {"comment_id": comment["id"], "removed": True}),
        ("GET", "/post/like/list", {"post_id": post["id"]}),
        ("GET", "/comment/like/list", {"comment_id": comment["id"]}),
        # Lemmy asks the moderator gate first, then for an admin.
        ("POST", "/community/remove", {"community_id": community["id"], "removed": True}),
    ]
    for method, path, body in cases:
        assert await refused(other, method, path, body) == (400, "not_a_mod_or_admin"), path
    assert await refused(other, "PUT", "/community/hide", {"community_id": community["id"], "hidden": True}) == (
        400,
        "not_an_admin",
    )
    # Anonymous: not logged in.
    for method, path, body in cases:
        assert (await refused(other.as_anonymous(), method, path, body))[1] == "not_logged_in", path
    # Nothing changed.
    seen = (await other.ok_get("/post", id=post["id"]))["post_view"]["post"]
    assert (seen["removed"], seen["locked"], seen["featured_community"]) == (False, False, False)


async def test_unknown_targets_are_not_found(user: Api) -> None:
    for path, body, error in (
        ("/post/remove", {"post_id": 2_000_000_000, "removed": True}, "couldnt_find_post"),
        ("/post/lock", {"post_id": 2_000_000_000, "locked": True}, "couldnt_find_post"),
        ("/comment/remove", {"comment_id": 2_000_000_000, "removed": True}, "couldnt_find_comment"),
        ("/comment/distinguish", {"comment_id": 2_000_000_000, "distinguished": True}, "couldnt_find_comment"),
    ):
        assert await refused(user, "POST", path, body) == (404, error), path


async def test_moderator_removes_and_restores_a_post(app: Any, http: httpx.AsyncClient, user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(other, community["id"], body="the words", url="https://example.com/removed-post")
    third = await register(http)
    before = await counts(third, community["id"], other.person_id or 0)

    data = await user.ok_post("/post/remove", {"post_id": post["id"], "removed": True, "reason": "spam"})
    assert data["post_view"]["post"]["removed"] is True
    # Counted like a deletion: the community and the author have one post less.
    after = await counts(third, community["id"], other.person_id or 0)
    assert (after[0], after[2]) == (before[0] - 1, before[2] - 1)

    # Gone from the listings, for everyone (Lemmy lists removed posts nowhere, moderators' views included).
    for reader in (third, third.as_anonymous(), other, user):
        assert post["id"] not in await listed_post_ids(reader, community_id=community["id"], sort="New"), reader.name
    # Its page stays, without its content, for others; its author and the moderator still read it.
    for reader in (third, third.as_anonymous()):
        seen = (await reader.ok_get("/post", id=post["id"]))["post_view"]["post"]
        assert seen["removed"] is True and "body" not in seen and "url" not in seen
    for reader in (other, user):
        assert (await reader.ok_get("/post", id=post["id"]))["post_view"]["post"]["body"] == "the words"

    # Repeating is accepted, as on Lemmy, and changes no count twice.
    await user.ok_post("/post/remove", {"post_id": post["id"], "removed": True})
    assert await counts(third, community["id"], other.person_id or 0) == after

    data = await user.ok_post("/post/remove", {"post_id": post["id"], "removed": False})
    assert data["post_view"]["post"]["removed"] is False
    assert await counts(third, community["id"], other.person_id or 0) == before
    assert post["id"] in await listed_post_ids(third, community_id=community["id"], sort="New")

    rows = await modlog_rows(app, "ModRemovePost", post_id=post["id"])
    assert [(r.state, r.reason, r.mod_person_id, r.community_id) for r in rows] == [
        (True, "spam", user.person_id, community["id"]),
        (True, None, user.person_id, community["id"]),
        (False, None, user.person_id, community["id"]),
    ]


async def test_deleting_a_removed_post_counts_once(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(other, community["id"])
    before = await counts(user, community["id"], other.person_id or 0)
    await user.ok_post("/post/remove", {"post_id": post["id"], "removed": True})
    await other.ok_post("/post/delete", {"post_id": post["id"], "deleted": True})
    gone = await counts(user, community["id"], other.person_id or 0)
    assert (gone[0], gone[2]) == (before[0] - 1, before[2] - 1)
    # Restored by the moderator but still deleted by its author: still not counted.
    await user.ok_post("/post/remove", {"post_id": post["id"], "removed": False})
    assert await counts(user, community["id"], other.person_id or 0) == gone
    await other.ok_post("/post/delete", {"post_id": post["id"], "deleted": False})
    assert await counts(user, community["id"], other.person_id or 0) == before


async def test_admin_removes_in_any_community_and_a_moderator_not_an_admins_post(
    app: Any, admin: Api, user: Api, other: Api
) -> None:
    community = await make_community(user)
    post = await make_post(other, community["id"])
    data = await admin.ok_post("/post/remove", {"post_id": post["id"], "removed": True, "reason": "by admin"})
    assert data["post_view"]["post"]["removed"] is True
    assert [r.mod_person_id for r in await modlog_rows(app, "ModRemovePost", post_id=post["id"])] == [admin.person_id]
    await admin.ok_post("/post/remove", {"post_id": post["id"], "removed": False})

    # An admin outranks every moderator: their content is not the moderator's to remove.
    admins_post = await make_post(admin, community["id"])
    admins_comment = await make_comment(admin, admins_post["id"])
    assert await refused(user, "POST", "/post/remove", {"post_id": admins_post["id"], "removed": True}) == (
        400,
        "not_higher_mod",
    )
    assert await refused(user, "POST", "/comment/remove", {"comment_id": admins_comment["id"], "removed": True}) == (
        400,
        "not_higher_mod",
    )
    # Their own content they may.
    own = await make_post(user, community["id"])
    await user.ok_post("/post/remove", {"post_id": own["id"], "removed": True})


async def test_lock_refuses_new_comments_but_from_moderators(app: Any, admin: Api, user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(other, community["id"])
    earlier = await make_comment(other, post["id"], "before the lock")
    data = await user.ok_post("/post/lock", {"post_id": post["id"], "locked": True})
    assert data["post_view"]["post"]["locked"] is True
    assert (await other.ok_get("/post", id=post["id"]))["post_view"]["post"]["locked"] is True

    assert await refused(other, "POST", "/comment", {"post_id": post["id"], "content": "x"}) == (400, "locked")
    assert await refused(
        other, "POST", "/comment", {"post_id": post["id"], "content": "x", "parent_id": earlier["id"]}
    ) == (400, "locked")
    await make_comment(user, post["id"], "locked, because")  # the moderator
    await make_comment(admin, post["id"], "an admin too")

    await admin.ok_post("/post/lock", {"post_id": post["id"], "locked": False})
    await make_comment(other, post["id"], "open again")
    rows = await modlog_rows(app, "ModLockPost", post_id=post["id"])
    assert [(r.state, r.mod_person_id) for r in rows] == [(True, user.person_id), (False, admin.person_id)]


async def test_featured_posts_come_first(app: Any, admin: Api, user: Api, other: Api) -> None:
    community = await make_community(user)
    pinned = await make_post(other, community["id"], name="pin me")
    newer = await make_post(other, community["id"], name="newer")
    assert (await listed_post_ids(other, community_id=community["id"], sort="New"))[:2] == [newer["id"], pinned["id"]]

    data = await user.ok_post("/post/feature", {"post_id": pinned["id"], "featured": True, "feature_type": "Community"})
    assert data["post_view"]["post"]["featured_community"] is True
    assert (await listed_post_ids(other, community_id=community["id"], sort="New"))[:2] == [pinned["id"], newer["id"]]

    # On the site's front page: admins only.
    body = {"post_id": newer["id"], "featured": True, "feature_type": "Local"}
    assert await refused(user, "POST", "/post/feature", body) == (400, "not_an_admin")
    data = await admin.ok_post("/post/feature", body)
    assert data["post_view"]["post"]["featured_local"] is True
    try:
        front = await listed_post_ids(other, type_="All", sort="New")
        assert front.index(newer["id"]) < front.index(pinned["id"])
    finally:
        await admin.ok_post("/post/feature", {**body, "featured": False})
    front = await listed_post_ids(other, type_="All", sort="New")
    assert front.index(newer["id"]) < front.index(pinned["id"])  # newest first again, plainly

    await user.ok_post("/post/feature", {"post_id": pinned["id"], "featured": False, "feature_type": "Community"})
    assert (await listed_post_ids(other, community_id=community["id"], sort="New"))[:2] == [newer["id"], pinned["id"]]

    rows = await modlog_rows(app, "ModFeaturePost", community_id=community["id"])
    assert [(r.post_id, r.state, r.featured_community) for r in rows] == [
        (pinned["id"], True, True),
        (newer["id"], True, False),
        (newer["id"], False, False),
        (pinned["id"], False, True),
    ]


async def test_feature_type_is_checked(user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    status, data = await user.post("/post/feature", {"post_id": post["id"], "featured": True, "feature_type": "Pin"})
    assert status == 400 and data["error"] == "unknown"


async def comment_as_seen(api: Api, post_id: int, comment_id: int) -> dict[str, Any]:
    views = (await api.ok_get("/comment/list", post_id=post_id, max_depth=8, sort="Old"))["comments"]
    found: dict[str, Any] = next(v["comment"] for v in views if v["comment"]["id"] == comment_id)
    return found


async def test_moderator_removes_and_restores_a_comment(app: Any, admin: Api, user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    comment = await make_comment(other, post["id"], "rude words")
    reply = await make_comment(user, post["id"], "a reply", parent_id=comment["id"])
    before = await counts(user, community["id"], other.person_id or 0)
    post_comments = (await user.ok_get("/post", id=post["id"]))["post_view"]["counts"]["comments"]

    data = await user.ok_post("/comment/remove", {"comment_id": comment["id"], "removed": True, "reason": "rude"})
    assert data["comment_view"]["comment"]["removed"] is True
    after = await counts(user, community["id"], other.person_id or 0)
    assert (after[1], after[3]) == (before[1] - 1, before[3] - 1)
    assert (await user.ok_get("/post", id=post["id"]))["post_view"]["counts"]["comments"] == post_comments - 1

    # The tree keeps its shape; the words are shown to admins only (Lemmy 0.19: not to moderators either).
    for reader in (other, user, other.as_anonymous()):
        seen = await comment_as_seen(reader, post["id"], comment["id"])
        assert (seen["removed"], seen["content"]) == (True, ""), reader.name
        assert (await comment_as_seen(reader, post["id"], reply["id"]))["content"] == "a reply"
    assert (await comment_as_seen(admin, post["id"], comment["id"]))["content"] == "rude words"

    # Repeats are accepted and count nothing twice.
    await user.ok_post("/comment/remove", {"comment_id": comment["id"], "removed": True})
    assert await counts(user, community["id"], other.person_id or 0) == after

    await admin.ok_post("/comment/remove", {"comment_id": comment["id"], "removed": False})
    assert await counts(user, community["id"], other.person_id or 0) == before
    assert (await comment_as_seen(other, post["id"], comment["id"]))["content"] == "rude words"

    rows = await modlog_rows(app, "ModRemoveComment", comment_id=comment["id"])
    assert [(r.state, r.reason, r.mod_person_id, r.post_id) for r in rows] == [
        (True, "rude", user.person_id, post["id"]),
        (True, None, user.person_id, post["id"]),
        (False, None, admin.person_id, post["id"]),
    ]


async def test_a_comment_deleted_by_its_author_is_not_removed(user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    comment = await make_comment(other, post["id"])
    await other.ok_post("/comment/delete", {"comment_id": comment["id"], "deleted": True})
    assert await refused(user, "POST", "/comment/remove", {"comment_id": comment["id"], "removed": True}) == (
        400,
        "couldnt_update_comment",
    )


async def test_distinguish_is_for_a_moderators_own_comment(admin: Api, user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    mine = await make_comment(user, post["id"], "speaking as a mod")
    theirs = await make_comment(other, post["id"], "just a member")

    data = await user.ok_post("/comment/distinguish", {"comment_id": mine["id"], "distinguished": True})
    assert data["comment_view"]["comment"]["distinguished"] is True
    assert (await comment_as_seen(other, post["id"], mine["id"]))["distinguished"] is True
    # Distinguished comments come first among their siblings.
    tree = (await other.ok_get("/comment/list", post_id=post["id"], max_depth=8, sort="New"))["comments"]
    assert [v["comment"]["id"] for v in tree][:1] == [mine["id"]]

    # Someone else's comment: not even a moderator or an admin.
    for api in (user, admin):
        assert await refused(
            api, "POST", "/comment/distinguish", {"comment_id": theirs["id"], "distinguished": True}
        ) == (
            400,
            "no_comment_edit_allowed",
        )
    # Their own, but not a moderator.
    assert await refused(
        other, "POST", "/comment/distinguish", {"comment_id": theirs["id"], "distinguished": True}
    ) == (
        400,
        "not_a_mod_or_admin",
    )
    data = await user.ok_post("/comment/distinguish", {"comment_id": mine["id"], "distinguished": False})
    assert data["comment_view"]["comment"]["distinguished"] is False


async def test_vote_lists_for_moderators_and_admins(
    app: Any, http: httpx.AsyncClient, admin: Api, user: Api, other: Api
) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    comment = await make_comment(user, post["id"])
    third = await register(http)
    await other.ok_post("/post/like", {"post_id": post["id"], "score": -1})
    await third.ok_post("/post/like", {"post_id": post["id"], "score": 1})
    await other.ok_post("/comment/like", {"comment_id": comment["id"], "score": -1})
    await third.ok_post("/comment/like", {"comment_id": comment["id"], "score": 0})  # no vote: not listed
    async with _db(app).write() as session:
        session.add(CommunityPersonBan(community_id=community["id"], person_id=other.person_id, published=utcnow()))

    for api in (user, admin):
        likes = (await api.ok_get("/post/like/list", post_id=post["id"]))["post_likes"]
        # Downvotes first, then by time of the vote.
        assert [(v["creator"]["id"], v["score"], v["creator_banned_from_community"]) for v in likes] == [
            (other.person_id, -1, True),
            (user.person_id, 1, False),
            (third.person_id, 1, False),
        ]
        likes = (await api.ok_get("/comment/like/list", comment_id=comment["id"]))["comment_likes"]
        assert [(v["creator"]["id"], v["score"]) for v in likes] == [(other.person_id, -1), (user.person_id, 1)]
    page = (await user.ok_get("/post/like/list", post_id=post["id"], page=2, limit=2))["post_likes"]
    assert [v["creator"]["id"] for v in page] == [third.person_id]
    assert (await refused(user, "GET", "/post/like/list", {"post_id": post["id"], "limit": 51}))[1] == "unknown"
    assert await refused(third, "GET", "/post/like/list", {"post_id": post["id"]}) == (400, "not_a_mod_or_admin")
    assert await refused(user, "GET", "/post/like/list", {"post_id": 2_000_000_000}) == (404, "couldnt_find_post")


async def test_vote_list_is_one_statement(http: httpx.AsyncClient, user: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    await user.ok_get("/post/like/list", post_id=post["id"])
    async with count_queries() as few:
        await user.ok_get("/post/like/list", post_id=post["id"])
    for _ in range(4):
        voter = await register(http)
        await voter.ok_post("/post/like", {"post_id": post["id"], "score": 1})
    async with count_queries() as many:
        data = await user.ok_get("/post/like/list", post_id=post["id"])
    assert len(data["post_likes"]) == 5
    # login, the post, the moderator check, the page
    assert len(many) == len(few) == 4, many


async def test_admin_removes_and_restores_a_community(app: Any, admin: Api, user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(other, community["id"])
    body = {"community_id": community["id"], "removed": True, "reason": "against the rules"}
    # Its moderator may not: admins only.
    assert await refused(user, "POST", "/community/remove", body) == (400, "not_an_admin")

    data = await admin.ok_post("/community/remove", body)
    assert data["community_view"]["community"]["removed"] is True
    assert post["id"] not in await listed_post_ids(other, type_="All", sort="New")
    status, found = await other.get("/community", id=community["id"])
    assert (status, found.get("error")) == (404, "couldnt_find_community")
    # Nothing more is written in it.
    assert await refused(other, "POST", "/post", {"name": "A title", "community_id": community["id"]}) == (
        400,
        "deleted",
    )

    data = await admin.ok_post("/community/remove", {"community_id": community["id"], "removed": False})
    assert data["community_view"]["community"]["removed"] is False
    assert post["id"] in await listed_post_ids(other, type_="All", sort="New")
    rows = await modlog_rows(app, "ModRemoveCommunity", community_id=community["id"])
    assert [(r.state, r.reason, r.mod_person_id) for r in rows] == [
        (True, "against the rules", admin.person_id),
        (False, None, admin.person_id),
    ]


async def test_admin_hides_a_community(app: Any, admin: Api, user: Api, other: Api) -> None:
    community = await make_community(user)
    post = await make_post(user, community["id"])
    body = {"community_id": community["id"], "hidden": True, "reason": "off topic here"}
    assert await refused(user, "PUT", "/community/hide", body) == (400, "not_an_admin")
    assert await admin.ok_put("/community/hide", body) == {"success": True}

    # Out of the All listing and the community list of those who do not follow it; its own page still lists it.
    assert post["id"] not in await listed_post_ids(other, type_="All", sort="New")
    listed = (await other.ok_get("/community/list", type_="All", sort="New", limit=50))["communities"]
    assert community["id"] not in [v["community"]["id"] for v in listed]
    assert post["id"] in await listed_post_ids(other, community_id=community["id"], sort="New")
    assert post["id"] in await listed_post_ids(user, type_="All", sort="New")  # its follower, the creator
    assert (await other.ok_get("/community", id=community["id"]))["community_view"]["community"]["hidden"] is True

    await admin.ok_put("/community/hide", {"community_id": community["id"], "hidden": False})
    assert post["id"] in await listed_post_ids(other, type_="All", sort="New")
    rows = await modlog_rows(app, "ModHideCommunity", community_id=community["id"])
    assert [(r.state, r.reason) for r in rows] == [(True, "off topic here"), (False, None)]
    status, data = await admin.put("/community/hide", {"community_id": 2_000_000_000, "hidden": True})
    assert (status, data["error"]) == (404, "couldnt_find_community")
