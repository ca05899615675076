"""GET /modlog: the 15 lists in Lemmy's shapes, every filter, moderators' names hidden where the site says so,
LocalOnly communities' entries kept from anonymous readers, and a fixed number of statements per page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from conftest import Api, make_comment, make_community, make_post, register
from lemmy_shapes import assert_shape
from moot.actions.modlog import ModlogKind, record
from moot.db.engine import count_queries
from moot.domain.timefmt import utcnow
from moot.queries import defaults

LISTS = (
    "removed_posts",
    "locked_posts",
    "featured_posts",
    "removed_comments",
    "removed_communities",
    "banned_from_community",
    "banned",
    "added_to_community",
    "transferred_to_community",
    "added",
    "admin_purged_persons",
    "admin_purged_communities",
    "admin_purged_posts",
    "admin_purged_comments",
    "hidden_communities",
)


async def _record(app: Any, kind: ModlogKind, mod_person_id: int, **fields: Any) -> int:
    async with app.state.moot.db.write() as session:
        entry = await record(session, kind, mod_person_id, **fields)
        return entry.id


def _sizes(data: dict[str, Any]) -> dict[str, int]:
    return {name: len(data[name]) for name in LISTS if data[name]}


async def _every_kind(app: Any, http: httpx.AsyncClient) -> dict[str, Any]:
    """One entry of each kind, all by one fresh moderator (so that `mod_person_id` isolates them)."""
    mod = await register(http)
    author = await register(http)
    community = await make_community(mod)
    post = await make_post(author, community["id"], body="a body")
    comment = await make_comment(author, post["id"], "a comment")
    m = mod.person_id
    assert m is not None and author.person_id is not None
    target = author.person_id
    c, p = community["id"], post["id"]
    expires = utcnow() + timedelta(days=3)
    await _record(app, "ModRemovePost", m, post_id=p, community_id=c, other_person_id=target, reason="spam")
    await _record(app, "ModLockPost", m, post_id=p, community_id=c, other_person_id=target)
    await _record(app, "ModFeaturePost", m, post_id=p, community_id=c, featured_community=True, state=False)
    await _record(app, "ModRemoveComment", m, comment_id=comment["id"], post_id=p, community_id=c, reason="rude")
    await _record(app, "ModRemoveCommunity", m, community_id=c, reason="dead", state=False)
    await _record(app, "ModBanFromCommunity", m, other_person_id=target, community_id=c, expires=expires, reason="b")
    await _record(app, "ModBan", m, other_person_id=target, reason="site", state=False)
    await _record(app, "ModAddCommunity", m, other_person_id=target, community_id=c)
    await _record(app, "ModTransferCommunity", m, other_person_id=target, community_id=c)
    await _record(app, "ModAdd", m, other_person_id=target, state=True)
    await _record(app, "ModHideCommunity", m, community_id=c, reason="quiet")
    await _record(app, "AdminPurgePerson", m, reason="pp")
    await _record(app, "AdminPurgeCommunity", m, reason="pc")
    await _record(app, "AdminPurgePost", m, community_id=c, reason="ppost")
    await _record(app, "AdminPurgeComment", m, post_id=p, reason="pcomment")
    return {"mod": mod, "author": author, "community": community, "post": post, "comment": comment}


async def test_every_list_in_lemmys_shape(app: Any, http: httpx.AsyncClient, admin: Api) -> None:
    w = await _every_kind(app, http)
    mod, author, community, post, comment = w["mod"], w["author"], w["community"], w["post"], w["comment"]
    data = await admin.ok_get("/modlog", mod_person_id=mod.person_id)
    assert_shape(data, "GetModlogResponse")
    assert _sizes(data) == dict.fromkeys(LISTS, 1)

    [removed] = data["removed_posts"]
    entry = removed["mod_remove_post"]
    assert {k: entry[k] for k in ("mod_person_id", "post_id", "reason", "removed")} == {
        "mod_person_id": mod.person_id,
        "post_id": post["id"],
        "reason": "spam",
        "removed": True,
    }
    assert removed["moderator"]["id"] == mod.person_id
    assert removed["post"]["id"] == post["id"] and removed["community"]["id"] == community["id"]
    assert data["locked_posts"][0]["mod_lock_post"]["locked"] is True
    featured = data["featured_posts"][0]["mod_feature_post"]
    assert (featured["featured"], featured["is_featured_community"]) == (False, True)
    rc = data["removed_comments"][0]
    assert rc["mod_remove_comment"]["comment_id"] == comment["id"] and rc["mod_remove_comment"]["reason"] == "rude"
    assert rc["commenter"]["id"] == author.person_id and rc["comment"]["content"] == "a comment"
    assert rc["post"]["id"] == post["id"] and rc["community"]["id"] == community["id"]
    rcom = data["removed_communities"][0]["mod_remove_community"]
    assert (rcom["community_id"], rcom["removed"], rcom["reason"]) == (community["id"], False, "dead")
    bfc = data["banned_from_community"][0]
    assert bfc["mod_ban_from_community"]["other_person_id"] == author.person_id
    assert bfc["mod_ban_from_community"]["banned"] is True and "expires" in bfc["mod_ban_from_community"]
    assert bfc["banned_person"]["id"] == author.person_id and bfc["community"]["id"] == community["id"]
    ban = data["banned"][0]
    assert ban["mod_ban"]["banned"] is False and "expires" not in ban["mod_ban"]
    assert ban["banned_person"]["id"] == author.person_id
    assert data["added_to_community"][0]["mod_add_community"]["removed"] is True
    assert data["added_to_community"][0]["modded_person"]["id"] == author.person_id
    transfer = data["transferred_to_community"][0]
    assert transfer["mod_transfer_community"]["community_id"] == community["id"]
    assert transfer["modded_person"]["id"] == author.person_id
    assert data["added"][0]["mod_add"]["removed"] is True
    hidden = data["hidden_communities"][0]
    assert hidden["mod_hide_community"]["hidden"] is True and hidden["admin"]["id"] == mod.person_id
    assert data["admin_purged_persons"][0]["admin_purge_person"]["reason"] == "pp"
    assert data["admin_purged_persons"][0]["admin"]["id"] == mod.person_id
    assert data["admin_purged_communities"][0]["admin_purge_community"]["admin_person_id"] == mod.person_id
    assert data["admin_purged_posts"][0]["admin_purge_post"]["community_id"] == community["id"]
    assert data["admin_purged_posts"][0]["community"]["id"] == community["id"]
    assert data["admin_purged_comments"][0]["admin_purge_comment"]["post_id"] == post["id"]
    assert data["admin_purged_comments"][0]["post"]["id"] == post["id"]


async def test_filters(app: Any, http: httpx.AsyncClient, admin: Api) -> None:
    w = await _every_kind(app, http)
    mod, author, community, post, comment = w["mod"], w["author"], w["community"], w["post"], w["comment"]
    m = mod.person_id
    # One kind.
    only = await admin.ok_get("/modlog", mod_person_id=m, type_="ModLockPost")
    assert _sizes(only) == {"locked_posts": 1}
    only = await admin.ok_get("/modlog", mod_person_id=m, type_="AdminPurgeComment")
    assert _sizes(only) == {"admin_purged_comments": 1}
    # A community: its lists only, never the whole site's (Lemmy lists those without a community only).
    in_community = await admin.ok_get("/modlog", community_id=community["id"])
    assert _sizes(in_community) == dict.fromkeys(
        (
            "removed_posts",
            "locked_posts",
            "featured_posts",
            "removed_comments",
            "banned_from_community",
            "added_to_community",
            "transferred_to_community",
            "hidden_communities",
        ),
        1,
    )
    # A person acted on: the post's and comment's author for content, the person for bans and moderators.
    about = await admin.ok_get("/modlog", other_person_id=author.person_id)
    assert _sizes(about) == dict.fromkeys(
        (
            "removed_posts",
            "locked_posts",
            "featured_posts",
            "removed_comments",
            "banned_from_community",
            "banned",
            "added_to_community",
            "transferred_to_community",
            "added",
        ),
        1,
    )
    # A post: the post kinds; a comment: its removal.
    assert _sizes(await admin.ok_get("/modlog", post_id=post["id"])) == dict.fromkeys(
        ("removed_posts", "locked_posts", "featured_posts"), 1
    )
    assert _sizes(await admin.ok_get("/modlog", comment_id=comment["id"])) == {"removed_comments": 1}
    assert _sizes(await admin.ok_get("/modlog", post_id=post["id"], comment_id=comment["id"])) == {}
    # Someone else's actions are not these.
    assert _sizes(await admin.ok_get("/modlog", mod_person_id=author.person_id)) == {}

    # Paging is per list, newest first, as Lemmy pages each of its tables.
    for i in range(3):
        await _record(app, "ModLockPost", m, post_id=post["id"], community_id=community["id"], state=i % 2 == 0)
    first = await admin.ok_get("/modlog", mod_person_id=m, limit=2)
    assert len(first["locked_posts"]) == 2 and len(first["removed_posts"]) == 1
    ids = [e["mod_lock_post"]["id"] for e in first["locked_posts"]]
    assert ids == sorted(ids, reverse=True)
    second = await admin.ok_get("/modlog", mod_person_id=m, limit=2, page=2)
    assert _sizes(second) == {"locked_posts": 2}
    assert not {e["mod_lock_post"]["id"] for e in second["locked_posts"]} & set(ids)
    status, body = await admin.get("/modlog", type_="NotAKind")
    assert (status, body["error"]) == (400, "unknown")


async def test_real_moderation_actions_are_listed(http: httpx.AsyncClient, admin: Api, anon: Api) -> None:
    mod = await register(http)
    author = await register(http)
    community = await make_community(mod)
    post = await make_post(author, community["id"])
    comment = await make_comment(author, post["id"])
    await mod.ok_post("/post/remove", {"post_id": post["id"], "removed": True, "reason": "off topic"})
    await mod.ok_post("/post/remove", {"post_id": post["id"], "removed": False})
    await mod.ok_post("/post/lock", {"post_id": post["id"], "locked": True})
    await mod.ok_post("/post/feature", {"post_id": post["id"], "featured": True, "feature_type": "Community"})
    await mod.ok_post("/comment/remove", {"comment_id": comment["id"], "removed": True, "reason": "rude"})
    await admin.ok_put("/community/hide", {"community_id": community["id"], "hidden": True, "reason": "hush"})

    data = await admin.ok_get("/modlog", community_id=community["id"])
    assert_shape(data, "GetModlogResponse")
    removed = data["removed_posts"]
    assert [(e["mod_remove_post"]["removed"], e["mod_remove_post"].get("reason")) for e in removed] == [
        (False, None),
        (True, "off topic"),
    ]
    assert all(e["moderator"]["id"] == mod.person_id for e in removed)
    assert data["locked_posts"][0]["mod_lock_post"]["locked"] is True
    assert data["featured_posts"][0]["mod_feature_post"]["is_featured_community"] is True
    assert data["removed_comments"][0]["commenter"]["id"] == author.person_id
    hidden = data["hidden_communities"][0]
    assert hidden["admin"]["id"] == admin.person_id and hidden["mod_hide_community"]["reason"] == "hush"
    # The modlog is public.
    public = await anon.ok_get("/modlog", community_id=community["id"], type_="ModRemovePost")
    assert len(public["removed_posts"]) == 2


async def test_moderator_names_hidden_from_readers_who_are_not_mods(
    app: Any, http: httpx.AsyncClient, admin: Api, anon: Api, user: Api
) -> None:
    mod = await register(http)
    community = await make_community(mod)
    post = await make_post(mod, community["id"])
    await mod.ok_post("/post/lock", {"post_id": post["id"], "locked": True})
    before = (await admin.ok_get("/site"))["site_view"]["local_site"]["hide_modlog_mod_names"]
    try:
        await admin.ok_put("/site", {"hide_modlog_mod_names": True})
        for reader in (anon, user):  # `user` moderates nothing
            data = await reader.ok_get("/modlog", community_id=community["id"])
            [entry] = data["locked_posts"]
            assert "moderator" not in entry
            assert entry["mod_lock_post"]["mod_person_id"] == 0
            assert_shape(data, "GetModlogResponse")
            # Nor can the reader find someone's actions by asking for them: the filter is ignored.
            by_mod = await reader.ok_get("/modlog", community_id=community["id"], mod_person_id=2_000_000_000)
            assert len(by_mod["locked_posts"]) == 1
        # Admins and moderators (of any community) still see who acted.
        elsewhere = await register(http)
        await make_community(elsewhere)
        for reader in (admin, mod, elsewhere):
            [entry] = (await reader.ok_get("/modlog", community_id=community["id"]))["locked_posts"]
            assert entry["moderator"]["id"] == mod.person_id
            assert entry["mod_lock_post"]["mod_person_id"] == mod.person_id
        assert (await admin.ok_get("/modlog", community_id=community["id"], mod_person_id=admin.person_id))[
            "locked_posts"
        ] == []

        await admin.ok_put("/site", {"hide_modlog_mod_names": False})
        [entry] = (await anon.ok_get("/modlog", community_id=community["id"]))["locked_posts"]
        assert entry["moderator"]["id"] == mod.person_id
    finally:
        await admin.ok_put("/site", {"hide_modlog_mod_names": before})


async def test_local_only_community_entries_hidden_from_anonymous(http: httpx.AsyncClient, anon: Api) -> None:
    mod = await register(http)
    community = await make_community(mod, visibility="LocalOnly")
    post = await make_post(mod, community["id"])
    await mod.ok_post("/post/lock", {"post_id": post["id"], "locked": True})
    assert len((await mod.ok_get("/modlog", post_id=post["id"]))["locked_posts"]) == 1
    assert (await anon.ok_get("/modlog", post_id=post["id"]))["locked_posts"] == []
    assert (await anon.ok_get("/modlog", community_id=community["id"]))["locked_posts"] == []


async def test_modlog_page_query_count(app: Any, http: httpx.AsyncClient, admin: Api, anon: Api) -> None:
    w = await _every_kind(app, http)
    m, c, p = w["mod"].person_id, w["community"]["id"], w["post"]["id"]
    for _ in range(5):
        await _record(app, "ModRemovePost", m, post_id=p, community_id=c)
        await _record(app, "ModRemoveComment", m, comment_id=w["comment"]["id"], post_id=p, community_id=c)
    defaults.forget()
    await anon.ok_get("/modlog", limit=1)  # the site's switches now in memory for a few seconds
    async with count_queries() as anonymous:
        data = await anon.ok_get("/modlog", community_id=c, limit=20)
    assert sum(len(data[name]) for name in LISTS) == 18
    # the page, in one statement
    assert len(anonymous) == 1, anonymous
    async with count_queries() as as_admin:
        data = await admin.ok_get("/modlog", mod_person_id=m, limit=20)
    assert sum(len(data[name]) for name in LISTS) == 25
    # login, the page
    assert len(as_admin) == 2, as_admin
    async with count_queries() as as_mod:
        await w["mod"].ok_get("/modlog", mod_person_id=m, limit=20)
    # login, whether the reader moderates anything (names), the page
    assert len(as_mod) == 3, as_mod
